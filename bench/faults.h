// fault=: deliberate exceptions for the fault-report tests, all in one place.
#pragma once

#include "bench/options.h"

namespace ptb::bench {

// Provokes the fault the command line asks for; returns at once for fault=none.
void provoke_requested_fault();

}  // namespace ptb::bench
