// The TSC measured against the PIT (kernel/clock.cpp chooses among this and the other sources).
#pragma once

#include "lib/types.h"

namespace ptb::x86 {

// Counts TSC ticks over ~50 ms of PIT channel 2 (1.193182 MHz). 0 when the PIT does not answer.
u64 calibrate_tsc_with_pit();

}  // namespace ptb::x86
