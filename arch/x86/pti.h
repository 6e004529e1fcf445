// The PTI user page tables, built the way Linux lays them out: the user PML4 is the kernel PML4
// + 4 KiB (so entry code flips CR3 bit 12), it shares the kernel's tables for the user half of
// the address space, and of the kernel it maps only the entry area (the trampoline text and what
// entry needs: descriptor tables, the per-CPU area, entry and IST stacks), supervisor-only,
// read-only where the CPU never writes. Pure: host-tested against an in-memory arena.
#pragma once

#include "arch/x86/page_table.h"
#include "lib/types.h"

namespace ptb::x86 {

struct EntryArea {
  u64 text_start, text_end;      // executable
  u64 rodata_start, rodata_end;  // GDT, IDT, TSS: read-only
  u64 data_start, data_end;      // per-CPU area, entry and IST stacks: writable, NX
};

// Fills the (zeroed) user PML4 at `user_root`: the PML4 entries in [user_first, user_last] are
// copied from the kernel PML4 (user space is shared, as in Linux), and the entry area is mapped
// at its kernel addresses. Identity of physical and virtual addresses for the entry area is
// assumed (the kernel is identity-mapped). `nx` is Pte::kNoExecute or 0.
[[nodiscard]] MapError build_pti_user_tables(const PageTable& kernel, PageTable& user,
                                             unsigned user_first, unsigned user_last,
                                             const EntryArea& entry, u64 nx);

// What the user tables expose of the kernel: every supervisor leaf, as runs of pages.
struct ExposedRun {
  u64 start, end;  // virtual
  bool writable, executable;
};
// Returns the number of runs (at most `cap` are stored).
usize kernel_pages_in(const PageTable& tables, ExposedRun* out, usize cap);

}  // namespace ptb::x86
