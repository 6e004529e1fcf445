// What an unexpected CPU exception prints before the run ends with a failure.
#pragma once

#include "arch/x86/layout.h"
#include "lib/format.h"

namespace ptb {

void install_fault_report();
// Appends a one-line explanation of a page fault's error code and address (used by the report
// and by the PTI self-test); under PTI it says when the address is absent from the user tables.
void explain_page_fault(TextBuf& out, u64 error_code, u64 cr2, bool pti_active);

}  // namespace ptb
