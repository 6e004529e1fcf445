// The TLB probes on the real CPU: a ProbeCpu (bench/probe.h) over the fixture's probe pages, and
// the runner of a probe row. Kernel only.
#pragma once

#include "arch/x86/cpu_features.h"
#include "bench/measure.h"
#include "bench/row.h"

namespace ptb::bench {

// The magics at the start of the probe frames (bench/suite.cpp writes them).
inline constexpr u64 kProbeMagicA = 0x4150'5442'5052'4f41;  // "AORPBTPA"
inline constexpr u64 kProbeMagicB = 0x4250'5442'5052'4f42;

// Runs the row's probe reps times (p.reps reads) in the row's environment, which the caller has
// applied (EnvScope); ok unless it kept what the manual requires dropped (then fail, with why).
Result measure_probe(const Row& row, const Fixture& fx, const Params& p, const x86::CpuInfo& cpu);

}  // namespace ptb::bench
