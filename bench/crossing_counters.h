// The counter figures of the one-way crossings (docs/method.md, "Counters of the one-way
// crossings"): which source the crossings' counter passes read, why a run's crossings carry no
// counter figures, and the arithmetic of one pass. Pure: host-tested (tests/host/test_pmu.cpp).
//
// A crossing's figure is two stamps in different rings within one crossing, so the counters
// cannot be read around it the way the loops read them (outside their stamps). Instead the
// crossing runs again, once per planned counter, with every stamp reading that counter
// (bench/timestamp.inc, COUNTER_STAMP) in place of the TSC: the same differences, in the unit of
// the counter.
#pragma once

#include "arch/x86/pmu.h"
#include "lib/types.h"

namespace ptb::bench {

// crossing_counters=: auto (RDPMC, where the counters count and RDPMC works), off (no counter
// passes), fake-tsc (test only: the counter passes' stamps read the TSC; never chosen by itself),
// rdpmc-forced (test and diagnosis: the RDPMC passes even where the self-test did not pass; where
// RDPMC faults, as under QEMU and Bochs, that tests that the fault ends the pass, not the run).
enum class CrossingRequest : u32 { kAuto, kOff, kFakeTsc, kRdpmcForced };
// What the crossings' counter passes read. kFakeTsc exists for the tests: under an
// instruction-counting TSC its "inst_retired" is the counter pass's instruction count.
enum class CrossingSource : u8 { kNone, kRdpmc, kFakeTsc };
const char* crossing_source_name(CrossingSource s);  // "none", "rdpmc", "fake-tsc"

struct CrossingChoice {
  CrossingSource source = CrossingSource::kNone;
  const char* reason = "";  // why none, or what the fake is; "" for rdpmc
  // The counters count for every other record but not here: each crossing record says why
  // (its `no_counters`), so that a reader does not take the missing fields for an oversight.
  bool per_record = false;
};

// counting: the PMU passed its self-test (counters::on()); read_by_msr: RDPMC faulted there, so
// the counters are read by RDMSR, which ring 3 cannot execute; planned: counters in the plan.
CrossingChoice choose_crossing_counters(CrossingRequest req, bool counting, bool read_by_msr,
                                        u32 planned);

// The counter stamp swaps RDPMC's index into ECX and back (two XCHGs), one of which falls inside
// each timed direction on either side: a counter pass executes exactly this many instructions
// more per crossing than the tick pass whose `instructions` the row declares.
inline constexpr u32 kCounterStampExtra = 2;
constexpr u32 counter_pass_instructions(u32 declared) { return declared + kCounterStampExtra; }

// One value a counter pass's driver stored (the 64-bit difference of two stamps) as the counter's
// increase: modulo the counter's width, so a counter that wrapped between the stamps still reads
// right (the bits above the width, whatever RDPMC left in them, cancel or are masked off).
constexpr i64 crossing_counter_delta(i64 stored, u32 width) {
  return static_cast<i64>(x86::pmu::counter_delta(0, static_cast<u64>(stored), width));
}

// The one "counter" of the test-only fake: inst_retired, read by RDTSC (64 bits), its event named
// as what it is.
const x86::pmu::Plan& fake_tsc_plan();

}  // namespace ptb::bench
