// One runner for every row of the table: skips with a reason when a feature is missing, applies
// the row's environment (bench/env.h), warms up and measures by the row's method.
#pragma once

#include "arch/x86/cpu_features.h"
#include "bench/measure.h"
#include "bench/row.h"

namespace ptb::bench {

Result run_row(const Row& row, const Fixture& fx, const Params& p, const x86::CpuInfo& cpu);

}  // namespace ptb::bench
