// One runner for every row of the table: applies the variant's CPU state, skips with a reason
// when a feature is missing, warms up, measures, summarises and prints.
#pragma once

#include "arch/x86/cpu_features.h"
#include "bench/stats.h"
#include "bench/variant.h"
#include "lib/types.h"

namespace ptb::bench {

struct Params {
  u32 reps, unroll, iters, warmup;
};
// The command line's parameters, reduced for suite=quick.
Params effective_params();

enum class Status : u8 { kOk, kSkip, kFail };
const char* status_name(Status s);

struct Result {
  Status status;
  const char* reason;  // skip/fail: static text or the runner's reason buffer
  Summary stats;       // per operation
  u64 ops;             // operations per repetition after the baseline is subtracted
};

Result run_variant(const Variant& v, const Fixture& fx, const Params& p, const x86::CpuInfo& cpu);
// The result record and the human line, and the tally.
void emit_result(const Variant& v, const Result& r, const Params& p, u64 tsc_hz);
// The end-of-run table of everything that ran.
void print_table(const Variant* v, const Result* r, usize n, u64 tsc_hz, bool bare_metal);
// Then the screen alone: every result in columns sized to the screen.
void print_screen_summary(const Variant* v, const Result* r, usize n, bool bare_metal);

// The U-against-2U method (docs/method.md): run(ctx, 0) times the loop with U bodies and
// run(ctx, 1) the one with 2U; each of the reps repetitions after warmup gives their difference,
// which covers `ops` operations.
Result sample_difference(const Params& p, u64 ops, u64 (*run)(void* ctx, int which), void* ctx);

// Repetition samples (ticks per repetition, before dividing by ops), for runners elsewhere.
i64* sample_buffer();
inline constexpr u32 kMaxReps = 10000;

}  // namespace ptb::bench
