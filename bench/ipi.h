// The IPI round-trip rows (group ipi, docs/benchmarks.md): CPU `source` sends a fixed-vector IPI
// to CPU `target`, whose handler answers through memory (ipi.fixed), or writes a mailbox that
// `target` polls with interrupts off (ipi.poll): interrupt delivery and cache-line transfer as
// separate figures. Kernel only.
#pragma once

#include "bench/measure.h"
#include "bench/row.h"

namespace ptb::bench {

Result measure_ipi(const Row& row, const Params& p);

}  // namespace ptb::bench
