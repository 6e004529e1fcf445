// Control-register, MSR and PCID layouts (arch/x86/regs.h) against the manuals. Every expected
// value below is written from the SDM/APM text cited next to it, not from the code's output.
#include <gtest/gtest.h>

#include <random>

#include "arch/x86/descriptors.h"
#include "arch/x86/regs.h"

namespace ptb::x86 {
namespace {

// SDM Vol.3 4.5, Table 4-13 (CR3 with CR4.PCIDE = 1): bits 11:0 PCID, bits M-1:12 the PML4
// table's physical address (M = MAXPHYADDR, at most 52), bits 62:M reserved.
constexpr u64 kSdmCr3Address = 0x000f'ffff'ffff'f000;

TEST(Cr3, NoflushIsBit63) {
  // SDM Vol.3 4.10.4.1: "If CR4.PCIDE = 1 and bit 63 of the instruction's source operand is 1,
  // the instruction is not required to invalidate any TLB entries".
  EXPECT_EQ(Cr3::kNoflush, u64{1} << 63);
  EXPECT_EQ(Cr3{}.with_noflush(true).raw, 0x8000'0000'0000'0000u);
  EXPECT_TRUE(Cr3{0x8000'0000'0000'0000}.noflush());
  EXPECT_FALSE(Cr3{0x7fff'ffff'ffff'ffff}.noflush());
}

TEST(Cr3, AddressMaskCoversBits51To12) {
  EXPECT_EQ(Cr3::kAddrMask, kSdmCr3Address);
  EXPECT_EQ(Cr3::root(0x1234'5000).raw, 0x1234'5000u);
  // Low 12 bits of a table address can't be part of it (tables are 4 KiB aligned) and bits
  // 63:52 are never address bits.
  EXPECT_EQ(Cr3::root(0x1234'5fff).raw, 0x1234'5000u);
  EXPECT_EQ(Cr3::root(0xfff0'0000'0000'1000).raw, 0x1000u);
  EXPECT_EQ(Cr3::root(~u64{0}).table(), kSdmCr3Address);
  EXPECT_EQ(Cr3{0x8000'0000'0012'3801}.table(), 0x12'3000u);
}

TEST(Cr3, PcidIsBits11To0) {
  EXPECT_EQ(Cr3{0x12'3abc}.pcid(), Pcid{0xabc});
  EXPECT_EQ(Cr3{0x8000'0000'0012'3fff}.pcid(), Pcid{0xfff});
  EXPECT_EQ(Cr3::root(0x5000).with_pcid(Pcid{0x7ff}).raw, 0x57ffu);
  EXPECT_EQ(Cr3::root(0x5000).with_pcid(Pcid{0xfff}).raw, 0x5fffu);
}

TEST(Cr3, WithPcidReplacesRatherThanOrs) {
  const Cr3 a = Cr3::root(0xabc'd000).with_pcid(Pcid{0x0f0});
  const Cr3 b = a.with_pcid(Pcid{0x00f});
  EXPECT_EQ(b.pcid(), Pcid{0x00f});  // OR would give 0x0ff
  EXPECT_EQ(b.raw, 0xabc'd00fu);
  EXPECT_EQ(b.with_pcid(Pcid{0}).raw, 0xabc'd000u);
}

TEST(Cr3, WithPcidKeepsAddressAndNoflush) {
  const Cr3 c = Cr3::root(0x00ff'ffff'f000).with_noflush(true).with_pcid(Pcid{0x123});
  EXPECT_EQ(c.table(), 0x00ff'ffff'f000u);
  EXPECT_TRUE(c.noflush());
  EXPECT_EQ(c.pcid(), Pcid{0x123});
}

TEST(Cr3, WithPcidNeverSpillsOutOfBits11To0) {
  // A Pcid above 12 bits is invalid; it must not corrupt the table address.
  const Pcid too_big{0x1001};
  EXPECT_FALSE(too_big.valid());
  const Cr3 c = Cr3::root(0x4000).with_pcid(too_big);
  EXPECT_EQ(c.table(), 0x4000u);
  EXPECT_EQ(c.pcid(), Pcid{0x001});
}

TEST(Cr3, WithNoflushFalseClearsOnlyBit63) {
  const Cr3 c{0x8000'0000'0012'3801};
  EXPECT_EQ(c.with_noflush(false).raw, 0x12'3801u);
  EXPECT_EQ(c.with_noflush(true).raw, c.raw);
}

// Linux arch/x86/entry/calling.h: SWITCH_TO_USER_CR3 sets PTI_USER_PGTABLE_MASK (bit 12,
// PAGE_SHIFT) and PTI_USER_PCID_MASK (bit 11, X86_CR3_PTI_PCID_USER_BIT); SWITCH_TO_KERNEL_CR3
// clears both.
TEST(Cr3, UserHalfSetsBit12AndBit11) {
  EXPECT_EQ(kUserPgdOffset, u64{1} << 12);
  EXPECT_EQ(kUserPcidBit, 1u << 11);
  const Cr3 k = Cr3::root(0x20'0000).with_pcid(Pcid{1});
  EXPECT_EQ(k.user_half().raw, 0x20'0000u + 0x1000 + 0x800 + 1);
  EXPECT_EQ(k.user_half().table(), 0x20'1000u);
  EXPECT_EQ(k.user_half().pcid(), Pcid{0x801});
}

TEST(Cr3, KernelHalfClearsBit12AndBit11Only) {
  const Cr3 u{0x8000'0000'0020'1805};
  EXPECT_EQ(u.kernel_half().raw, 0x8000'0000'0020'0005u);
  EXPECT_TRUE(u.kernel_half().noflush());
}

TEST(Cr3, HalvesAreIdempotent) {
  const Cr3 k = Cr3::root(0x1'2345'6000).with_pcid(Pcid{6});
  EXPECT_EQ(k.kernel_half(), k);
  EXPECT_EQ(k.user_half().user_half(), k.user_half());
  EXPECT_EQ(k.user_half().kernel_half().kernel_half(), k);
}

TEST(Cr3, HalvesRoundTripForEveryPcidAndRandomTables) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 2000; ++i) {
    // An 8 KiB-aligned pair (kernel PGD at the even page), as PTI allocates it.
    const u64 table = (rng() & kSdmCr3Address) & ~u64{0x1fff};
    const u16 pcid = static_cast<u16>(rng() % 0x800);  // kernel PCIDs have bit 11 clear
    const bool noflush = rng() & 1;
    const Cr3 k = Cr3::root(table).with_pcid(Pcid{pcid}).with_noflush(noflush);
    const Cr3 u = k.user_half();
    EXPECT_EQ(u.table(), table + 0x1000);
    EXPECT_EQ(u.pcid().value, pcid | 0x800);
    EXPECT_EQ(u.noflush(), noflush);
    EXPECT_EQ(u.kernel_half(), k);
  }
}

TEST(Pcid, ValidMeansTwelveBits) {
  EXPECT_EQ(Pcid::kMask, 0xfff);
  EXPECT_TRUE(Pcid{0}.valid());
  EXPECT_TRUE(Pcid{4095}.valid());
  EXPECT_FALSE(Pcid{4096}.valid());
}

// Linux arch/x86/mm/tlb.c: TLB_NR_DYN_ASIDS = 6; kern_pcid(asid) = asid + 1 (PCID 0 is left for
// code that does not know about PCIDs); user_pcid(asid) = kern_pcid(asid) | (1 << 11).
TEST(Pcid, KernelPcidIsAsidPlusOneForAllSixDynamicAsids) {
  const u16 expected_kernel[6] = {1, 2, 3, 4, 5, 6};
  const u16 expected_user[6] = {0x801, 0x802, 0x803, 0x804, 0x805, 0x806};
  for (u16 asid = 0; asid < 6; ++asid) {
    SCOPED_TRACE(asid);
    EXPECT_EQ(kernel_pcid(Asid{asid}).value, expected_kernel[asid]);
    EXPECT_EQ(user_pcid(Asid{asid}).value, expected_user[asid]);
    EXPECT_TRUE(user_pcid(Asid{asid}).valid());
    EXPECT_NE(kernel_pcid(Asid{asid}).value, 0);  // PCID 0 is never a dynamic kernel PCID
  }
}

TEST(Pcid, UserPcidOfAsidMatchesUserHalfOfKernelCr3) {
  for (u16 asid = 0; asid < 6; ++asid) {
    const Cr3 k = Cr3::root(0x40'0000).with_pcid(kernel_pcid(Asid{asid}));
    EXPECT_EQ(k.user_half().pcid(), user_pcid(Asid{asid}));
    EXPECT_EQ(k.user_half().kernel_half().pcid(), kernel_pcid(Asid{asid}));
  }
}

TEST(Pcid, KernelAndUserPcidsOfDifferentAsidsNeverCollide) {
  for (u16 a = 0; a < 6; ++a)
    for (u16 b = 0; b < 6; ++b) {
      EXPECT_NE(kernel_pcid(Asid{a}), user_pcid(Asid{b}));
      if (a != b) {
        EXPECT_NE(kernel_pcid(Asid{a}), kernel_pcid(Asid{b}));
      }
    }
}

// SDM Vol.3 2.5, Figure 2-7 and the CR4 bit list.
TEST(Cr4, BitPositions) {
  EXPECT_EQ(Cr4::kPae, u64{1} << 5);
  EXPECT_EQ(Cr4::kPge, u64{1} << 7);
  EXPECT_EQ(Cr4::kPce, u64{1} << 8);
  EXPECT_EQ(Cr4::kOsfxsr, u64{1} << 9);
  EXPECT_EQ(Cr4::kOsxmmexcpt, u64{1} << 10);
  EXPECT_EQ(Cr4::kLa57, u64{1} << 12);
  EXPECT_EQ(Cr4::kFsgsbase, u64{1} << 16);
  EXPECT_EQ(Cr4::kPcide, u64{1} << 17);
  EXPECT_EQ(Cr4::kSmep, u64{1} << 20);
  EXPECT_EQ(Cr4::kSmap, u64{1} << 21);
}

TEST(Cr4, WithSetsAndClearsOneBitLeavingOthers) {
  const Cr4 c{0x3006a0};  // PAE|PGE|OSFXSR|OSXMMEXCPT|SMEP|SMAP, from the fault example
  EXPECT_TRUE(c.has(Cr4::kPge));
  EXPECT_FALSE(c.has(Cr4::kPcide));
  EXPECT_EQ(c.with(Cr4::kPcide, true).raw, 0x3206a0u);
  EXPECT_EQ(c.with(Cr4::kPge, false).raw, 0x300620u);
  EXPECT_EQ(c.with(Cr4::kPge, true).raw, c.raw);
  EXPECT_EQ(c.with(Cr4::kPcide, false).raw, c.raw);
}

// SDM Vol.3 2.5: CR0.
TEST(Cr0, BitPositions) {
  EXPECT_EQ(Cr0::kPe, u64{1} << 0);
  EXPECT_EQ(Cr0::kMp, u64{1} << 1);
  EXPECT_EQ(Cr0::kEm, u64{1} << 2);
  EXPECT_EQ(Cr0::kTs, u64{1} << 3);
  EXPECT_EQ(Cr0::kNe, u64{1} << 5);
  EXPECT_EQ(Cr0::kWp, u64{1} << 16);
  EXPECT_EQ(Cr0::kPg, u64{1} << 31);
}

// SDM Vol.3 2.2.1, Table 2-1 (IA32_EFER); AMD APM Vol.2 3.1.7.
TEST(Efer, BitPositions) {
  EXPECT_EQ(Efer::kSce, u64{1} << 0);
  EXPECT_EQ(Efer::kLme, u64{1} << 8);
  EXPECT_EQ(Efer::kLma, u64{1} << 10);
  EXPECT_EQ(Efer::kNxe, u64{1} << 11);
}

// SDM Vol.4 Table 2-2 (architectural MSRs); AMD APM Vol.2 Appendix A for DE_CFG.
TEST(Msr, Numbers) {
  EXPECT_EQ(msr::kEfer, 0xC0000080u);
  EXPECT_EQ(msr::kStar, 0xC0000081u);
  EXPECT_EQ(msr::kLstar, 0xC0000082u);
  EXPECT_EQ(msr::kFmask, 0xC0000084u);
  EXPECT_EQ(msr::kFsBase, 0xC0000100u);
  EXPECT_EQ(msr::kGsBase, 0xC0000101u);
  EXPECT_EQ(msr::kKernelGsBase, 0xC0000102u);
  EXPECT_EQ(msr::kAmdDeCfg, 0xC0011029u);
}

// SDM Vol.1 3.4.3, Figure 3-8 (EFLAGS).
TEST(Rflags, BitPositions) {
  EXPECT_EQ(rflags::kCf, u64{1} << 0);
  EXPECT_EQ(rflags::kFixed1, u64{1} << 1);
  EXPECT_EQ(rflags::kTf, u64{1} << 8);
  EXPECT_EQ(rflags::kIf, u64{1} << 9);
  EXPECT_EQ(rflags::kDf, u64{1} << 10);
  EXPECT_EQ(rflags::kNt, u64{1} << 14);
  EXPECT_EQ(rflags::kAc, u64{1} << 18);
  EXPECT_EQ(rflags::kId, u64{1} << 21);
}

TEST(Star, FieldsAreBits47To32And63To48AndTheSysretBaseHasRpl3) {
  EXPECT_EQ(star(0x1234, 0xabcc), 0xabcf'1234'0000'0000u);
  EXPECT_EQ(star(0x1234, 0xabcf), 0xabcf'1234'0000'0000u);  // already RPL 3: unchanged
  EXPECT_EQ(star(0, 0) & 0xffff'ffff, 0u);  // SYSCALL EIP (legacy) stays 0: LSTAR is used
}

// What SYSCALL and 64-bit SYSRET load from STAR, written from the instruction pages (SDM Vol.2
// SYSCALL, SYSRET; AMD APM Vol.3 SYSRET). Whether SYSRET forces SS.RPL to 3 differs between
// manuals and editions: both readings are modelled.
struct Loaded {
  u16 cs, ss;
};
Loaded syscall_loads(u64 star_value) {
  const u16 base = static_cast<u16>(star_value >> 32);
  return {static_cast<u16>(base & 0xfffc), static_cast<u16>(base + 8)};
}
Loaded sysret64_loads(u64 star_value, bool forces_ss_rpl3) {
  const u16 base = static_cast<u16>(star_value >> 48);
  const u16 ss = static_cast<u16>(base + 8);
  return {static_cast<u16>((base + 16) | 3), forces_ss_rpl3 ? static_cast<u16>(ss | 3) : ss};
}

TEST(Star, SysretLeavesValidRing3SelectorsWhicheverManualTheCpuFollows) {
  const u64 v = star(sel::kKernelCode, sel::kUserCode32);  // as init_syscall writes it
  for (bool forces : {true, false}) {
    SCOPED_TRACE(forces);
    const Loaded l = sysret64_loads(v, forces);
    EXPECT_EQ(l.cs, 0x2bu);  // GDT index 5 (64-bit user code), RPL 3
    EXPECT_EQ(l.ss, 0x23u);  // GDT index 4 (user data), RPL 3
    EXPECT_EQ(l.cs, sel::kUserCode | sel::kRpl3);
    EXPECT_EQ(l.ss, sel::kUserData | sel::kRpl3);
  }
}

TEST(Star, SyscallLoadsTheKernelSelectorsAndTheLegacyTargetIsUnused) {
  const u64 v = star(sel::kKernelCode, sel::kUserCode32);  // as init_syscall writes it
  const Loaded l = syscall_loads(v);
  EXPECT_EQ(l.cs, 0x08u);
  EXPECT_EQ(l.ss, 0x10u);
  EXPECT_EQ(v & 0xffff'ffff, 0u);  // STAR[31:0]: the 32-bit SYSCALL target, never used
  EXPECT_EQ(v, 0x001b'0008'0000'0000u);
}

}  // namespace
}  // namespace ptb::x86
