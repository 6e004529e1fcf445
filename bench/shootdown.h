// The TLB shootdown rows (group shootdown, docs/benchmarks.md, docs/method.md "TLB shootdowns"):
// CPU 0 changes the PTEs of n pages every CPU has cached, invalidates them locally, interrupts T
// targets, which invalidate them too (bench/shootdown_plan.h decides how), and waits for their
// acknowledgements. After each shootdown every target reads every page through its changed
// mapping and must see the new frame. Kernel only.
#pragma once

#include "arch/x86/cpu_features.h"
#include "bench/measure.h"
#include "bench/row.h"

namespace ptb::bench {

Result measure_shootdown(const Row& row, const Params& p, const x86::CpuInfo& cpu);

}  // namespace ptb::bench
