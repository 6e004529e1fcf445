// The TSC's frequency, from the sources this machine has, cross-checked (kernel/calibration.h):
// the command line, CPUID 15h, the hypervisor's leaf 0x40000010, the HPET and the ACPI PM timer
// (from the ACPI tables), CPUID 16h (Intel) and the PIT. Only as many clocks are measured as the
// choice and its check need.
#pragma once

#include "arch/x86/cpu_features.h"
#include "kernel/acpi.h"
#include "kernel/calibration.h"

namespace ptb::clock {

calibration::Verdict calibrate_tsc(const x86::CpuInfo& cpu, const acpi::Tables& acpi,
                                   u64 cmdline_hz);

}  // namespace ptb::clock
