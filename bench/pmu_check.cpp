#include "bench/pmu_check.h"

namespace ptb::bench {

const char* pmu_state_name(PmuState s) {
  switch (s) {
    case PmuState::kCounting:
      return "counting";
    case PmuState::kOff:
      return "off";
    case PmuState::kAbsent:
      return "absent";
    case PmuState::kUnusable:
      return "unusable";
    case PmuState::kNotCounting:
      return "not-counting";
    case PmuState::kInexact:
      return "inexact";
  }
  return "?";
}

SelftestOutcome judge_selftest(u64 expected, bool has_inst, u64 inst, bool has_cycles, u64 cycles,
                               bool has_ref, u64 ref_cycles) {
  SelftestOutcome o;
  o.expected = expected;
  o.inst = inst;
  o.cycles = cycles;
  o.ref_cycles = ref_cycles;
  if (!has_inst && !has_cycles) {
    o.state = PmuState::kCounting;
    o.reason = "neither inst_retired nor cycles selected: the counters are not self-tested";
    return o;
  }
  // Nothing moved: what Bochs and some hypervisors do (the MSRs exist, the counters stay 0).
  if ((!has_inst || inst == 0) && (!has_cycles || cycles == 0)) {
    o.state = PmuState::kNotCounting;
    o.reason = "the counters accept their MSRs but counted nothing over the self-test block";
    return o;
  }
  if (has_inst && inst != expected) {
    o.state = PmuState::kInexact;
    o.reason = "inst_retired does not count the self-test block's instructions exactly";
    return o;
  }
  const u64 basis = has_inst ? inst : expected;
  if (has_cycles && (cycles == 0 || cycles < basis / 8 || cycles / 64 > basis)) {
    o.state = PmuState::kNotCounting;
    o.reason = "core cycles implausible for the self-test block";
    return o;
  }
  o.state = PmuState::kCounting;
  o.reason = "";
  // Reference cycles run at the TSC rate: zero while the core counted means the event is dead.
  if (has_ref && ref_cycles == 0) o.drop_ref = true;
  return o;
}

bool inst_mismatch(const Summary& inst_retired, u32 declared, double* diff) {
  const double d = inst_retired.median - static_cast<double>(declared);
  *diff = d;
  return d != 0.0;
}

double core_ratio(u64 aperf_delta, u64 mperf_delta) {
  if (mperf_delta == 0) return 0.0;
  return static_cast<double>(aperf_delta) / static_cast<double>(mperf_delta);
}

}  // namespace ptb::bench
