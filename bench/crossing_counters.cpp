#include "bench/crossing_counters.h"

namespace ptb::bench {
namespace {

constexpr x86::pmu::Plan make_fake_tsc_plan() {
  x86::pmu::Plan p;
  x86::pmu::Counter& c = p.counters[0];
  c.field = "inst_retired";
  c.event = "RDTSC (crossing_counters=fake-tsc: test only, not a counter)";
  c.slot = x86::pmu::Slot::kFixed;
  c.width = 64;
  p.count = 1;
  p.reason = "";
  return p;
}
// Constant-initialised: no constructor runs for it.
constinit const x86::pmu::Plan kFakeTscPlan = make_fake_tsc_plan();

}  // namespace

const char* crossing_source_name(CrossingSource s) {
  switch (s) {
    case CrossingSource::kNone:
      return "none";
    case CrossingSource::kRdpmc:
      return "rdpmc";
    case CrossingSource::kFakeTsc:
      return "fake-tsc";
  }
  return "?";
}

CrossingChoice choose_crossing_counters(CrossingRequest req, bool counting, bool read_by_msr,
                                        u32 planned) {
  if (req == CrossingRequest::kFakeTsc)
    return {CrossingSource::kFakeTsc,
            "crossing_counters=fake-tsc: a test, not a counter: the crossings' counter pass "
            "reads the TSC where it would read RDPMC, and its figure is printed as inst_retired",
            false};
  if (req == CrossingRequest::kRdpmcForced && planned != 0 && (!counting || read_by_msr))
    return {CrossingSource::kRdpmc,
            "crossing_counters=rdpmc-forced: RDPMC although the self-test did not pass or used "
            "RDMSR; the figures are whatever the counters hold",
            false};
  if (req == CrossingRequest::kOff)
    return {CrossingSource::kNone, "crossing_counters=off", counting};
  if (!counting) return {CrossingSource::kNone, "the counters do not count (pmu.state)", false};
  if (read_by_msr)
    return {CrossingSource::kNone,
            "RDPMC faulted at the self-test, so the counters are read by RDMSR, which the "
            "crossings' ring-3 stamps cannot execute",
            true};
  if (planned == 0) return {CrossingSource::kNone, "no counter planned", false};
  return {CrossingSource::kRdpmc, "", false};
}

const x86::pmu::Plan& fake_tsc_plan() { return kFakeTscPlan; }

}  // namespace ptb::bench
