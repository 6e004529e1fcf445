// The known CR0/CR4/EFER values (arch/x86/cpu_state.h) against bit positions taken by hand from
// the SDM tables.
#include <gtest/gtest.h>

#include "arch/x86/cpu_state.h"

namespace ptb::x86 {
namespace {

CpuInfo cpu_with(std::initializer_list<Feature> fs) {
  CpuInfo c;
  for (Feature f : fs) c.features |= u64{1} << static_cast<u32>(f);
  return c;
}

CpuInfo cpu_with_everything() {
  CpuInfo c;
  c.features = ~u64{0};
  return c;
}

// SDM Vol.3 2.5, Figure 2-7: PE 0, MP 1, EM 2, TS 3, ET 4, NE 5, WP 16, AM 18, NW 29, CD 30, PG 31.
TEST(KnownCr0, IsExactlyPeMpEtNeWpPg) { EXPECT_EQ(kKernelCr0.raw, 0x8001'0033u); }

TEST(KnownCr0, SatisfiesTheArchitecturalRules) {
  const u64 v = kKernelCr0.raw;
  // SDM Vol.3 2.5: PG without PE, or NW without CD, makes MOV to CR0 raise #GP.
  EXPECT_TRUE(!(v & (u64{1} << 31)) || (v & 1));
  EXPECT_TRUE(!(v & (u64{1} << 29)) || (v & (u64{1} << 30)));
  // SSE usable without #NM: EM and TS clear (SDM Vol.3 13.1.3), caches on: CD clear.
  EXPECT_EQ(v & ((u64{1} << 2) | (u64{1} << 3) | (u64{1} << 30)), 0u);
  EXPECT_EQ(v >> 32, 0u);  // bits 63:32 reserved
}

// SDM Vol.3 2.5, Figure 2-7: MCE 6, PAE 5, PGE 7, OSFXSR 9, OSXMMEXCPT 10, SMEP 20, SMAP 21.
TEST(KnownCr4, BootValueIsPaeAndSseOnly) { EXPECT_EQ(kBootCr4.raw, 0x620u); }

TEST(KnownCr4, KernelValueAddsOnlyWhatTheCpuHas) {
  EXPECT_EQ(kernel_cr4(CpuInfo{}).raw, 0x620u);
  EXPECT_EQ(kernel_cr4(cpu_with({Feature::kPge})).raw, 0x6a0u);
  EXPECT_EQ(kernel_cr4(cpu_with({Feature::kSmep})).raw, 0x10'0620u);
  EXPECT_EQ(kernel_cr4(cpu_with({Feature::kPge, Feature::kSmep, Feature::kSmap})).raw, 0x30'06a0u);
  EXPECT_EQ(kernel_cr4(cpu_with({Feature::kMce})).raw, 0x660u);
}

TEST(KnownCr4, NothingElseEvenOnACpuWithEveryFeature) {
  // LA57 (bit 12), PCIDE (17), FSGSBASE (16), TSD (2) stay clear whatever CPUID says: the tables
  // have 4 levels, the benchmarks switch PCIDE themselves, ring 3 must be able to RDTSC.
  EXPECT_EQ(kernel_cr4(cpu_with_everything()).raw, 0x30'06e0u);
}

// SDM Vol.4 Table 2-2, IA32_EFER: SCE 0, LME 8, LMA 10, NXE 11; AMD APM Vol.2 3.1.7 adds SVME 12,
// LMSLE 13, FFXSR 14, TCE 15, none of which is set.
TEST(KnownEfer, BootAndKernelValues) {
  EXPECT_EQ(boot_efer(false).raw, 0x100u);
  EXPECT_EQ(boot_efer(true).raw, 0x900u);
  EXPECT_EQ(kernel_efer(false).raw, 0x501u);
  EXPECT_EQ(kernel_efer(true).raw, 0xd01u);
}

TEST(Lfence, IntelIsArchitecturalAmdNeedsCpuidOrDeCfgAndOthersAreUnknown) {
  EXPECT_EQ(lfence_ordering(Vendor::kIntel, false, false, false, 0), Lfence::kArchitectural);
  EXPECT_EQ(lfence_ordering(Vendor::kAmd, true, true, false, 0), Lfence::kCpuid);
  EXPECT_EQ(lfence_ordering(Vendor::kAmd, true, false, true, 0x2), Lfence::kDeCfg);
  // The write did not stick (a hypervisor ignoring it) or the MSR faulted: nobody knows.
  EXPECT_EQ(lfence_ordering(Vendor::kAmd, true, false, true, 0x0), Lfence::kUnknown);
  EXPECT_EQ(lfence_ordering(Vendor::kAmd, true, false, false, 0x2), Lfence::kUnknown);
  EXPECT_EQ(lfence_ordering(Vendor::kOther, false, false, true, 0x2), Lfence::kUnknown);
  EXPECT_STREQ(lfence_name(Lfence::kDeCfg), "de_cfg");
}

TEST(Lfence, DeCfgIsSetOnTheFamiliesLinuxSetsItOn) {
  EXPECT_FALSE(sets_de_cfg(true, 0x0f));
  EXPECT_TRUE(sets_de_cfg(true, 0x10));
  EXPECT_TRUE(sets_de_cfg(true, 0x17));
  EXPECT_TRUE(sets_de_cfg(true, 0x18));  // Hygon Dhyana
  EXPECT_FALSE(sets_de_cfg(true, 0x19));
  EXPECT_FALSE(sets_de_cfg(false, 0x17));
}

}  // namespace
}  // namespace ptb::x86
