// What the counters are allowed to be believed for: the boot-time self-test of the PMU, the
// exactness check of every record's retired instructions, and the APERF/MPERF ratio. Pure: the
// self-test runs against any counter source, so the host tests drive it with fake PMUs that count,
// do not count, count one too many or wrap around (tests/host/test_pmu.cpp).
#pragma once

#include "arch/x86/pmu.h"
#include "bench/stats.h"
#include "lib/format.h"
#include "lib/types.h"

namespace ptb::bench {

enum class PmuState : u8 {
  kCounting,     // the self-test passed: counter fields are printed
  kOff,          // pmu=off
  kAbsent,       // nothing advertised (or nothing the plan could use)
  kUnusable,     // advertised, but programming an MSR or RDPMC faulted
  kNotCounting,  // advertised, programmed, but the counters did not move plausibly
  kInexact,      // counting, but not the self-test block's instructions exactly
};
const char* pmu_state_name(PmuState s);

// The self-test block runs `small` and then `large` iterations of a loop of
// `insns_per_iteration` instructions; everything else between the counter reads is the same in
// both runs, so the difference of the two deltas is (large - small) * insns_per_iteration exactly.
struct SelftestBlock {
  u64 small, large;
  u32 insns_per_iteration;
  u64 expected() const { return (large - small) * insns_per_iteration; }
};

struct SelftestOutcome {
  PmuState state = PmuState::kAbsent;
  const char* reason = "";
  u64 expected = 0;       // instructions the block's difference must count
  u64 inst = 0;           // what inst_retired counted (when planned)
  u64 cycles = 0;         // core cycles (when planned)
  u64 ref_cycles = 0;     // reference cycles (when planned)
  bool drop_ref = false;  // ref_cycles did not count although the rest did: leave it out
};

// The verdict on one self-test's differences. has_* says which of the three the plan counts.
// Counting means: inst_retired equals `expected` exactly; core cycles are non-zero and within a
// factor the block's IPC cannot leave (at least expected/8: no core retires 8 of these per cycle;
// at most 64 * expected: a dec/jnz loop does not take 64 cycles per instruction).
SelftestOutcome judge_selftest(u64 expected, bool has_inst, u64 inst, bool has_cycles, u64 cycles,
                               bool has_ref, u64 ref_cycles);

// Runs the self-test against a counter source: Source::read(const Counter&) -> u64 reads one
// counter, Source::run(u64 iterations) runs the block. Each counter's delta is taken modulo its
// width, so a counter that wraps during the test still gives the right difference.
// One run of the block between counter reads: out of line, so that both runs execute the same
// instructions around the block.
template <typename Source>
[[gnu::noinline]] void measure_block(const x86::pmu::Plan& plan, u64 iterations, Source& src,
                                     u64* deltas) {
  u64 before[x86::pmu::kMaxCounters];
  for (u32 i = 0; i < plan.count; ++i) before[i] = src.read(plan.counters[i]);
  src.run(iterations);
  for (u32 i = 0; i < plan.count; ++i) {
    const u64 after = src.read(plan.counters[i]);
    deltas[i] = x86::pmu::counter_delta(before[i], after, plan.counters[i].width);
  }
}

template <typename Source>
SelftestOutcome run_selftest(const x86::pmu::Plan& plan, const SelftestBlock& block, Source& src) {
  u64 d[2][x86::pmu::kMaxCounters] = {};
  measure_block(plan, block.small, src, d[0]);
  measure_block(plan, block.large, src, d[1]);
  bool has[3] = {};
  u64 v[3] = {};
  const char* names[3] = {"inst_retired", "cycles", "ref_cycles"};
  for (u32 i = 0; i < plan.count; ++i) {
    for (int f = 0; f < 3; ++f) {
      if (plan.counters[i].field && str_eq(plan.counters[i].field, names[f])) {
        has[f] = true;
        v[f] = d[1][i] - d[0][i];
      }
    }
  }
  return judge_selftest(block.expected(), has[0], v[0], has[1], v[1], has[2], v[2]);
}

// A record's retired instructions against what its row declares: the faulting instruction of a
// fault row does not retire, so the declared count (which leaves it out) is what must be read.
// Returns whether they differ; *diff = measured median - declared, per operation.
bool inst_mismatch(const Summary& inst_retired, u32 declared, double* diff);

// APERF/MPERF over a variant: the effective core clock over the reference (TSC-rate) clock.
// 0 when MPERF did not advance (nothing to divide by).
double core_ratio(u64 aperf_delta, u64 mperf_delta);

}  // namespace ptb::bench
