// The PTI user page tables, built the way Linux lays them out: the user PML4 is the kernel PML4
// + 4 KiB (so entry code flips CR3 bit 12), it shares the kernel's tables for the user half of
// the address space, and of the kernel it maps only the entry area (the trampoline text and what
// entry needs: descriptor tables, the per-CPU area, entry and IST stacks), supervisor-only,
// read-only where the CPU never writes. Pure: host-tested against an in-memory arena.
#pragma once

#include "arch/x86/page_table.h"
#include "arch/x86/regs.h"
#include "lib/types.h"

namespace ptb::x86 {

// How ring 3 enters and leaves the kernel (the entry stubs' CR3 switching; also exported to
// NASM as ENTRY_NONE, ENTRY_PTI, ENTRY_PCID and ENTRY_PCID_FLUSH).
enum class EntryScheme : u8 {
  kNone = 0,       // no PTI: ring 3 stays on the kernel tables
  kPti = 1,        // PTI without PCID: every switch flushes the non-global TLB entries
  kPcid = 2,       // PTI with PCID as Linux: NOFLUSH on entry, the lazy user flush on exit
  kPcidFlush = 3,  // PTI with PCID, never NOFLUSH
};
constexpr bool uses_pcid(EntryScheme s) {
  return s == EntryScheme::kPcid || s == EntryScheme::kPcidFlush;
}

// The CR3 values a scheme runs with: the kernel's while in the kernel, the user's in ring 3.
// None: ring 3 stays on the kernel tables. PTI: the pair's user half (PGD + 4 KiB), PCID 0.
// PCID: kernel PCID 1 and user PCID 2049 (Linux's first ASID slot), user = kernel half flipped.
struct PtiCr3 {
  u64 kernel, user;
};
PtiCr3 pti_cr3(EntryScheme scheme, u64 kernel_root);

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
