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

// How an entry path crosses between the two address spaces (the entry stubs' ENTRY_* in NASM):
//   kNone       no PTI: one set of tables, CR3 untouched;
//   kPti        PTI without PCID: CR3 bit 12 flips between the halves of the pair, every switch
//               flushes (CR4.PCIDE = 0);
//   kPcid       PTI with PCID as Linux does it: kernel PCID on entry with NOFLUSH (CR3 bit 63),
//               user PCID on exit with NOFLUSH unless the per-CPU user_pcid_flush mask asks for
//               the lazy flush (SDM Vol.3 4.10.4.1);
//   kPcidFlush  PTI with PCID but every switch flushes (NOFLUSH never set).
enum class EntryScheme : u8 { kNone = 0, kPti = 1, kPcid = 2, kPcidFlush = 3 };
constexpr bool uses_pcid(EntryScheme s) {
  return s == EntryScheme::kPcid || s == EntryScheme::kPcidFlush;
}

// The CR3 values a scheme runs with: the kernel's while in the kernel, the user's in ring 3.
// kNone: ring 3 stays on the kernel tables. kPti: the pair's user half (PGD + 4 KiB), PCID 0.
// kPcid, kPcidFlush: kernel PCID 1 and user PCID 2049 (Linux's first ASID slot), the user value
// being the kernel value with both PTI bits set (Cr3::user_half).
struct PtiCr3 {
  u64 kernel, user;
};
PtiCr3 pti_cr3(EntryScheme scheme, u64 kernel_root);

}  // namespace ptb::x86
