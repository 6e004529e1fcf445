// Ring-3 benchmark drivers and the PTI address spaces: SYSCALL entry variants, exceptions and
// one-way crossings.
#pragma once

#include "arch/x86/cpu_features.h"
#include "bench/runner.h"
#include "bench/suite.h"
#include "bench/variant.h"
#include "lib/format.h"
#include "lib/types.h"

namespace ptb::bench {

Result measure_ring3(const Variant& v, const Fixture& fx, const Params& p, const x86::CpuInfo& cpu);
void ring3_record_fields(TextBuf& j, const Variant& v);
// The PTI isolation self-test (and the walk of the user tables).
void ring3_selftests();
// suite=seeds: the seed documents' two experiments as tables and records.
void run_seed_experiments(SuiteContext& ctx, Variant* table, usize count, const Fixture& fx);
// fault=user-read: a ring-3 read of a kernel address under PTI, not expected: fatal report.
[[noreturn]] void user_read_kernel();

}  // namespace ptb::bench
