#include "bench/suite.h"

#include "arch/x86/cpu.h"
#include "arch/x86/page_table.h"
#include "arch/x86/regs.h"
#include "bench/counters.h"
#include "bench/faults.h"
#include "bench/options.h"
#include "bench/output.h"
#include "bench/probe_cpu.h"
#include "bench/refill.h"
#include "bench/row.h"
#include "bench/runner.h"
#include "bench/seeds.h"
#include "bench/selftest.h"
#include "kernel/console.h"
#include "kernel/memory.h"
#include "kernel/options.h"
#include "kernel/platform.h"
#include "kernel/run.h"
#include "kernel/smp.h"
#include "lib/json.h"
#include "ptibench_version.h"

namespace ptb::bench {
namespace {

using x86::Feature;
using x86::Pte;

Row table[kMaxRows];
Result results[kMaxRows];
Fixture fixture;
bool bare_metal = true;

// ---- environment -------------------------------------------------------------------------

// ---- fixture -----------------------------------------------------------------------------

void map_or_fail(x86::MapError e) {
  if (e != x86::MapError::kNone) run::fail(x86::map_error_name(e));
}

// The TLB probes' region (bench/probe.h): a 2 MiB region of its own holding only X and Y, so the
// probe's footprint is two translations and one PDE; two frames with distinct magics, and the
// second page table the PDE probes point the region at. Y is 1 MiB away from X so that no
// adjacent-page prefetch of X can have walked it.
void build_probe_pages(x86::PageTable& kt, u64 nx) {
  fixture.probe_x = memory::kBenchBase + (u64{4} << 30);
  fixture.probe_y = fixture.probe_x + (u64{1} << 20);
  fixture.probe_frame_a = memory::alloc_zeroed();
  fixture.probe_frame_b = memory::alloc_zeroed();
  *reinterpret_cast<u64*>(fixture.probe_frame_a) = kProbeMagicA;
  *reinterpret_cast<u64*>(fixture.probe_frame_b) = kProbeMagicB;
  map_or_fail(kt.map_4k(fixture.probe_x, fixture.probe_frame_a, Pte::kWritable | nx));
  map_or_fail(kt.map_4k(fixture.probe_y, fixture.probe_frame_a, Pte::kWritable | nx));
  const u64* pde = kt.entry(fixture.probe_x, 2);
  if (!pde) run::fail("probe region: no page directory entry after mapping it");
  fixture.probe_pde = reinterpret_cast<u64>(pde);
  fixture.probe_table_a = Pte{*pde}.addr();
  fixture.probe_table_b = memory::alloc_zeroed(memory::kLowTableLimit);
}

// The .pure rows' pages (bench/row.h): the JIT area again, global, read and execute only (the
// runner writes through the identity mapping), and one global data page for their INVPCID
// descriptor. PTE.G is ignored while CR4.PGE is clear, so mapping them is harmless everywhere.
void build_pure_pages(x86::PageTable& kt, u64 nx) {
  fixture.jit_base = reinterpret_cast<u64>(memory::jit_area());
  fixture.jit_size = memory::jit_area_size();
  fixture.jit_global = memory::kBenchBase + (u64{5} << 30);
  for (u64 off = 0; off < fixture.jit_size; off += x86::kPage)
    map_or_fail(kt.map_4k(fixture.jit_global + off, fixture.jit_base + off, Pte::kGlobal));
  fixture.global_data = fixture.jit_global + (u64{1} << 21);
  map_or_fail(
      kt.map_4k(fixture.global_data, memory::alloc_zeroed(), Pte::kWritable | nx | Pte::kGlobal));
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
  // The chase form's chain (bench/refill.h), written once through the non-global alias.
  write_chase_chain(reinterpret_cast<u8*>(fixture.refill_base), refill_pages);
  fixture.mapped_page = memory::kBenchBase + (u64{2} << 30);
  map_or_fail(kt.map_4k(fixture.mapped_page, memory::alloc_zeroed(), Pte::kWritable | nx));
  fixture.unmapped_page = memory::kBenchBase + (u64{3} << 30);
  build_probe_pages(kt, nx);
  build_pure_pages(kt, nx);

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

// ---- selection ---------------------------------------------------------------------------

// The globs of bench=, one by one: calls f(glob, length) for each non-empty one until it
// returns true; returns whether one did.
template <typename F>
bool any_glob(F f) {
  const cmdline::StringRef& b = bench::options().bench;
  usize start = 0;
  for (usize i = 0; i <= b.len; ++i) {
    if (i == b.len || b.data[i] == ',') {
      if (i > start && f(b.data + start, i - start)) return true;
      start = i + 1;
    }
  }
  return false;
}

bool selected(const Row& row) {
  Text<kNameMax> name;
  put_name(name, row);
  return any_glob([&name](const char* g, usize n) { return glob_match(g, n, name.c_str()); });
}

void warn_unmatched_globs(usize count) {
  any_glob([count](const char* g, usize n) {
    for (usize v = 0; v < count; ++v) {
      Text<kNameMax> name;
      put_name(name, table[v]);
      if (glob_match(g, n, name.c_str())) return false;
    }
    Text<160> t;
    t.put("warning: bench: '").put(g, n).put("' matches no variant");
    console::line(t);
    return false;  // go on to the next glob
  });
}

Params effective_params() {
  const bench::Options& o = bench::options();
  Params p{static_cast<u32>(o.reps), static_cast<u32>(o.unroll), static_cast<u32>(o.iters),
           static_cast<u32>(o.warmup)};
  if (o.suite_kind() == Suite::kQuick) {
    if (p.reps > 11) p.reps = 11;
    if (p.warmup > 2) p.warmup = 2;
  }
  return p;
}

// "pmu: counting (skylake table): inst_retired cycles ref_cycles dtlb_walks ..." or why not.
void print_pmu_line() {
  Text<240> t;
  t.put("pmu: ").put(pmu_state_name(counters::state()));
  const x86::pmu::Plan& plan = counters::plan();
  if (counters::on()) {
    if (plan.table[0]) t.put(" (").put(plan.table).put(" events)");
    t.put(':');
    for (u32 i = 0; i < plan.count; ++i) t.put(' ').put(plan.counters[i].name());
  }
  if (counters::reason()[0]) t.put(" - ").put(counters::reason());
  console::line(t);
  for (u32 i = 0; i < plan.missing_count; ++i) {
    t.clear();
    t.put("pmu: no ").put(plan.missing[i].field).put(": ").put(plan.missing[i].reason);
    console::line(t);
  }
  // The crossings' counter passes, where there is something to say: what they read when the
  // counters count, and always a test mode (a warning: the fake's figures are not counters, the
  // forced passes' are whatever counters that failed the self-test hold).
  const CrossingChoice& xc = counters::crossing();
  if (counters::on() || xc.source != CrossingSource::kNone) {
    t.clear();
    if (xc.source == CrossingSource::kFakeTsc || !counters::on()) t.put("warning: ");
    t.put("pmu: crossings: ").put(crossing_source_name(xc.source));
    if (xc.reason[0]) t.put(" - ").put(xc.reason);
    console::line(t);
  }
}

// The env record's "pmu" object (docs/output-format.md).
void put_pmu(JsonRecord& j) {
  const x86::pmu::Caps& caps = counters::caps();
  const x86::pmu::Plan& plan = counters::plan();
  j.begin_object("pmu").str("state", pmu_state_name(counters::state()));
  j.str("reason", counters::reason()).num("version", caps.version);
  j.num("general", caps.gp_count).num("general_width", caps.gp_width);
  j.num("fixed", caps.fixed_count).num("fixed_width", caps.fixed_width);
  j.str("event_table", plan.table).str("read_by", counters::read_by_msr() ? "rdmsr" : "rdpmc");
  j.boolean("aperf_mperf", caps.aperf_mperf).boolean("smi_count", counters::smi_counter());
  const SelftestOutcome& st = counters::selftest();
  if (counters::state() == PmuState::kCounting || counters::state() == PmuState::kInexact ||
      counters::state() == PmuState::kNotCounting) {
    j.begin_object("selftest").num("expected", st.expected).num("inst_retired", st.inst);
    j.num("cycles", st.cycles).num("ref_cycles", st.ref_cycles).end_object();
  }
  if (counters::on()) {
    j.begin_object("counters");
    for (u32 i = 0; i < plan.count; ++i) {
      const x86::pmu::Counter& c = plan.counters[i];
      j.begin_object(c.name()).str("event", c.event);
      j.str("counter", c.slot == x86::pmu::Slot::kFixed ? "fixed" : "general")
          .num("index", c.index);
      if (c.slot == x86::pmu::Slot::kGeneral) j.hex("evtsel", c.evtsel);
      j.end_object();
    }
    j.end_object();
    if (plan.fixed_used) j.hex("fixed_ctrl", x86::pmu::fixed_ctrl(plan.fixed_used));
  }
  if (plan.missing_count) {
    j.begin_object("missing");
    for (u32 i = 0; i < plan.missing_count; ++i)
      j.str(plan.missing[i].field, plan.missing[i].reason);
    j.end_object();
  }
  // What the one-way crossings' counter passes read (docs/method.md); "fake-tsc" is a test.
  const CrossingChoice& xc = counters::crossing();
  j.begin_object("crossings").str("source", crossing_source_name(xc.source));
  j.str("reason", xc.reason).end_object();
  j.end_object();
}

}  // namespace

void print_environment(SuiteContext& ctx) {
  const x86::CpuInfo& cpu = ctx.cpu;
  const calibration::Verdict& tsc = ctx.tsc;
  const char* oem = ctx.acpi.rsdp_ok ? ctx.acpi.oem : "";
  // Bochs under full emulation sets no hypervisor bit; kernel/platform.h knows it by its firmware.
  bare_metal = !cpu.has(Feature::kHypervisor) && platform::current() != platform::Kind::kBochs;
  ctx.bare_metal = bare_metal;
  counters::init(cpu);

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
  if (tsc.hz) {
    t.put_fixed(static_cast<double>(tsc.hz) / 1e6, 3).put(" MHz");
  } else {
    t.put("frequency unknown");
  }
  t.put(" (source: ").put(tsc.source);
  if (tsc.check_hz) {
    t.put(", checked against ").put(tsc.check_source).put(": ");
    t.put_fixed(static_cast<double>(tsc.diff_ppm) / 1e4, 2).put(" % apart");
  }
  t.put("); memory: ").put_u64(memory::usable_bytes() >> 20);
  t.put(" MiB usable; boot: ").put(ctx.boot).put("; screen: ").put(console::screen_kind());
  if (str_eq(console::screen_kind(), "framebuffer"))
    t.put(" (").put(memory::framebuffer_memory_type()).put(')');
  console::line(t);
  if (tsc.disagree) {
    t.clear();
    t.put("warning: tsc: ").put(tsc.source).put(" gives ");
    t.put_fixed(static_cast<double>(tsc.hz) / 1e6, 3).put(" MHz but ").put(tsc.check_source);
    t.put(" measures ").put_fixed(static_cast<double>(tsc.check_hz) / 1e6, 3);
    t.put(" MHz: nanosecond figures may be off (tsc_hz= overrides)");
    console::line(t);
  }
  print_pmu_line();
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
  if (cpu.has(Feature::kHypervisor)) {
    console::line(
        "NOTE: under a hypervisor, each record's guest_exits names the operations that may leave "
        "the guest (cr3, invlpg, pf, pt-write without EPT/NPT; invpcid where not passed through; "
        "cr4 on AMD hosts): see docs/running.md");
  }

  // Room for a long command line (the record says it verbatim) without cutting the record.
  static char env_record[8192];
  TextBuf buf(env_record, sizeof(env_record));
  JsonRecord j(buf, "env");
  j.str("version", PTIBENCH_VERSION).str("vendor", cpu.vendor).num("family", cpu.family);
  j.num("model", cpu.model).num("stepping", cpu.stepping).str("brand", cpu.brand);
  j.begin_object("features");
  for (u32 f = 0; f < static_cast<u32>(Feature::kCount); ++f) {
    if (static_cast<Feature>(f) == Feature::kHypervisor) continue;  // its own field below
    j.boolean(x86::feature_info(static_cast<Feature>(f)).name, cpu.has(static_cast<Feature>(f)));
  }
  j.end_object();
  j.num("pmu_version", cpu.pmu_version).boolean("hypervisor", cpu.has(Feature::kHypervisor));
  j.str("hypervisor_vendor", cpu.hypervisor_vendor).str("acpi_oem", oem);
  j.boolean("bare_metal", bare_metal).num("tsc_hz", tsc.hz).str("tsc_source", tsc.source);
  j.begin_object("tsc_check").str("source", tsc.check_source).num("hz", tsc.check_hz);
  j.num("diff_ppm", tsc.diff_ppm).boolean("agree", tsc.check_hz != 0 && !tsc.disagree);
  j.end_object();
  j.str("platform", platform::kind_name(platform::current()));
  j.begin_object("acpi").boolean("rsdp", ctx.acpi.rsdp_ok);
  j.boolean("pm_timer", ctx.acpi.pm_timer.present).boolean("hpet", ctx.acpi.hpet.present);
  j.num("madt_cpus", ctx.acpi.madt.cpu_count);
  j.num("problems", ctx.acpi.problem_count + ctx.acpi.problems_dropped).end_object();
  j.str("timer", "lfence;rdtsc;lfence")
      .str("lfence_serialising", x86::lfence_name(ctx.lfence))
      .num("memory_bytes", memory::usable_bytes());
  j.str("cmdline", ctx.cmdline ? ctx.cmdline : "", ctx.cmdline ? ctx.cmdline_len : 0);
  j.str("boot", ctx.boot).str("screen", console::screen_kind());
  j.num("screen_columns", console::screen_columns()).num("screen_rows", console::screen_rows());
  j.str("framebuffer_memory", memory::framebuffer_memory_type());
  j.str("suite", suite_name(bench::options().suite_kind()));
  Params p = effective_params();
  j.begin_object("params").num("reps", p.reps).num("unroll", p.unroll).num("iters", p.iters);
  j.num("warmup", p.warmup).end_object();
  j.str("samples", bench::options().raw_samples() ? "raw" : "summary");
  put_pmu(j);
  const smp::Summary& cpus = smp::summary();
  j.begin_object("smp").num("found", cpus.found).num("started", cpus.started);
  j.num("used", cpus.used).num("failed", cpus.failed);
  j.str("apic", x86::apic::mode_name(cpus.mode));
  j.num("invlpgb_max_pages", cpu.invlpgb_max_pages).end_object();  // since 0.4; 0: no INVLPGB
  console::record(j.finish());
}

void run_suite(SuiteContext& ctx) {
  provoke_requested_fault();
  const bench::Options& opt = bench::options();
  Suite suite = opt.suite_kind();
  u32 refill_max = static_cast<u32>(opt.refill_max);

  run::set_phase("selftest");
  run_selftests();
  if (suite == Suite::kSelftest) return;

  // The benchmarks' pages and roots: not needed by the self-tests.
  run::set_phase("setup", "fixture");
  build_fixture(refill_max);

  usize touch_count = 0;
  const u32* touch = touch_list(&touch_count);
  TableParams tp{refill_max, suite == Suite::kQuick, touch, touch_count};
  const LabLists& lab = lab_lists();
  tp.lab_processes = lab.processes;
  tp.lab_processes_count = lab.processes_count;
  tp.lab_slots = lab.slots;
  tp.lab_slots_count = lab.slots_count;
  tp.lab_kernel_pages = static_cast<u32>(opt.aspace_kk);
  tp.lab_footprint = lab.footprint;
  tp.lab_footprint_count = lab.footprint_count;
  usize page_count = 0;
  tp.cpus = smp::used();
  tp.shootdown_pages = shootdown_pages(&page_count);
  tp.shootdown_page_count = page_count;
  usize count = build_table(table, kMaxRows, tp);
  if (count == kMaxRows)
    console::line("warning: the variant table is full: rows beyond it are left out");
  const Params p = effective_params();
  const OutputContext out{ctx.tsc.hz, bare_metal, opt.raw_samples(),
                          ctx.cpu.has(Feature::kHypervisor)};
  if (suite == Suite::kSeeds) {
    run_seed_experiments(table, count, fixture, p, ctx.cpu, out);
    return;
  }
  warn_unmatched_globs(count);
  usize total = 0;
  for (usize i = 0; i < count; ++i) total += selected(table[i]) ? 1 : 0;

  usize done = 0, shown = 0;
  for (usize i = 0; i < count; ++i) {
    const Row row = table[i];
    if (!selected(row)) continue;
    ++done;
    Text<kNameMax> name;
    put_name(name, row);
    Text<120> progress;
    progress.put('[').put_u64(done).put('/').put_u64(total).put("] ").put(name.c_str());
    console::line(progress);
    run::set_phase("bench", name.c_str());
    results[shown] = run_row(row, fixture, p, ctx.cpu);
    emit_result(row, results[shown], p, out);
    table[shown] = row;  // compact the table to what ran, for the summary table
    ++shown;
  }
  print_table(table, results, shown, out);
  print_probe_table(table, results, shown);
  print_screen_summary(table, results, shown, out);
}

}  // namespace ptb::bench
