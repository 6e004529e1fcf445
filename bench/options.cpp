#include "bench/options.h"

#include "bench/asid_policy.h"
#include "bench/measure.h"
#include "bench/row.h"
#include "kernel/console.h"

namespace ptb::bench {
namespace {

Options opts;

constexpr const char* kSuites[] = {"full", "quick", "selftest", "seeds"};
constexpr const char* kFaults[] = {"none", "ud", "pf", "gp", "de", "stack", "user-read"};
constexpr const char* kSamples[] = {"summary", "raw"};
constexpr const char* kLabBroken[] = {"none", "global"};
constexpr const char* kShootdownTargets[] = {"invalidate", "skip", "skip-global"};
constexpr const char* kInvlpgb[] = {"cpuid", "force"};
constexpr const char* kCrossingCounters[] = {"auto", "off", "fake-tsc",
                                             "rdpmc-forced"};  // CrossingRequest

const cmdline::Option kOptions[] = {
    cmdline::make_choice(
        "suite", &opts.suite, kSuites,
        "what to run: the full suite, a quick run, the self-tests, or the seed experiments"),
    cmdline::make_string("bench", &opts.bench,
                         "comma-separated globs of variant names to run (e.g. cr3.*,invpcid.*)"),
    cmdline::make_unsigned("reps", &opts.reps, 1, kMaxReps, "measured repetitions per variant"),
    cmdline::make_unsigned("unroll", &opts.unroll, 1, 256,
                           "copies of the body per loop iteration (U; the baseline runs 2U)"),
    cmdline::make_unsigned("iters", &opts.iters, 1, 1000000, "loop iterations per repetition"),
    cmdline::make_unsigned("warmup", &opts.warmup, 0, 1000,
                           "discarded repetitions before measuring"),
    cmdline::make_unsigned("refill_max", &opts.refill_max, 1, 4096,
                           "largest page count K of the tlb.refill curve"),
    cmdline::make_string(
        "touch", &opts.touch,
        "pages touched after each return by syscall.*.touch.K (comma-separated K)"),
    cmdline::make_choice("samples", &opts.samples, kSamples,
                         "also put every repetition's value in the result records (raw)"),
    cmdline::make_string("pmu", &opts.pmu,
                         "performance counters: off, auto, or a list (cycles,inst_retired,"
                         "ref_cycles,dtlb_walks,itlb_walks,stlb_hits, raw r<umask><event>)"),
    cmdline::make_choice("crossing_counters", &opts.crossing_counters, kCrossingCounters,
                         "the crossings' counter passes: auto (RDPMC where the counters count), "
                         "off; tests: fake-tsc (reads the TSC), rdpmc-forced"),
    cmdline::make_string("aspace_p", &opts.aspace_p,
                         "address-space lab: process counts P (comma-separated, 2..64)"),
    cmdline::make_string("aspace_slots", &opts.aspace_slots,
                         "address-space lab: the linux policy's ASID slot counts (1..2047)"),
    cmdline::make_unsigned("aspace_w", &opts.aspace_w, 1, 64,
                           "address-space lab: private pages each process touches per slice (W)"),
    cmdline::make_unsigned("aspace_k", &opts.aspace_k, 0, 64,
                           "address-space lab: system calls per slice (k)"),
    cmdline::make_unsigned("aspace_kk", &opts.aspace_kk, 0, aspace::kMaxKernelPages,
                           "address-space lab: kernel pages each system call touches (Kk)"),
    cmdline::make_string("aspace_footprint", &opts.aspace_footprint,
                         "address-space lab: Kk values of the global/non-global footprint rows"),
    cmdline::make_unsigned(
        "aspace_m", &opts.aspace_m, 0, 1000000,
        "address-space lab: a shared kernel mapping changes every M slices (0: never)"),
    cmdline::make_choice("aspace_broken", &opts.aspace_broken, kLabBroken,
                         "address-space lab, to test its check: map the working sets global, so "
                         "that other processes' translations survive (stale reads must fail)"),
    cmdline::make_unsigned("ceiling", &opts.ceiling, 0, 512,
                           "shootdown: pages up to which each is INVLPGed (above: a full flush)"),
    cmdline::make_string("shootdown_pages", &opts.shootdown_pages,
                         "pages n changed by the shootdown.* rows (comma-separated)"),
    cmdline::make_choice("shootdown_targets", &opts.shootdown_targets, kShootdownTargets,
                         "skip: shootdown targets acknowledge without invalidating (tests that "
                         "stale reads are caught); skip-global: and the pages are global"),
    cmdline::make_choice("invlpgb", &opts.invlpgb, kInvlpgb,
                         "force: the shootdown.invlpgb rows try INVLPGB even where CPUID denies it "
                         "(tests that its #UD becomes a skip)"),
    cmdline::make_choice("fault", &opts.fault, kFaults,
                         "provoke an exception after boot to test the fault report"),
};

u32 touch[16];
usize touch_count = 0;
LabLists lab{};
u32 pages[kMaxShootdownPageCounts];
usize page_count = 0;

// One list option: values lo..hi, each once, with a warning for what is left out.
usize parse_list_option(const char* name, const cmdline::StringRef& ref, u32 lo, u32 hi, u32* out,
                        usize cap) {
  usize rejected = 0, repeated = 0;
  const usize n = parse_u32_list(ref.data, ref.len, lo, hi, out, cap, &rejected, &repeated);
  if (rejected) {
    Text<120> t;
    t.put("warning: ").put(name).put(": ").put_u64(rejected).put(" value(s) outside ");
    t.put_u64(lo).put("..").put_u64(hi).put(" skipped");
    console::line(t);
  }
  if (repeated) {
    Text<120> t;
    t.put("warning: ").put(name).put(": ").put_u64(repeated).put(" repeated value(s) skipped");
    console::line(t);
  }
  return n;
}

}  // namespace

const Options& options() { return opts; }

const cmdline::Option* option_table(usize* count) {
  *count = sizeof(kOptions) / sizeof(kOptions[0]);
  return kOptions;
}

const char* suite_name(Suite s) { return kSuites[static_cast<u32>(s)]; }

void parse_touch_option() {
  touch_count = parse_list_option("touch", opts.touch, 1, kMaxTouch, touch, 16);
  lab.processes_count =
      parse_list_option("aspace_p", opts.aspace_p, 2, aspace::kMaxProcesses, lab.processes, 8);
  lab.slots_count =
      parse_list_option("aspace_slots", opts.aspace_slots, 1, aspace::kMaxSlots, lab.slots, 16);
  lab.footprint_count = parse_list_option("aspace_footprint", opts.aspace_footprint, 0,
                                          aspace::kMaxKernelPages, lab.footprint, 8);
}

void parse_shootdown_pages_option() {
  page_count = parse_list_option("shootdown_pages", opts.shootdown_pages, 1, kMaxShootdownPages,
                                 pages, kMaxShootdownPageCounts);
}

const u32* shootdown_pages(usize* count) {
  *count = page_count;
  return pages;
}

const u32* touch_list(usize* count) {
  *count = touch_count;
  return touch;
}

u32 max_touch() {
  u32 m = 0;
  for (usize i = 0; i < touch_count; ++i) m = touch[i] > m ? touch[i] : m;
  return m;
}

const LabLists& lab_lists() { return lab; }

u32 lab_max_kernel_pages() {
  u32 m = static_cast<u32>(opts.aspace_kk);
  for (usize i = 0; i < lab.footprint_count; ++i) m = lab.footprint[i] > m ? lab.footprint[i] : m;
  return m;
}

}  // namespace ptb::bench
