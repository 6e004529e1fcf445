#include "bench/counters.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_setup.h"
#include "bench/options.h"

extern "C" ptb::u64 pmu_selftest_block(ptb::u64 iterations);

namespace ptb::bench::counters {
namespace {

using x86::pmu::Counter;
using x86::pmu::Plan;
using x86::pmu::Slot;

struct State {
  x86::pmu::Caps caps;
  Plan plan;
  PmuState state = PmuState::kAbsent;
  const char* reason = "not initialised";
  SelftestOutcome selftest;
  bool smi = false;
  bool by_msr = false;  // RDPMC faulted (QEMU TCG: #UD; some hypervisors: #GP): read the MSRs
  CrossingChoice crossing;
  u64 windows = 0;
  u64 open[x86::pmu::kMaxCounters] = {};
  i64 deltas[x86::pmu::kMaxCounters] = {};
} st;

x86::CpuidResult cpuid_fn(u32 leaf, u32 subleaf) {
  x86::CpuidRegs r = x86::cpuid(leaf, subleaf);
  return {r.eax, r.ebx, r.ecx, r.edx};
}

// Intel from version 2 on: IA32_PERF_GLOBAL_CTRL and the fixed counters' control exist.
bool intel_global() { return st.caps.vendor == x86::Vendor::kIntel && st.caps.version >= 2; }

// Everything off: the general counters' enables, the fixed counters, the global enables.
void disable_all() {
  const Plan& p = st.plan;
  if (intel_global()) {
    (void)x86::wrmsr_safe(x86::pmu::kIa32PerfGlobalCtrl, 0);
    (void)x86::wrmsr_safe(x86::pmu::kIa32FixedCtrCtrl, 0);
  }
  if (p.amd_global) (void)x86::wrmsr_safe(x86::pmu::kAmdPerfCntrGlobalCtl, 0);
  for (u32 i = 0; i < p.count; ++i)
    if (p.counters[i].slot == Slot::kGeneral) (void)x86::wrmsr_safe(p.counters[i].ctl_msr, 0);
}

// Programs the plan; false (and a reason) when the CPU refuses an MSR.
bool program() {
  const Plan& p = st.plan;
  if (intel_global() && !x86::wrmsr_safe(x86::pmu::kIa32PerfGlobalCtrl, 0)) {
    st.reason = "advertised, but writing IA32_PERF_GLOBAL_CTRL (0x38F) faulted";
    return false;
  }
  for (u32 i = 0; i < p.count; ++i) {
    const Counter& c = p.counters[i];
    if (c.slot == Slot::kGeneral && !x86::wrmsr_safe(c.ctl_msr, c.evtsel)) {
      st.reason = "advertised, but writing an event-select MSR faulted";
      return false;
    }
  }
  if (p.fixed_used &&
      !x86::wrmsr_safe(x86::pmu::kIa32FixedCtrCtrl, x86::pmu::fixed_ctrl(p.fixed_used))) {
    st.reason = "advertised, but writing IA32_FIXED_CTR_CTRL (0x38D) faulted";
    return false;
  }
  if (intel_global() && !x86::wrmsr_safe(x86::pmu::kIa32PerfGlobalCtrl,
                                         x86::pmu::intel_global_ctrl(p.gp_used, p.fixed_used))) {
    st.reason = "advertised, but enabling the counters in IA32_PERF_GLOBAL_CTRL faulted";
    return false;
  }
  if (p.amd_global) {
    if (!x86::wrmsr_safe(x86::pmu::kAmdPerfCntrGlobalCtl, x86::pmu::gp_mask(p.gp_used))) {
      st.reason = "advertised, but writing PerfCntrGlobalCtl (0xC0000301) faulted";
      return false;
    }
  }
  return true;
}

// One counter: RDPMC (ordered like the timestamp), or its MSR where RDPMC faulted.
u64 read_counter(const Counter& c) {
  return st.by_msr ? x86::rdmsr_safe(c.ctr_msr).value : x86::rdpmc_ordered(c.rdpmc);
}

// The self-test's counter source: every read through the fault fixup (an emulator or hypervisor
// may refuse RDPMC, or the counter MSRs).
struct HardwareSource {
  bool by_msr = false;
  bool faulted = false;
  u64 read(const Counter& c) {
    x86::MsrRead r = by_msr ? x86::rdmsr_safe(c.ctr_msr) : x86::rdpmc_safe(c.rdpmc);
    if (!r.ok) faulted = true;
    return r.value;
  }
  void run(u64 iterations) { pmu_selftest_block(iterations); }
};

x86::pmu::Request request() {
  const cmdline::StringRef& s = options().pmu;
  if (str_eq(s.data, s.len, "off")) return {x86::pmu::Mode::kOff, nullptr, 0};
  if (str_eq(s.data, s.len, "auto")) return {x86::pmu::Mode::kAuto, nullptr, 0};
  return {x86::pmu::Mode::kList, s.data, s.len};
}

// Decodes, plans, programs and self-tests (init without the crossings' decision).
void init_counters(const x86::CpuInfo& cpu) {
  st = State{};
  st.caps = x86::pmu::decode_caps(cpuid_fn, cpu);
  st.plan = x86::pmu::plan(st.caps, request());
  if (cpu.vendor_kind == x86::Vendor::kIntel) st.smi = x86::rdmsr_safe(x86::pmu::kMsrSmiCount).ok;
  if (st.plan.count == 0) {
    st.state = request().mode == x86::pmu::Mode::kOff ? PmuState::kOff : PmuState::kAbsent;
    st.reason = st.plan.reason;
    return;
  }
  if (!program()) {
    st.state = PmuState::kUnusable;
    disable_all();
    return;
  }
  // 10 000 and 20 000 iterations: long enough that a few cycles of noise cannot pass as plausible.
  constexpr SelftestBlock kBlock{10000, 20000, 2};
  HardwareSource src;
  st.selftest = run_selftest(st.plan, kBlock, src);
  if (src.faulted) {  // RDPMC refused: the counters' MSRs may still be readable
    src = HardwareSource{true, false};
    st.selftest = run_selftest(st.plan, kBlock, src);
    st.by_msr = true;
  }
  if (src.faulted) {
    st.state = PmuState::kUnusable;
    st.reason = "advertised, but both RDPMC and reading the counter MSRs faulted";
    disable_all();
    return;
  }
  st.state = st.selftest.state;
  st.reason = st.selftest.reason;
  if (st.state != PmuState::kCounting) {
    disable_all();
    return;
  }
  if (st.selftest.drop_ref)  // keep the others; ref_cycles reads as missing
    x86::pmu::drop_counter(st.plan, "ref_cycles",
                           "counted 0 in the self-test while the core cycles counted");
}

}  // namespace

void init(const x86::CpuInfo& cpu) {
  init_counters(cpu);
  st.crossing = choose_crossing_counters(static_cast<CrossingRequest>(options().crossing_counters),
                                         on(), st.by_msr, st.plan.count);
}

PmuState state() { return st.state; }
const char* reason() { return st.reason ? st.reason : ""; }
const x86::pmu::Caps& caps() { return st.caps; }
const Plan& plan() { return st.plan; }
const SelftestOutcome& selftest() { return st.selftest; }
bool on() { return st.state == PmuState::kCounting; }
bool smi_counter() { return st.smi; }
u64 smi_count() { return st.smi ? x86::rdmsr_safe(x86::pmu::kMsrSmiCount).value : 0; }
bool read_by_msr() { return st.by_msr; }
const CrossingChoice& crossing() { return st.crossing; }
const Plan& crossing_plan() {
  return st.crossing.source == CrossingSource::kFakeTsc ? fake_tsc_plan() : st.plan;
}

void sample_begin() {
  for (u32 i = 0; i < st.plan.count; ++i) st.deltas[i] = 0;
}

void window_open() {
  if (!on()) return;
  ++st.windows;
  for (u32 i = 0; i < st.plan.count; ++i) st.open[i] = read_counter(st.plan.counters[i]);
}

void window_close(i64 sign) {
  if (!on()) return;
  for (u32 i = 0; i < st.plan.count; ++i) {
    const Counter& c = st.plan.counters[i];
    const u64 now = read_counter(c);
    st.deltas[i] += sign * static_cast<i64>(x86::pmu::counter_delta(st.open[i], now, c.width));
  }
}

const i64* sample_deltas() { return st.deltas; }
u64 window_count() { return st.windows; }

[[gnu::noinline]] u64 counted(u64 (*run)(void* ctx, int which), void* ctx, int which, i64 sign) {
  window_open();
  const u64 v = run(ctx, which);
  window_close(sign);
  return v;
}

VariantStart variant_begin() {
  VariantStart s;
  if (st.caps.aperf_mperf) {
    x86::MsrRead m = x86::rdmsr_safe(x86::pmu::kIa32Mperf);
    x86::MsrRead a = x86::rdmsr_safe(x86::pmu::kIa32Aperf);
    s.ratio_ok = m.ok && a.ok;
    s.mperf = m.value;
    s.aperf = a.value;
  }
  if (st.smi) {
    x86::MsrRead r = x86::rdmsr_safe(x86::pmu::kMsrSmiCount);
    s.smi_ok = r.ok;
    s.smi = r.value;
  }
  return s;
}

VariantMeters variant_end(const VariantStart& s) {
  VariantMeters m;
  if (s.ratio_ok) {
    x86::MsrRead a = x86::rdmsr_safe(x86::pmu::kIa32Aperf);
    x86::MsrRead mp = x86::rdmsr_safe(x86::pmu::kIa32Mperf);
    if (a.ok && mp.ok && mp.value != s.mperf) {
      m.ratio_ok = true;
      m.core_ratio = core_ratio(a.value - s.aperf, mp.value - s.mperf);
    }
  }
  if (s.smi_ok) {
    x86::MsrRead r = x86::rdmsr_safe(x86::pmu::kMsrSmiCount);
    if (r.ok) {
      m.smi_ok = true;
      m.smis = x86::pmu::counter_delta(s.smi, r.value, 32);
    }
  }
  return m;
}

}  // namespace ptb::bench::counters
