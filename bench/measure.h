// What a measurement is: the parameters, the outcome, and the U-against-2U sampling loop shared
// by the ring-0 and ring-3 runners (docs/method.md).
#pragma once

#include "arch/x86/pmu.h"
#include "bench/asid_policy.h"
#include "bench/probe.h"
#include "bench/shootdown_plan.h"
#include "bench/stats.h"
#include "lib/types.h"

namespace ptb::bench {

struct Params {
  u32 reps, unroll, iters, warmup;
};

enum class Status : u8 { kOk, kSkip, kFail };
const char* status_name(Status s);

struct Result {
  Status status = Status::kFail;
  const char* reason = nullptr;  // skip/fail: static text or the runner's reason buffer
  Summary stats{};               // per operation
  u64 ops = 0;                   // operations one repetition covers after the baseline is gone
  u32 disturbed = 0;             // repetitions measured again because an NMI arrived during them
  // The repetitions in measurement order (ticks per repetition, before dividing by ops); valid
  // until the next measurement (samples=raw prints them with the result).
  const i64* raw = nullptr;
  Observation probe{};  // kProbe rows: what the reads saw (no statistics)
  // The performance counters over the same samples (bench/counters.h), per operation, in the
  // order of counters::plan(); counter_count is 0 when they are off or the method reads none.
  u32 counter_count = 0;
  Summary counters[x86::pmu::kMaxCounters]{};
  const char* no_counters = nullptr;  // kCrossing: why its counter passes gave no figures

  // Around the whole variant: APERF/MPERF and the SMI count, where the CPU has them.
  bool has_core_ratio = false;
  double core_ratio = 0;
  bool has_smis = false;
  u64 smis = 0;
  const aspace::Figures* lab = nullptr;  // kAspace rows: valid until the next measurement
  u64 stale_reads = 0;       // kShootdown rows: reads that saw an old frame after a shootdown ...
  FlushPlan plan{};          // ... and how the CPUs invalidated
  u64 stale_user_reads = 0;  // of stale_reads, those through the user half (PTI targets)
  Summary return_to_user{};  // the targets' next return to user space, ticks (n = 0: none)
  u32 shoot_targets = 0;     // the targets that read the pages
  u32 invlpgb_ops = 0;       // broadcast rows: INVLPGBs per shootdown (one TLBSYNC after them)
};

inline constexpr u32 kMaxReps = 10000;

// NMIs cannot be masked, nor SMIs seen: a repetition during which one arrived (the per-CPU NMI
// count or the SMI count changed) is measured again, up to this many times per variant; beyond
// that the variant fails.
constexpr u32 max_disturbed(const Params& p) { return p.warmup + p.reps + 16; }
// A one-way crossing runs all its repetitions in one ring-3 pass, repeated whole when disturbed
// (each of its repetitions counts as disturbed); it gives up after this many disturbed passes.
inline constexpr u32 kMaxDisturbedPasses = 4;
// The per-CPU NMI count (arch/x86/traps.asm increments it).
u64 nmi_count();
// What a repetition compares before and after itself: the NMIs plus, where the CPU has
// MSR_SMI_COUNT, the SMIs (bench/counters.h). Any change means the repetition was disturbed.
u64 disturbances();

// The repetition loop every runner shares: warmup + reps calls of sample(ctx), each one sample of
// `ops` operations; a call during which an NMI arrived is made again (max_disturbed bounds it).
// A sample that reads the performance counters does so through counters::window_open/close
// (bench/counters.h); sample_difference does it for its runs.
Result sample_repetitions(const Params& p, u64 ops, i64 (*sample)(void* ctx), void* ctx);
// run(ctx, 0) times the loop with U bodies and run(ctx, 1) the one with 2U; each of the reps
// repetitions after warmup gives their difference, which covers `ops` operations.
Result sample_difference(const Params& p, u64 ops, u64 (*run)(void* ctx, int which), void* ctx);
// The fail result of a variant whose repetitions NMIs disturbed more than max_disturbed() times.
Result too_disturbed(u32 disturbed);
// Summarises reps samples already in sample_buffer() (single timed events: ops = 1).
Result summarize_samples(const Params& p, u64 ops);
// Where the runners put one sample per repetition (kMaxReps).
i64* sample_buffer();
// The counters' deltas of the current sample (bench/counters.h) kept as sample `index`, for a
// runner with its own repetition loop; then their statistics into r (counter_count 0 when off).
void store_counter_sample(u32 index);
void summarize_counter_samples(Result& r, u32 n, u64 ops);
// For a runner that reads each counter in a pass of its own (the one-way crossings): one value of
// counter `counter` as sample `index`, then the statistics of the first `count` counters.
void store_counter_value(u32 counter, u32 index, i64 value);
void summarize_counter_samples(Result& r, u32 n, u64 ops, u32 count);

}  // namespace ptb::bench
