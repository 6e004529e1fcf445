// The address-space switching lab in the kernel (issue 11; the decisions are bench/asid_policy.h):
// P processes, each with its own PTI pair sharing the kernel's mappings and a private working set
// of W pages at the same virtual addresses (PML4 slot 253), backed by distinct frames that hold
// a magic naming (process, page). One record runs the row's schedule of slices: switch (the
// policy picks the PCID and the flushes), return to ring 3, read the W pages checking every magic,
// make k system calls through the policy's PTI entry (each touching Kk kernel pages and checking
// the shared kernel page), and back to the scheduler; every M slices the shared kernel page is
// remapped and invalidated as the policy and the CPU allow.
#pragma once

#include "arch/x86/cpu_features.h"
#include "bench/measure.h"
#include "bench/row.h"

namespace ptb::bench {

// The row's environment (EnvScope) must be applied. Builds the processes it needs on first use.
Result measure_aspace(const Row& row, const Params& p, const x86::CpuInfo& cpu);

}  // namespace ptb::bench
