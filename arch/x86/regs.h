// Layouts of the x86-64 control registers, MSR values and PCIDs this kernel programs. Pure
// constexpr: compiled into the kernel and into the host tests. Access (the inline asm) lives in
// arch/x86/cpu.h, which the host never includes.
#pragma once

#include "lib/types.h"

namespace ptb::x86 {

constexpr u64 bit(unsigned n) { return u64{1} << n; }

// SDM Vol.3 2.5: CR0.
struct Cr0 {
  static constexpr u64 kPe = bit(0), kMp = bit(1), kEm = bit(2), kTs = bit(3), kEt = bit(4),
                       kNe = bit(5), kWp = bit(16), kAm = bit(18), kNw = bit(29), kCd = bit(30),
                       kPg = bit(31);
  u64 raw = 0;
};

// SDM Vol.3 2.5: CR4. PCE (bit 8) lets RDPMC run at any privilege level (otherwise only in
// ring 0: SDM Vol.2 RDPMC).
struct Cr4 {
  static constexpr u64 kVme = bit(0), kPvi = bit(1), kTsd = bit(2), kDe = bit(3), kPse = bit(4),
                       kPae = bit(5), kMce = bit(6), kPge = bit(7), kPce = bit(8), kOsfxsr = bit(9),
                       kOsxmmexcpt = bit(10), kUmip = bit(11), kLa57 = bit(12), kFsgsbase = bit(16),
                       kPcide = bit(17), kOsxsave = bit(18), kSmep = bit(20), kSmap = bit(21);
  u64 raw = 0;
  constexpr bool has(u64 b) const { return (raw & b) != 0; }
  constexpr Cr4 with(u64 b, bool on) const { return Cr4{on ? raw | b : raw & ~b}; }
};

// A process-context identifier: CR3[11:0] when CR4.PCIDE = 1 (SDM Vol.3 4.10.1).
struct Pcid {
  u16 value = 0;
  static constexpr u16 kMask = 0xfff;
  constexpr bool valid() const { return value <= kMask; }
  friend constexpr bool operator==(Pcid, Pcid) = default;
};

// Linux's three number spaces (arch/x86/mm/tlb.c): a small per-CPU ASID slot, the kernel PCID
// (asid + 1, PCID 0 stays for PCID-unaware code) and the user PCID (kernel PCID | bit 11, the
// half of the pair PTI runs user space with).
struct Asid {
  u16 value = 0;
};
inline constexpr u16 kUserPcidBit = 1u << 11;    // X86_CR3_PTI_PCID_USER_BIT
inline constexpr u64 kUserPgdOffset = 1u << 12;  // user PGD = kernel PGD + 4 KiB
constexpr Pcid kernel_pcid(Asid a) { return Pcid{static_cast<u16>(a.value + 1)}; }
constexpr Pcid user_pcid(Asid a) {
  return Pcid{static_cast<u16>(kernel_pcid(a).value | kUserPcidBit)};
}

// SDM Vol.3 4.5 (4-level paging) and 4.10.4.1: CR3 holds the top-level table's physical address;
// with CR4.PCIDE = 1 its low 12 bits are the PCID and bit 63 asks the CPU not to flush the
// PCID's TLB entries (the bit itself is not stored). Bit 63 must never be set on a CPU without
// PCID (QEMU TCG hangs on it).
struct Cr3 {
  static constexpr u64 kNoflush = bit(63);
  static constexpr u64 kAddrMask = 0x000f'ffff'ffff'f000;
  u64 raw = 0;

  static constexpr Cr3 root(u64 table_phys) { return Cr3{table_phys & kAddrMask}; }
  constexpr u64 table() const { return raw & kAddrMask; }
  constexpr Pcid pcid() const { return Pcid{static_cast<u16>(raw & Pcid::kMask)}; }
  constexpr bool noflush() const { return (raw & kNoflush) != 0; }
  constexpr Cr3 with_pcid(Pcid p) const {
    return Cr3{(raw & ~u64{Pcid::kMask}) | (p.value & Pcid::kMask)};
  }
  constexpr Cr3 with_noflush(bool on) const { return Cr3{on ? raw | kNoflush : raw & ~kNoflush}; }
  // The other half of a PTI pair: flip the PGD bit 12 and the user PCID bit 11, as Linux's
  // SWITCH_TO_USER_CR3 / SWITCH_TO_KERNEL_CR3 do.
  constexpr Cr3 user_half() const { return Cr3{raw | kUserPgdOffset | kUserPcidBit}; }
  constexpr Cr3 kernel_half() const { return Cr3{raw & ~(kUserPgdOffset | kUserPcidBit)}; }
  friend constexpr bool operator==(Cr3, Cr3) = default;
};

static_assert(Cr3{}.with_pcid(Pcid{5}).with_noflush(true).raw == 0x8000'0000'0000'0005);
static_assert(Cr3::root(0x12'2000).with_pcid(kernel_pcid(Asid{0})).user_half().raw == 0x12'3801);
static_assert(Cr3{0x12'3801}.kernel_half().raw == 0x12'2001);

// MSRs (SDM Vol.4).
namespace msr {
inline constexpr u32 kEfer = 0xc000'0080;
inline constexpr u32 kStar = 0xc000'0081;
inline constexpr u32 kLstar = 0xc000'0082;
inline constexpr u32 kFmask = 0xc000'0084;
inline constexpr u32 kFsBase = 0xc000'0100;
inline constexpr u32 kPat = 0x277;  // SDM Vol.3 12.12.2
inline constexpr u32 kGsBase = 0xc000'0101;
inline constexpr u32 kKernelGsBase = 0xc000'0102;
inline constexpr u32 kAmdDeCfg = 0xc001'1029;  // AMD: bit 1 makes LFENCE dispatch-serialising
}  // namespace msr

struct Efer {
  static constexpr u64 kSce = bit(0), kLme = bit(8), kLma = bit(10), kNxe = bit(11);
  u64 raw = 0;
};

// SDM Vol.3 5.8.8, Vol.2 SYSCALL/SYSRET: SYSCALL loads CS from STAR[47:32] (RPL cleared) and
// SS from STAR[47:32] + 8; 64-bit SYSRET loads CS from STAR[63:48] + 16 with RPL 3 and SS from
// STAR[63:48] + 8. Whether SYSRET also forces SS.RPL to 3 is where the manuals differ (current
// SDM editions OR in 3, older ones and AMD's APM Vol.3 pseudocode copy the selector as it is),
// so STAR[63:48] carries RPL 3 itself, as Linux writes __USER32_CS there: SS after SYSRET is a
// valid ring-3 selector (user data | 3) on every CPU, as the IRETQ of a later interrupt from
// ring 3 requires (SS.RPL must equal the new CPL).
constexpr u64 star(u16 kernel_cs, u16 sysret_base) {
  return (u64{static_cast<u16>(sysret_base | 3)} << 48) | (u64{kernel_cs} << 32);
}

// RFLAGS bits.
namespace rflags {
inline constexpr u64 kCf = bit(0), kTf = bit(8), kIf = bit(9), kDf = bit(10), kNt = bit(14),
                     kAc = bit(18), kId = bit(21), kFixed1 = bit(1);
}

}  // namespace ptb::x86
