#include "bench/suite.h"

#include "arch/x86/cpu.h"
#include "arch/x86/page_table.h"
#include "arch/x86/regs.h"
#include "arch/x86/tsc.h"
#include "bench/jit.h"
#include "bench/ring3.h"
#include "bench/ring3_table.h"
#include "bench/runner.h"
#include "bench/stats.h"
#include "bench/variant.h"
#include "kernel/console.h"
#include "kernel/memory.h"
#include "kernel/options.h"
#include "kernel/run.h"
#include "ptibench_version.h"

namespace ptb::bench {
namespace {

using x86::Feature;
using x86::Pte;

constexpr usize kMaxVariants = 320;
Variant table[kMaxVariants];
Result results[kMaxVariants];
Fixture fixture;
bool bare_metal = true;

// ---- environment -------------------------------------------------------------------------

// ACPI OEM ID from the RSDP (bytes 9..14): "BOCHS " on QEMU's and Bochs' firmware, which
// have no hypervisor CPUID bit under full emulation.
void acpi_oem(const u8* rsdp, char out[7]) {
  out[0] = '\0';
  if (!rsdp) return;
  for (int i = 0; i < 6; ++i) {
    char c = static_cast<char>(rsdp[9 + i]);
    out[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  out[6] = '\0';
}

// ---- fixture -----------------------------------------------------------------------------

void map_or_fail(x86::MapError e) {
  if (e != x86::MapError::kNone) run::fail(x86::map_error_name(e));
}

void build_fixture(u32 refill_pages) {
  x86::PageTable& kt = memory::kernel_tables();
  const u64 nx = memory::nx_bit();
  fixture.kernel_cr3 = memory::kernel_cr3().raw;
  fixture.cr4 = x86::read_cr4().raw;
  fixture.refill_pages = refill_pages;
  fixture.refill_base = memory::kBenchBase;
  fixture.refill_global = memory::kBenchBase + (u64{1} << 30);
  // Distinct frames per page, so the curve measures translations, not one hot cache line.
  for (u32 i = 0; i < refill_pages; ++i) {
    u64 frame = memory::alloc_zeroed();
    map_or_fail(kt.map_4k(fixture.refill_base + u64{i} * x86::kPage, frame, Pte::kWritable | nx));
    map_or_fail(kt.map_4k(fixture.refill_global + u64{i} * x86::kPage, frame,
                          Pte::kWritable | nx | Pte::kGlobal));
  }
  fixture.mapped_page = memory::kBenchBase + (u64{2} << 30);
  map_or_fail(kt.map_4k(fixture.mapped_page, memory::alloc_zeroed(), Pte::kWritable | nx));
  fixture.unmapped_page = memory::kBenchBase + (u64{3} << 30);

  // The cr3.switch pair: two roots 4 KiB apart that both map the whole kernel, as Linux's PTI
  // pair is laid out (only here the "user" half maps the kernel too: we stay in ring 0).
  u64 pair = memory::frames().alloc_contiguous(2, 2 * x86::kPage, memory::kLowTableLimit);
  if (pair == 0) run::fail("no 8 KiB-aligned pair of frames for the cr3.switch roots");
  const u64* kernel_pml4 = reinterpret_cast<const u64*>(fixture.kernel_cr3 & x86::Cr3::kAddrMask);
  for (int half = 0; half < 2; ++half) {
    u64* dst = reinterpret_cast<u64*>(pair + half * x86::kPage);
    for (unsigned i = 0; i < x86::kEntries; ++i) dst[i] = kernel_pml4[i];
  }
  fixture.pair_root = pair;
}

// ---- self-tests --------------------------------------------------------------------------

extern "C" char __text_start[], __data_start[], kernel_stack_guard[];

void check_kernel_tables() {
  const x86::PageTable& kt = memory::kernel_tables();
  x86::Translation null_page = kt.translate(0);
  x86::Translation text = kt.translate(reinterpret_cast<u64>(__text_start));
  x86::Translation data = kt.translate(reinterpret_cast<u64>(__data_start));
  x86::Translation guard = kt.translate(reinterpret_cast<u64>(kernel_stack_guard));
  bool nx = memory::nx_bit() != 0;
  bool ok = !null_page.present && text.present && !text.writable && !text.no_execute &&
            data.present && data.writable && (data.no_execute == nx) && !guard.present &&
            !text.user && !data.user;
  Text<200> d;
  d.put("null page ").put(null_page.present ? "MAPPED" : "unmapped");
  d.put(", text ")
      .put(text.writable ? "WRITABLE" : "read-only")
      .put(text.no_execute ? " NX" : " executable");
  d.put(", data ")
      .put(data.writable ? "writable" : "READ-ONLY")
      .put(data.no_execute ? " NX" : " executable");
  d.put(", stack guard ").put(guard.present ? "MAPPED" : "unmapped");
  run::check("paging.kernel", ok, d.c_str());
}

void check_high_memory() {
  // The allocator hands out the highest frames first: with RAM above 4 GiB, this frame is there.
  u64 f = memory::frames().alloc();
  if (f == 0) {
    run::check("memory.frames", false, "no free frame left");
    return;
  }
  volatile u64* p = reinterpret_cast<volatile u64*>(f);
  bool ok = true;
  for (u64 i = 0; i < 512; ++i) p[i] = f ^ (i * 0x9e37'79b9'7f4a'7c15);
  for (u64 i = 0; i < 512; ++i) ok = ok && p[i] == (f ^ (i * 0x9e37'79b9'7f4a'7c15));
  Text<160> d;
  d.put("highest free frame ")
      .put_hex(f)
      .put(f >= (u64{4} << 30) ? " (above 4 GiB)" : " (below 4 GiB)");
  d.put(ok ? " reads back what was written" : " does NOT read back");
  run::check("memory.frames", ok, d.c_str());
}

// ---- selection ---------------------------------------------------------------------------

// The globs of bench=, one by one: calls f(glob, length) for each non-empty one until it
// returns true; returns whether one did.
template <typename F>
bool any_glob(F f) {
  const cmdline::StringRef& b = options().bench;
  usize start = 0;
  for (usize i = 0; i <= b.len; ++i) {
    if (i == b.len || b.data[i] == ',') {
      if (i > start && f(b.data + start, i - start)) return true;
      start = i + 1;
    }
  }
  return false;
}

bool selected(const char* name) {
  return any_glob([name](const char* g, usize n) { return glob_match(g, n, name); });
}

void warn_unmatched_globs(usize count) {
  any_glob([count](const char* g, usize n) {
    for (usize v = 0; v < count; ++v)
      if (glob_match(g, n, table[v].name)) return false;
    Text<160> t;
    t.put("warning: bench: '").put(g, n).put("' matches no variant");
    console::line(t);
    return false;  // go on to the next glob
  });
}

}  // namespace

void print_environment(SuiteContext& ctx) {
  const x86::CpuInfo& cpu = ctx.cpu;
  const Options& opt = options();
  if (opt.tsc_hz != 0) {
    ctx.tsc_hz = opt.tsc_hz;
    ctx.tsc_source = "cmdline";
  } else {
    x86::TscFrequency f = x86::tsc_frequency(cpu);
    ctx.tsc_hz = f.hz;
    ctx.tsc_source = f.source;
  }
  char oem[7];
  acpi_oem(ctx.rsdp, oem);
  bool emulated_firmware = str_eq(oem, "BOCHS ");
  bare_metal = !cpu.has(Feature::kHypervisor) && !emulated_firmware;
  ctx.bare_metal = bare_metal;

  Text<200> t;
  t.put("cpu: ")
      .put(cpu.vendor)
      .put(" family ")
      .put_hex(cpu.family)
      .put(" model ")
      .put_hex(cpu.model);
  t.put(" stepping ")
      .put_u64(cpu.stepping)
      .put(": ")
      .put(cpu.brand[0] ? cpu.brand : "(no brand string)");
  console::line(t);
  t.clear();
  t.put("features:");
  for (u32 f = 0; f < static_cast<u32>(Feature::kCount); ++f) {
    if (cpu.has(static_cast<Feature>(f)))
      t.put(' ').put(x86::feature_info(static_cast<Feature>(f)).name);
  }
  console::line(t);
  t.clear();
  t.put("tsc: ");
  if (ctx.tsc_hz) {
    t.put_fixed(static_cast<double>(ctx.tsc_hz) / 1e6, 3).put(" MHz");
  } else {
    t.put("frequency unknown");
  }
  t.put(" (source: ").put(ctx.tsc_source).put("); memory: ").put_u64(memory::usable_bytes() >> 20);
  t.put(" MiB usable; boot: ").put(ctx.boot).put("; screen: ").put(console::screen_kind());
  console::line(t);
  if (!bare_metal) {
    t.clear();
    t.put("NOTE: not bare metal (");
    if (cpu.has(Feature::kHypervisor)) {
      t.put("hypervisor '").put(cpu.hypervisor_vendor).put("'");
    } else {
      t.put("emulator firmware, ACPI OEM '").put(oem).put("'");
    }
    t.put("): these timings are not bare-metal timings.");
    console::line(t);
  }

  Text<1600> j;
  j.put("{\"type\":\"env\",\"version\":").put_json_string(PTIBENCH_VERSION);
  j.put(",\"vendor\":").put_json_string(cpu.vendor).put(",\"family\":").put_u64(cpu.family);
  j.put(",\"model\":").put_u64(cpu.model).put(",\"stepping\":").put_u64(cpu.stepping);
  j.put(",\"brand\":").put_json_string(cpu.brand).put(",\"features\":{");
  for (u32 f = 0; f < static_cast<u32>(Feature::kCount); ++f) {
    if (static_cast<Feature>(f) == Feature::kHypervisor) continue;  // its own field below
    if (j.size() && j.c_str()[j.size() - 1] != '{') j.put(',');
    j.put('"').put(x86::feature_info(static_cast<Feature>(f)).name).put("\":");
    j.put(cpu.has(static_cast<Feature>(f)) ? "true" : "false");
  }
  j.put("},\"pmu_version\":").put_u64(cpu.pmu_version);
  j.put(",\"hypervisor\":").put(cpu.has(Feature::kHypervisor) ? "true" : "false");
  j.put(",\"hypervisor_vendor\":").put_json_string(cpu.hypervisor_vendor);
  j.put(",\"acpi_oem\":").put_json_string(oem);
  j.put(",\"bare_metal\":").put(bare_metal ? "true" : "false");
  j.put(",\"tsc_hz\":").put_u64(ctx.tsc_hz).put(",\"tsc_source\":").put_json_string(ctx.tsc_source);
  j.put(",\"timer\":\"lfence;rdtsc;lfence\"");
  j.put(",\"memory_bytes\":").put_u64(memory::usable_bytes());
  j.put(",\"cmdline\":")
      .put_json_string(ctx.cmdline ? ctx.cmdline : "", ctx.cmdline ? ctx.cmdline_len : 0);
  j.put(",\"boot\":").put_json_string(ctx.boot);
  j.put(",\"suite\":").put_json_string(suite_name(opt.suite_kind()));
  Params p = effective_params();
  j.put(",\"params\":{\"reps\":").put_u64(p.reps).put(",\"unroll\":").put_u64(p.unroll);
  j.put(",\"iters\":").put_u64(p.iters).put(",\"warmup\":").put_u64(p.warmup).put("}}");
  console::record(j);
}

void run_suite(SuiteContext& ctx) {
  const Options& opt = options();
  Suite suite = opt.suite_kind();
  bool quick = suite == Suite::kQuick;
  u32 refill_max = static_cast<u32>(opt.refill_max);

  run::set_phase("selftest");
  check_kernel_tables();
  check_high_memory();
  ring3_selftests();
  if (suite == Suite::kSelftest) return;

  // The benchmarks' pages and roots: not needed by the self-tests.
  run::set_phase("setup", "fixture");
  build_fixture(refill_max);

  u32 touch[16];
  usize rejected = 0;
  usize touch_count = parse_touch_list(opt.touch.data, opt.touch.len, touch, 16, &rejected);
  if (rejected) {
    Text<120> t;
    t.put("warning: touch: ")
        .put_u64(rejected)
        .put(" value(s) outside 1..")
        .put_u64(kMaxTouch)
        .put(" skipped");
    console::line(t);
  }
  usize count =
      build_table(table, kMaxVariants, TableParams{refill_max, quick, touch, touch_count});
  if (suite == Suite::kSeeds) {
    run_seed_experiments(ctx, table, count, fixture);
    return;
  }
  warn_unmatched_globs(count);
  usize total = 0;
  for (usize i = 0; i < count; ++i) total += selected(table[i].name) ? 1 : 0;

  Params p = effective_params();
  usize done = 0, shown = 0;
  for (usize i = 0; i < count; ++i) {
    const Variant& v = table[i];
    if (!selected(v.name)) continue;
    ++done;
    Text<120> progress;
    progress.put('[').put_u64(done).put('/').put_u64(total).put("] ").put(v.name);
    console::line(progress);
    run::set_phase("bench", v.name);
    results[shown] = run_variant(v, fixture, p, ctx.cpu);
    emit_result(v, results[shown], p, ctx.tsc_hz);
    table[shown] = v;  // compact the table to what ran, for the summary table
    ++shown;
  }
  print_table(table, results, shown, ctx.tsc_hz, bare_metal);
  print_screen_summary(table, results, shown, bare_metal);
}

namespace {
// Recursion with a frame the compiler cannot elide. The depth check can never stop it (the
// guard page below the kernel stack does) but keeps the compiler from proving it infinite.
[[gnu::noinline]] u64 recurse(u64 depth) {
  volatile u8 frame[512];
  frame[0] = static_cast<u8>(depth);
  if (depth == ~u64{0}) return frame[0];
  return recurse(depth + 1) + frame[0];
}
}  // namespace

void overflow_stack() {
  recurse(0);
  run::fail("the kernel stack did not overflow");
}

}  // namespace ptb::bench
