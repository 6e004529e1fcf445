// Exception fixup for instructions that may fault by design (an MSR the CPU may lack): the
// caller names the one instruction that may raise #GP and where to resume, trap_dispatch asks
// here first, as Linux's exception table does for rdmsr_safe. RDPMC may also raise #UD where an
// emulator does not implement it (QEMU TCG): its caller allows that too. Pure: host-tested on
// fake frames.
#pragma once

#include "arch/x86/layout.h"
#include "lib/types.h"

namespace ptb::x86 {

inline constexpr u64 kVectorGp = 13;  // SDM Vol.3 6.15: #GP, with an error code
inline constexpr u64 kVectorUd = 6;   // #UD

// One pending expectation (one CPU, interrupts off: at most one such instruction runs at a time).
struct FaultFixup {
  u64 fault_rip = 0;  // 0: nothing expected
  u64 resume_rip = 0;
  bool faulted = false;
  bool allow_ud = false;  // a #UD at fault_rip is caught as well
  u64 vector = 0;         // of the fault caught (kVectorGp or kVectorUd), when faulted

  // A #GP raised in ring 0 at exactly fault_rip resumes at resume_rip, and is recorded. Anything
  // else is not ours (false: the frame is untouched). One fault per expectation.
  constexpr bool apply(TrapFrame& f) {
    const bool expected = f.vector == kVectorGp || (allow_ud && f.vector == kVectorUd);
    if (fault_rip == 0 || !expected || (f.cs & 3) != 0 || f.rip != fault_rip) return false;
    f.rip = resume_rip;
    fault_rip = 0;
    faulted = true;
    vector = f.vector;
    return true;
  }
};

}  // namespace ptb::x86
