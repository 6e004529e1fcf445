// Which TSC frequency to believe, and whether a second, independent source agrees. Pure
// (host-tested): the figures come from kernel/clock.cpp (CPUID leaves, the hypervisor's leaf, the
// HPET, the ACPI PM timer, the PIT) or from fakes.
#pragma once

#include "lib/types.h"

namespace ptb::calibration {

enum class Kind : u8 {
  kDeclared,  // a number someone states: the command line, CPUID, the hypervisor
  kMeasured,  // TSC ticks counted against another clock
};

struct Source {
  const char* name;  // "cpuid.15h", "hpet", ... (the env record's tsc_source)
  Kind kind;
  u64 hz;  // 0: not available
};

// Sources are given in order of preference. The TSC rate is the first available one; it is
// checked against the first other available source, a measured one when there is one (a declared
// figure checked against another declared figure proves little).
struct Verdict {
  u64 hz = 0;  // 0 when no source is available
  const char* source = "unknown";
  u64 check_hz = 0;  // 0 when nothing else was available
  const char* check_source = "none";
  u32 diff_ppm = 0;       // |hz - check_hz| / hz in parts per million
  bool disagree = false;  // diff_ppm > kTolerancePpm
};
inline constexpr u32 kTolerancePpm = 10'000;  // 1 %

Verdict decide(const Source* sources, usize count);

}  // namespace ptb::calibration
