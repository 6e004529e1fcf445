// The performance counters read beside the TSC (docs/method.md, "Counters"): detected and
// self-tested once at boot, then read around every sample exactly as the ticks are differenced.
// The pure parts are arch/x86/pmu.h (what the CPU has, the encodings, the plan) and
// bench/pmu_check.h (the self-test's verdict, the exactness check).
#pragma once

#include "arch/x86/cpu_features.h"
#include "arch/x86/pmu.h"
#include "bench/crossing_counters.h"
#include "bench/pmu_check.h"
#include "lib/types.h"

namespace ptb::bench::counters {

// Decodes CPUID, plans the counters for the pmu= request, programs them and runs the self-test.
// Leaves the state kCounting, or another state with a reason and every counter disabled.
void init(const x86::CpuInfo& cpu);

PmuState state();
const char* reason();  // why not counting (or a note when counting), never null
const x86::pmu::Caps& caps();
const x86::pmu::Plan& plan();
const SelftestOutcome& selftest();
bool on();           // counting: the runner reads them and the records carry them
bool read_by_msr();  // RDPMC faulted, so the counters are read by RDMSR
// What the one-way crossings' counter passes read (crossing_counters=, decided at init), and the
// plan naming their figures: counters::plan() for RDPMC, fake_tsc_plan() for the fake.
const CrossingChoice& crossing();
const x86::pmu::Plan& crossing_plan();

// One sample's counter deltas, accumulated over windows: the runner opens a window before a timed
// run and closes it after, with the sign the run's ticks carry in the sample (U minus 2U: -1 and
// +1; after-flush minus warm: +1 and -1). Nothing happens when the counters are off.
void sample_begin();
void window_open();
void window_close(i64 sign);
const i64* sample_deltas();  // plan().count of them
// How many windows have been opened since boot: a runner whose samples opened none (the IPI and
// shootdown rows) has no counter figures from them (the crossings read theirs in counter passes,
// bench/user_space.cpp, not in windows).
u64 window_count();
// run(ctx, which) inside a window closed with `sign`, returning what run returns. Both runs of a
// difference must go through it: it is one out-of-line function, so the instructions around the
// run (which the counters see and the TSC stamps do not) are the same for both and cancel.
u64 counted(u64 (*run)(void* ctx, int which), void* ctx, int which, i64 sign);

// What a variant reads around all its repetitions: APERF/MPERF (when the CPU has them) and the
// SMI count (Intel MSR 0x34, where the model has it).
struct VariantMeters {
  bool ratio_ok = false;
  double core_ratio = 0;  // APERF delta / MPERF delta
  bool smi_ok = false;
  u64 smis = 0;
};
struct VariantStart {
  u64 aperf = 0, mperf = 0, smi = 0;
  bool ratio_ok = false, smi_ok = false;
};
VariantStart variant_begin();
VariantMeters variant_end(const VariantStart& start);
// Whether the CPU has the SMI counter (read once at init), and its value now (0 without one).
bool smi_counter();
u64 smi_count();

}  // namespace ptb::bench::counters
