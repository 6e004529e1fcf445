#include "bench/options.h"

#include "bench/measure.h"
#include "bench/row.h"
#include "kernel/console.h"

namespace ptb::bench {
namespace {

Options opts;

constexpr const char* kSuites[] = {"full", "quick", "selftest", "seeds"};
constexpr const char* kFaults[] = {"none", "ud", "pf", "gp", "de", "stack", "user-read"};
constexpr const char* kSamples[] = {"summary", "raw"};
constexpr const char* kShootdownTargets[] = {"invalidate", "skip"};

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
    cmdline::make_unsigned("ceiling", &opts.ceiling, 0, 512,
                           "shootdown: pages up to which each is INVLPGed (above: a full flush)"),
    cmdline::make_string("shootdown_pages", &opts.shootdown_pages,
                         "pages n changed by the shootdown.* rows (comma-separated)"),
    cmdline::make_choice("shootdown_targets", &opts.shootdown_targets, kShootdownTargets,
                         "skip: shootdown targets acknowledge without invalidating (tests that "
                         "stale reads are caught)"),
    cmdline::make_choice("fault", &opts.fault, kFaults,
                         "provoke an exception after boot to test the fault report"),
};

u32 touch[16];
usize touch_count = 0;
u32 pages[kMaxShootdownPageCounts];
usize page_count = 0;

// One list option (touch=, shootdown_pages=): values 1..max, each once, with warnings.
usize parse_list_option(const char* key, const cmdline::StringRef& value, u32 max, u32* out,
                        usize cap) {
  usize rejected = 0, repeated = 0;
  const usize n = parse_value_list(value.data, value.len, max, out, cap, &rejected, &repeated);
  if (rejected) {
    Text<120> t;
    t.put("warning: ").put(key).put(": ").put_u64(rejected).put(" value(s) outside 1..");
    console::line(t.put_u64(max).put(" skipped"));
  }
  if (repeated) {
    Text<120> t;
    t.put("warning: ").put(key).put(": ").put_u64(repeated).put(" repeated value(s) skipped");
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
  touch_count = parse_list_option("touch", opts.touch, kMaxTouch, touch, 16);
}

void parse_shootdown_pages_option() {
  page_count = parse_list_option("shootdown_pages", opts.shootdown_pages, kMaxShootdownPages, pages,
                                 kMaxShootdownPageCounts);
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

}  // namespace ptb::bench
