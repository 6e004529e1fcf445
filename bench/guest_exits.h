// Which operations of a variant's measured path a hypervisor may intercept ("leave the guest"),
// so that a run under KVM (or another hypervisor) says which figures include exits. Derived from
// the row's structure (its group, flush, entry scheme, crossing, probe steps), pure, host-tested.
// What each hypervisor actually intercepts depends on its configuration (EPT/NPT above all);
// docs/running.md ("KVM guests") gives the conditions for KVM.
#pragma once

#include "bench/probe.h"
#include "bench/row.h"
#include "lib/format.h"
#include "lib/types.h"

namespace ptb::bench {

enum GuestExit : u32 {
  kExitCr3 = 1u << 0,      // MOV to/from CR3: intercepted under shadow paging (no EPT/NPT)
  kExitCr4 = 1u << 1,      // MOV to CR4: every write on AMD (SVM) hosts; owned bits on Intel
  kExitInvlpg = 1u << 2,   // INVLPG: intercepted under shadow paging
  kExitInvpcid = 1u << 3,  // INVPCID: intercepted where the hypervisor does not pass it through
  kExitPf = 1u << 4,       // #PF: every guest page fault goes to the hypervisor first under
                           // shadow paging
  kExitPtWrite = 1u << 5,  // a write to a page-table entry: write-protected under shadow paging
  kExitIpi = 1u << 6,      // sending an IPI (the ICR write) unless IPIs are virtualized
  kExitHlt = 1u << 7,      // a CPU waiting in HLT, unless the hypervisor lets the guest halt
};

// The operations of `row`'s measured path that may exit (probes: every step of the program).
u32 guest_exits(const Row& row);
// "cr3,invlpg" (in the order of the enum); nothing for 0.
void put_guest_exits(TextBuf& out, u32 exits);

}  // namespace ptb::bench
