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

// The kernel image outside the entry area: text (executable) and read-only data.
struct KernelImage {
  u64 text_start, text_end;
  u64 rodata_start, rodata_end;
};

// Which kernel mappings are global (PTE.G) while a PTI scheme runs, after Linux's
// arch/x86/mm/pti.c and arch/x86/mm/cpu_entry_area.c:
//   kNone          Linux 4.15 and 4.16: nothing of the kernel is global under PTI;
//   kEntry         Linux 4.17 on, with PCID: the areas both tables map, entry text
//                  (pti_clone_entry_text) and the CPU entry area (cea_set_pte), are global in
//                  both; the rest of the kernel image is not (pti_set_kernel_image_nonglobal);
//   kEntryAndText  Linux 4.17 on, without PCID: also the kernel text, global and mapped into the
//                  user tables with the read-only data (pti_clone_kernel_text, when
//                  pti_kernel_image_global_ok: no PCID, pti=auto, not K8, no RANDSTRUCT).
// ptibench's entry area (.entry.text, .entry.rodata, .entry.data) stands for Linux's entry text
// and CPU entry area together.
enum class PtiGlobals : u8 { kNone = 0, kEntry = 1, kEntryAndText = 2 };
inline constexpr usize kPtiGlobalsCount = 3;
const char* pti_globals_name(PtiGlobals g);  // "none", "entry", "entry+text"

// Fills the (zeroed) user PML4 at `user_root`: the PML4 entries in [user_first, user_last] are
// copied from the kernel PML4 (user space is shared, as in Linux), and the entry area is mapped
// at its kernel addresses; with `globals` kEntry or kEntryAndText its pages are global, and with
// kEntryAndText `image`'s text (global) and read-only data (not global: Linux sets PTE.G on the
// text alone where the image is mapped in 4 KiB pages, as here) are mapped too. Identity of
// physical and virtual addresses for the kernel is assumed (it is identity-mapped). `nx` is
// Pte::kNoExecute or 0.
[[nodiscard]] MapError build_pti_user_tables(const PageTable& kernel, PageTable& user,
                                             unsigned user_first, unsigned user_last,
                                             const EntryArea& entry, u64 nx,
                                             PtiGlobals globals = PtiGlobals::kNone,
                                             const KernelImage* image = nullptr);

// Sets (or clears) PTE.G on every present 4 KiB leaf in [start, end) of `tables`; pages mapped
// otherwise or not at all are left alone. Returns how many leaves changed.
usize set_global(const PageTable& tables, u64 start, u64 end, bool global);

// The kernel tables' side of `globals`: the entry area global unless kNone, the image's text
// global only with kEntryAndText, everything else as the kernel maps it (not global).
void apply_kernel_globals(const PageTable& kernel, const EntryArea& entry, const KernelImage& image,
                          PtiGlobals globals);

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

// What Linux makes global for a scheme (PtiGlobals above): `linux415` asks for the 4.15 mapping.
// pti_kernel_image_global_ok's other conditions are taken as a default kernel has them (pti=auto,
// no RANDSTRUCT) and K8, which never runs PTI by default, is not considered.
constexpr PtiGlobals pti_globals(EntryScheme s, bool linux415) {
  if (s == EntryScheme::kNone || linux415) return PtiGlobals::kNone;
  return uses_pcid(s) ? PtiGlobals::kEntry : PtiGlobals::kEntryAndText;
}
static_assert(pti_globals(EntryScheme::kPti, false) == PtiGlobals::kEntryAndText);
static_assert(pti_globals(EntryScheme::kPcid, false) == PtiGlobals::kEntry);
static_assert(pti_globals(EntryScheme::kPti, true) == PtiGlobals::kNone);

// The CR3 values a scheme runs with: the kernel's while in the kernel, the user's in ring 3.
// kNone: ring 3 stays on the kernel tables. kPti: the pair's user half (PGD + 4 KiB), PCID 0.
// kPcid, kPcidFlush: kernel PCID 1 and user PCID 2049 (Linux's first ASID slot), the user value
// being the kernel value with both PTI bits set (Cr3::user_half).
struct PtiCr3 {
  u64 kernel, user;
};
PtiCr3 pti_cr3(EntryScheme scheme, u64 kernel_root);

}  // namespace ptb::x86
