// The benchmark options of the kernel command line (`help` lists them with the kernel's own).
// The table is parsed together with the kernel's (kernel/options.h); read everywhere in bench/.
#pragma once

#include "bench/shootdown_plan.h"
#include "kernel/cmdline.h"
#include "lib/types.h"

namespace ptb::bench {

enum class Suite : u32 { kFull, kQuick, kSelftest, kSeeds };
enum class FaultKind : u32 { kNone, kUd, kPf, kGp, kDe, kStack, kUserRead };

struct Options {
  u32 suite = static_cast<u32>(Suite::kFull);
  cmdline::StringRef bench{"*", 1};
  u64 reps = 31;
  u64 unroll = 16;
  u64 iters = 8;
  u64 warmup = 4;
  u64 refill_max = 1024;
  cmdline::StringRef touch{"1,8,64", 6};
  u32 fault = static_cast<u32>(FaultKind::kNone);
  u32 samples = 0;  // 0: summary statistics only; 1 (samples=raw): every repetition too
  cmdline::StringRef pmu{"auto", 4};  // off, auto, or a list of counters (arch/x86/pmu.h)
  // The crossings' counter passes (bench/crossing_counters.h CrossingRequest): auto, off,
  // fake-tsc (a test: their stamps read the TSC; named so in the env record), rdpmc-forced.
  u32 crossing_counters = 0;
  // The address-space lab (bench/aspace.h).
  cmdline::StringRef aspace_p{"2,4,8,16", 8};
  cmdline::StringRef aspace_slots{"1,2,4,6,12,32,128,2047", 22};
  u64 aspace_w = 8;
  u64 aspace_k = 4;
  u64 aspace_kk = 8;
  cmdline::StringRef aspace_footprint{"0,8,64", 6};
  u64 aspace_m = 16;
  u32 aspace_broken = 0;  // 1 (aspace_broken=global): the working sets mapped global, on purpose
  u64 ceiling = kFlushCeiling;  // shootdown.*: pages up to which a CPU INVLPGs each
  u32 shootdown_targets = 0;    // 0 invalidate; 1 (skip): targets only acknowledge (a test); 2
                                // (skip-global): and the pages are global (the user half's test)
  cmdline::StringRef shootdown_pages{"1,8,33,64,512", 13};
  u32 invlpgb = 0;  // 0 (cpuid): INVLPGB rows run where CPUID has it; 1 (force): tried anyway

  Suite suite_kind() const { return static_cast<Suite>(suite); }
  FaultKind fault_kind() const { return static_cast<FaultKind>(fault); }
  bool raw_samples() const { return samples == 1; }
  bool targets_skip_invalidation() const { return shootdown_targets != 0; }
  bool shootdown_pages_global() const { return shootdown_targets == 2; }
  bool force_invlpgb() const { return invlpgb == 1; }
};

const Options& options();
// The rows of the command-line table that belong to bench/.
const cmdline::Option* option_table(usize* count);
const char* suite_name(Suite s);

// The touch= list, parsed once (values 1..kMaxTouch, each once), with warnings for the rest.
void parse_touch_option();
const u32* touch_list(usize* count);
u32 max_touch();
// The shootdown_pages= list, likewise (values 1..kMaxShootdownPages).
void parse_shootdown_pages_option();
const u32* shootdown_pages(usize* count);

// The address-space lab's lists, parsed by parse_touch_option too (with the same warnings).
struct LabLists {
  u32 processes[8], slots[16], footprint[8];
  usize processes_count, slots_count, footprint_count;
};
const LabLists& lab_lists();
u32 lab_max_kernel_pages();  // the largest Kk any lab row touches

}  // namespace ptb::bench
