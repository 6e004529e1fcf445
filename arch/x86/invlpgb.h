// INVLPGB's register operands (AMD APM Vol.3, INVLPGB; the forms Linux >= 6.15 uses, arch/x86/
// include/asm/tlb.h and arch/x86/mm/tlb.c). Pure constexpr: compiled into the kernel and the host
// tests; the instructions themselves are in arch/x86/cpu.h.
//   RAX  the page-aligned linear address | what the entry must match: bit 0 the VA, bit 1 the PCID,
//        bit 2 the ASID; bit 3 global entries too; bit 4 only the final translation (no
//        paging-structure caches); bit 5 nested translations too.
//   ECX  bit 31: 2 MiB stride instead of 4 KiB; bits 15:0: the number of pages after the first.
//   EDX  bits 31:16 the PCID, bits 15:0 the ASID (0 on a host: Linux sets the ASID bit always, so
//        that a guest flushes only its own ASID).
// The count after the first may be at most CPUID 8000_0008H:EDX[15:0] (CpuInfo::invlpgb_max_pages
// is that + 1).
#pragma once

#include "arch/x86/regs.h"
#include "lib/types.h"

namespace ptb::x86 {

struct Invlpgb {
  static constexpr u64 kVa = bit(0), kPcid = bit(1), kAsid = bit(2), kIncludeGlobal = bit(3),
                       kFinalOnly = bit(4), kIncludeNested = bit(5);
  static constexpr u32 kPmdStride = u32{1} << 31;
  static constexpr u32 kMaxPages = 0x1'0000;  // ECX[15:0] + 1
  u64 rax = 0;
  u32 ecx = 0;
  u32 edx = 0;
  friend constexpr bool operator==(Invlpgb, Invlpgb) = default;

  constexpr u64 va() const { return rax & ~u64{0xfff}; }
  constexpr u32 pages() const { return (ecx & 0xffff) + 1; }
  constexpr u16 pcid() const { return static_cast<u16>(edx >> 16); }
};

// `pages` of 4 KiB from `va` (1 .. kMaxPages; 0 is taken as 1), matching `flags` (kAsid is always
// added, with ASID 0, as Linux's __invlpgb does).
constexpr Invlpgb invlpgb_op(u64 va, u32 pages, u64 flags, Pcid pcid = {}) {
  const u32 n = pages == 0 ? 1 : pages > Invlpgb::kMaxPages ? Invlpgb::kMaxPages : pages;
  return Invlpgb{(va & ~u64{0xfff}) | (flags & 0x3f) | Invlpgb::kAsid, n - 1,
                 u32{static_cast<u32>(pcid.value & Pcid::kMask)} << 16};
}

static_assert(invlpgb_op(0x7f80'0000'1000, 8, Invlpgb::kVa | Invlpgb::kPcid, Pcid{0x801}) ==
              Invlpgb{0x7f80'0000'1007, 7, 0x0801'0000});
static_assert(invlpgb_op(0, 1, 0) == Invlpgb{Invlpgb::kAsid, 0, 0});  // all non-global entries
static_assert(invlpgb_op(0x5000, 0x2'0000, Invlpgb::kVa).ecx == 0xffff);

}  // namespace ptb::x86
