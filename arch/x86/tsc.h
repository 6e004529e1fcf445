// The TSC's frequency: from CPUID where the CPU states it, else measured against the PIT.
#pragma once

#include "arch/x86/cpu_features.h"
#include "lib/types.h"

namespace ptb::x86 {

struct TscFrequency {
  u64 hz;              // 0 when unknown
  const char* source;  // "cpuid.15h", "cpuid.16h", "pit", "unknown"
};

TscFrequency tsc_frequency(const CpuInfo& cpu);
// Counts TSC ticks over ~50 ms of PIT channel 2 (1.193182 MHz). 0 when the PIT does not answer.
u64 calibrate_tsc_with_pit();

}  // namespace ptb::x86
