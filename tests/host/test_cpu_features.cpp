// decode_cpu (arch/x86/cpu_features.h) against CPUID tables written by hand from the SDM Vol.2A
// CPUID reference (Tables 3-8..3-12 and the leaf descriptions) and the AMD APM Vol.3 Appendix E.
// The values are synthetic but shaped like the named parts; each bit the test relies on is
// commented. Leaves a table does not list return all-ones, so a read beyond what the CPU reports
// shows up as a wrong feature; every read is also recorded.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "arch/x86/cpu_features.h"

namespace ptb::x86 {
namespace {

struct FakeCpu {
  std::map<u32, CpuidResult> leaves;  // subleaf 0 only: that is all decode_cpu asks for
  CpuidResult unknown{0xffff'ffff, 0xffff'ffff, 0xffff'ffff, 0xffff'ffff};
  std::vector<std::pair<u32, u32>> calls;

  bool read(u32 leaf) const {
    for (auto [l, s] : calls)
      if (l == leaf) return true;
    return false;
  }
};

FakeCpu* g_cpu = nullptr;

CpuidResult fake_cpuid(u32 leaf, u32 subleaf) {
  g_cpu->calls.emplace_back(leaf, subleaf);
  auto it = g_cpu->leaves.find(leaf);
  return it == g_cpu->leaves.end() ? g_cpu->unknown : it->second;
}

CpuInfo decode(FakeCpu& cpu) {
  g_cpu = &cpu;
  CpuInfo info = decode_cpu(fake_cpuid);
  g_cpu = nullptr;
  return info;
}

// Four ASCII bytes as CPUID returns them in one register: first character in bits 7:0.
u32 str4(const char* s) {
  u32 v = 0;
  for (int i = 0; i < 4; ++i) v |= u32{static_cast<u8>(s[i])} << (8 * i);
  return v;
}

// CPUID.80000002H..80000004H: the 48-byte brand string, EAX, EBX, ECX, EDX of each leaf in turn,
// NUL-padded (SDM Vol.2A CPUID, "The Processor Brand String Method").
void set_brand(FakeCpu& cpu, const std::string& brand) {
  char b[48] = {};
  std::memcpy(b, brand.data(), std::min<usize>(brand.size(), 48));
  for (u32 i = 0; i < 3; ++i)
    cpu.leaves[0x8000'0002 + i] = {str4(b + 16 * i), str4(b + 16 * i + 4), str4(b + 16 * i + 8),
                                   str4(b + 16 * i + 12)};
}

u32 bits(std::initializer_list<unsigned> list) {
  u32 v = 0;
  for (unsigned b : list) v |= u32{1} << b;
  return v;
}

// SDM Vol.2A CPUID leaf 0: "EBX 756e6547h "Genu", EDX 49656e69h "ineI", ECX 6c65746eh "ntel"".
constexpr u32 kGenu = 0x756e'6547, kIneI = 0x4965'6e69, kNtel = 0x6c65'746e;
// AMD APM Vol.3 E.3.1 (Fn0000_0000): EBX 6874_7541h, EDX 6974_6E65h, ECX 444D_4163h.
constexpr u32 kAuth = 0x6874'7541, kEnti = 0x6974'6e65, kCAMD = 0x444d'4163;

// Haswell, family 6 model 3CH stepping 3 (SDM Vol.4 Table 2-1 lists 06_3CH as Haswell).
FakeCpu haswell() {
  FakeCpu c;
  c.leaves[0] = {0xd, kGenu, kNtel, kIneI};
  // EAX: stepping 3:0 = 3, model 7:4 = 0xC, family 11:8 = 6, extended model 19:16 = 3.
  // ECX: PCID (17); EDX: TSC (4), PGE (13).
  c.leaves[1] = {0x0003'06c3, 0x0010'0800, bits({0, 1, 9, 12, 13, 17, 19, 20, 23, 26, 27, 28}),
                 bits({0, 4, 5, 6, 8, 9, 13, 15, 19, 23, 24, 25, 26})};
  // Leaf 7 EBX: FSGSBASE (0), SMEP (7), INVPCID (10); no SMAP (20); ECX: no LA57 (16).
  c.leaves[7] = {0, bits({0, 1, 3, 5, 7, 8, 9, 10, 13}), 0, 0};
  c.leaves[0xa] = {0x0730'0403, 0, 0, 0x603};  // architectural PMU version 3 in EAX[7:0]
  c.leaves[0xd] = {0x7, 0x340, 0x340, 0};
  c.leaves[0x8000'0000] = {0x8000'0008, 0, 0, 0};
  // EDX: SYSCALL (11), NX (20), 1-GByte pages (26), RDTSCP (27), LM (29).
  c.leaves[0x8000'0001] = {0, 0, bits({0, 5, 8}), bits({11, 20, 26, 27, 29})};
  set_brand(c, "Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz");
  c.leaves[0x8000'0007] = {0, 0, 0, bits({8})};  // invariant TSC
  c.leaves[0x8000'0008] = {0x3027, 0, 0, 0};
  return c;
}

TEST(DecodeCpu, HaswellLike) {
  FakeCpu c = haswell();
  const CpuInfo i = decode(c);
  EXPECT_STREQ(i.vendor, "GenuineIntel");
  EXPECT_EQ(i.vendor_kind, Vendor::kIntel);
  EXPECT_EQ(i.family, 6u);
  EXPECT_EQ(i.model, 0x3cu);
  EXPECT_EQ(i.stepping, 3u);
  EXPECT_EQ(i.max_leaf, 0xdu);
  EXPECT_EQ(i.max_ext_leaf, 0x8000'0008u);
  EXPECT_STREQ(i.brand, "Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz");
  EXPECT_TRUE(i.has(Feature::kPcid));
  EXPECT_TRUE(i.has(Feature::kInvpcid));
  EXPECT_TRUE(i.has(Feature::kSmep));
  EXPECT_FALSE(i.has(Feature::kSmap));
  EXPECT_FALSE(i.has(Feature::kLa57));
  EXPECT_TRUE(i.has(Feature::kPge));
  EXPECT_TRUE(i.has(Feature::kTsc));
  EXPECT_TRUE(i.has(Feature::kFsgsbase));
  EXPECT_TRUE(i.has(Feature::kNx));
  EXPECT_TRUE(i.has(Feature::kSyscall));
  EXPECT_TRUE(i.has(Feature::kRdtscp));
  EXPECT_TRUE(i.has(Feature::kPdpe1gb));
  EXPECT_TRUE(i.has(Feature::kInvariantTsc));
  EXPECT_FALSE(i.has(Feature::kHypervisor));
  EXPECT_EQ(i.pmu_version, 3u);
  // Leaf 15H is beyond max_leaf 0DH: no TSC frequency from CPUID, and the leaves not read.
  EXPECT_EQ(i.tsc_hz_leaf15, 0u);
  EXPECT_EQ(i.base_hz_leaf16, 0u);
  EXPECT_FALSE(c.read(0x15));
  EXPECT_FALSE(c.read(0x16));
  EXPECT_FALSE(c.read(0x4000'0000));  // no hypervisor bit: the hypervisor range is not probed
  EXPECT_STREQ(i.hypervisor_vendor, "");
}

TEST(DecodeCpu, EachFeatureComesFromItsOwnBit) {
  // Clear one documented bit at a time in the Haswell table: exactly that feature disappears.
  struct Case {
    Feature f;
    u32 leaf;
    int reg;  // 0 EAX, 1 EBX, 2 ECX, 3 EDX
    unsigned bit;
  };
  const Case cases[] = {
      {Feature::kPcid, 1, 2, 17},
      {Feature::kPge, 1, 3, 13},
      {Feature::kTsc, 1, 3, 4},
      {Feature::kFsgsbase, 7, 1, 0},
      {Feature::kSmep, 7, 1, 7},
      {Feature::kInvpcid, 7, 1, 10},
      {Feature::kSyscall, 0x8000'0001, 3, 11},
      {Feature::kNx, 0x8000'0001, 3, 20},
      {Feature::kPdpe1gb, 0x8000'0001, 3, 26},
      {Feature::kRdtscp, 0x8000'0001, 3, 27},
      {Feature::kInvariantTsc, 0x8000'0007, 3, 8},
  };
  FakeCpu reference = haswell();
  const CpuInfo base = decode(reference);
  for (const Case& k : cases) {
    SCOPED_TRACE(feature_info(k.f).name);
    FakeCpu c = haswell();
    u32* regs[4] = {&c.leaves[k.leaf].eax, &c.leaves[k.leaf].ebx, &c.leaves[k.leaf].ecx,
                    &c.leaves[k.leaf].edx};
    ASSERT_TRUE(*regs[k.reg] & (u32{1} << k.bit));
    *regs[k.reg] &= ~(u32{1} << k.bit);
    const CpuInfo i = decode(c);
    EXPECT_FALSE(i.has(k.f));
    EXPECT_EQ(i.features, base.features & ~(u64{1} << static_cast<u32>(k.f)));
  }
  // And the ones Haswell lacks appear from their bits alone.
  const Case absent[] = {{Feature::kSmap, 7, 1, 20},
                         {Feature::kLa57, 7, 2, 16},
                         {Feature::kHypervisor, 1, 2, 31},
                         {Feature::kInvlpgb, 0x8000'0008, 1, 3}};
  for (const Case& k : absent) {
    SCOPED_TRACE(feature_info(k.f).name);
    FakeCpu c = haswell();
    c.leaves[0x4000'0000] = {0x4000'0001, 0, 0, 0};
    u32* regs[4] = {&c.leaves[k.leaf].eax, &c.leaves[k.leaf].ebx, &c.leaves[k.leaf].ecx,
                    &c.leaves[k.leaf].edx};
    *regs[k.reg] |= u32{1} << k.bit;
    const CpuInfo i = decode(c);
    EXPECT_TRUE(i.has(k.f));
    EXPECT_EQ(i.features, base.features | (u64{1} << static_cast<u32>(k.f)));
  }
}

// Skylake client, family 6 model 5EH (SDM Vol.4 Table 2-1), with leaves 15H and 16H.
FakeCpu skylake() {
  FakeCpu c = haswell();
  c.leaves[0] = {0x16, kGenu, kNtel, kIneI};
  c.leaves[1].eax = 0x0005'06e3;               // stepping 3, model E, family 6, extended model 5
  c.leaves[7].ebx |= bits({18, 19, 20});       // RDSEED, ADX, SMAP
  c.leaves[0xa] = {0x0730'0804, 0, 0, 0x603};  // PMU version 4
  // SDM Vol.2A CPUID 15H: EAX = denominator, EBX = numerator of the TSC/crystal ratio, ECX =
  // crystal Hz; TSC Hz = ECX * EBX / EAX. 24 MHz * 250 / 2 = 3 GHz.
  c.leaves[0x15] = {2, 250, 24'000'000, 0};
  // CPUID 16H: EAX[15:0] base MHz, EBX[15:0] max MHz, ECX[15:0] bus MHz.
  c.leaves[0x16] = {3000, 4200, 100, 0};
  set_brand(c, "Intel(R) Core(TM) i7-6700K CPU @ 4.00GHz");
  return c;
}

TEST(DecodeCpu, SkylakeLikeWithTscLeaves) {
  FakeCpu c = skylake();
  const CpuInfo i = decode(c);
  EXPECT_EQ(i.family, 6u);
  EXPECT_EQ(i.model, 0x5eu);
  EXPECT_EQ(i.stepping, 3u);
  EXPECT_TRUE(i.has(Feature::kSmap));
  EXPECT_TRUE(i.has(Feature::kSmep));
  EXPECT_TRUE(i.has(Feature::kInvpcid));
  EXPECT_EQ(i.pmu_version, 4u);
  EXPECT_EQ(i.tsc_hz_leaf15, 3'000'000'000u);
  EXPECT_EQ(i.base_hz_leaf16, 3'000'000'000u);
  EXPECT_STREQ(i.brand, "Intel(R) Core(TM) i7-6700K CPU @ 4.00GHz");
}

TEST(DecodeCpu, Leaf15WithoutCrystalFrequencyGivesNoTscHz) {
  // SDM Vol.2A CPUID 15H: "If ECX is 0, the nominal core crystal clock frequency is not
  // enumerated"; "If EBX[31:0] is 0, the TSC/core crystal clock ratio is not enumerated". Client
  // Skylake parts report ECX = 0.
  for (CpuidResult l15 : {CpuidResult{2, 0x11c, 0, 0}, CpuidResult{2, 0, 24'000'000, 0},
                          CpuidResult{0, 250, 24'000'000, 0}}) {
    FakeCpu c = skylake();
    c.leaves[0x15] = l15;
    EXPECT_EQ(decode(c).tsc_hz_leaf15, 0u);
  }
}

TEST(DecodeCpu, Leaf15LargeValuesDoNotOverflow) {
  // 38.4 MHz crystal (Tiger Lake style) and a large ratio: the product exceeds 32 bits.
  FakeCpu c = skylake();
  c.leaves[0x15] = {1, 0xffff'ffff, 38'400'000, 0};
  EXPECT_EQ(decode(c).tsc_hz_leaf15, u64{38'400'000} * 0xffff'ffffu);
  c.leaves[0x15] = {3, 325, 38'400'000, 0};
  EXPECT_EQ(decode(c).tsc_hz_leaf15, u64{38'400'000} * 325 / 3);
}

TEST(DecodeCpu, Leaf16UsesOnlyBits15To0) {
  FakeCpu c = skylake();
  c.leaves[0x16] = {0xabcd'0fa0, 0, 0, 0};  // bits 31:16 reserved
  EXPECT_EQ(decode(c).base_hz_leaf16, 4000u * 1'000'000u);
}

// AMD family 17h (Zen 2) via the extended family: AMD APM Vol.3 E.3.2 (Fn0000_0001_EAX):
// Family = BaseFamily + ExtFamily and Model = {ExtModel, BaseModel} when BaseFamily = Fh.
FakeCpu zen2() {
  FakeCpu c;
  c.leaves[0] = {0x10, kAuth, kCAMD, kEnti};
  // EAX 0x00870F10: stepping 0, base model 1, base family F, ext model 7, ext family 8.
  // ECX: PCID (17) set for this scenario; EDX: TSC, PGE.
  c.leaves[1] = {0x0087'0f10, 0, bits({0, 9, 12, 13, 17, 19, 20, 23, 25, 26, 27, 28}),
                 bits({0, 4, 5, 6, 8, 9, 13, 15, 19, 23, 24, 25, 26})};
  // Leaf 7 EBX: FSGSBASE, SMEP, INVPCID (Zen 2 added INVPCID), SMAP.
  c.leaves[7] = {0, bits({0, 3, 5, 7, 8, 10, 18, 19, 20}), 0, 0};
  c.leaves[0xa] = {0x0730'0403, 0, 0, 0};  // AMD has no leaf 0AH; must be ignored anyway
  c.leaves[0x8000'0000] = {0x8000'001f, kAuth, kCAMD, kEnti};
  c.leaves[0x8000'0001] = {0x0087'0f10, 0, bits({0, 1, 5, 6}), bits({11, 20, 26, 27, 29})};
  // AMD pads the brand string with trailing spaces.
  set_brand(c, "AMD Ryzen 7 3700X 8-Core Processor             ");
  c.leaves[0x8000'0007] = {0, 0, 0, bits({8, 9})};
  c.leaves[0x8000'0008] = {0x3030, bits({0, 9}), 0x400f, 0};  // EBX[3] clear: no INVLPGB (Zen 3 on)
  return c;
}

TEST(DecodeCpu, AmdZenFamilyFromExtendedFamily) {
  FakeCpu c = zen2();
  const CpuInfo i = decode(c);
  EXPECT_STREQ(i.vendor, "AuthenticAMD");
  EXPECT_EQ(i.vendor_kind, Vendor::kAmd);
  EXPECT_EQ(i.family, 0x17u);
  EXPECT_EQ(i.model, 0x71u);
  EXPECT_EQ(i.stepping, 0u);
  EXPECT_TRUE(i.has(Feature::kPcid));
  EXPECT_TRUE(i.has(Feature::kInvpcid));
  EXPECT_TRUE(i.has(Feature::kSmap));
  EXPECT_TRUE(i.has(Feature::kInvariantTsc));
  EXPECT_TRUE(i.has(Feature::kNx));
  EXPECT_STREQ(i.brand, "AMD Ryzen 7 3700X 8-Core Processor");  // trailing spaces trimmed
  // docs/output-format.md: pmu_version is always 0 on AMD.
  EXPECT_EQ(i.pmu_version, 0u);
  EXPECT_FALSE(c.read(0xa));
  EXPECT_EQ(i.tsc_hz_leaf15, 0u);
}

// AMD APM Vol.3 Appendix E, Fn8000_0008: EBX[3] INVLPGB and TLBSYNC; EDX[15:0] the largest
// page count INVLPGB takes after the first (Linux: invlpgb_count_max = EDX[15:0] + 1).
TEST(DecodeCpu, InvlpgbAndItsPageCountFromLeaf80000008) {
  FakeCpu c = zen2();
  c.leaves[0x8000'0008] = {0x3030, bits({0, 3, 9}), 0x400f, 0xffff'0007};  // EDX[31:16] not ours
  CpuInfo i = decode(c);
  EXPECT_TRUE(i.has(Feature::kInvlpgb));
  EXPECT_EQ(i.invlpgb_max_pages, 8u);
  c.leaves[0x8000'0008].ebx &= ~bits({3});  // Zen 2 and Intel: no INVLPGB, no count
  i = decode(c);
  EXPECT_FALSE(i.has(Feature::kInvlpgb));
  EXPECT_EQ(i.invlpgb_max_pages, 0u);
  c.leaves[0x8000'0008].ebx |= bits({3});
  c.leaves[0x8000'0000].eax = 0x8000'0007;  // the leaf is beyond the maximum: not read
  i = decode(c);
  EXPECT_FALSE(i.has(Feature::kInvlpgb));
  EXPECT_EQ(i.invlpgb_max_pages, 0u);
}

TEST(DecodeCpu, AmdZen1WithoutInvpcid) {
  FakeCpu c = zen2();
  c.leaves[1].eax = 0x0080'0f11;  // family 17h model 01h stepping 1 (Zen 1)
  c.leaves[7].ebx &= ~bits({10});
  c.leaves[1].ecx &= ~bits({17});
  const CpuInfo i = decode(c);
  EXPECT_EQ(i.family, 0x17u);
  EXPECT_EQ(i.model, 0x01u);
  EXPECT_EQ(i.stepping, 1u);
  EXPECT_FALSE(i.has(Feature::kInvpcid));
  EXPECT_FALSE(i.has(Feature::kPcid));
}

TEST(DecodeCpu, DisplayFamilyAndModelRules) {
  // SDM Vol.2A CPUID 01H, "DisplayFamily/DisplayModel": ExtendedFamily is added only when Family
  // is 0FH; ExtendedModel is prepended only when Family is 06H or 0FH.
  struct Case {
    u32 eax, family, model, stepping;
  };
  const Case cases[] = {
      {0x0000'0f34, 0xf, 0x3, 4},       // Pentium 4 Prescott: family F, ext family 0
      {0x0006'0fb1, 0xf, 0x6b, 1},      // QEMU qemu64: family 15, model 107
      {0x00a2'0f10, 0x19, 0x21, 0},     // Zen 3: family 19h (F + A), model 21h
      {0x0009'06ea, 6, 0x9e, 0xa},      // Coffee Lake 06_9EH
      {0x0005'0654, 6, 0x55, 4},        // Skylake-SP 06_55H
      {0x0001'0543, 5, 0x4, 3},         // family 5: extended model ignored
      {0x0ff0'0543, 5, 0x4, 3},         // family 5: extended family ignored
      {0x0ff0'0f00, 0xf + 0xff, 0, 0},  // largest extended family
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.eax);
    FakeCpu c = haswell();
    c.leaves[1].eax = k.eax;
    const CpuInfo i = decode(c);
    EXPECT_EQ(i.family, k.family);
    EXPECT_EQ(i.model, k.model);
    EXPECT_EQ(i.stepping, k.stepping);
  }
}

// QEMU TCG (qemu64): AuthenticAMD, the hypervisor bit (CPUID.01H:ECX[31]) and the signature
// "TCGTCGTCGTCG" in EBX, ECX, EDX of leaf 40000000H.
FakeCpu qemu_tcg() {
  FakeCpu c;
  c.unknown = {0, 0, 0, 0};
  c.leaves[0] = {0xd, kAuth, kCAMD, kEnti};
  c.leaves[1] = {0x0006'0fb1, 0, bits({0, 13, 23, 31}), bits({0, 4, 5, 6, 8, 13, 15, 24, 25, 26})};
  c.leaves[0x4000'0000] = {0x4000'0001, str4("TCGT"), str4("CGTC"), str4("GTCG")};
  c.leaves[0x8000'0000] = {0x8000'000a, 0, 0, 0};
  c.leaves[0x8000'0001] = {0, 0, 0, bits({11, 20, 29})};
  set_brand(c, "QEMU Virtual CPU version 2.5+");
  return c;
}

TEST(DecodeCpu, QemuTcgReportsHypervisor) {
  FakeCpu c = qemu_tcg();
  const CpuInfo i = decode(c);
  EXPECT_TRUE(i.has(Feature::kHypervisor));
  EXPECT_STREQ(i.hypervisor_vendor, "TCGTCGTCGTCG");
  EXPECT_STREQ(i.vendor, "AuthenticAMD");
  EXPECT_STREQ(i.brand, "QEMU Virtual CPU version 2.5+");
  EXPECT_EQ(i.family, 15u);
  EXPECT_EQ(i.model, 107u);
  EXPECT_EQ(i.stepping, 1u);
  EXPECT_FALSE(i.has(Feature::kPcid));
  EXPECT_FALSE(i.has(Feature::kInvpcid));
  EXPECT_FALSE(i.has(Feature::kInvariantTsc));
  EXPECT_TRUE(i.has(Feature::kNx));
  EXPECT_TRUE(c.read(0x4000'0000));
}

TEST(DecodeCpu, KvmSignatureShorterThan12Bytes) {
  FakeCpu c = qemu_tcg();
  // Linux KVM: "KVMKVMKVM\0\0\0".
  c.leaves[0x4000'0000] = {0x4000'0001, str4("KVMK"), str4("VMKV"), str4("M\0\0\0")};
  EXPECT_STREQ(decode(c).hypervisor_vendor, "KVMKVMKVM");
}

TEST(DecodeCpu, MaxLeafBelow7ReadsNoLeaf7) {
  // A Pentium 4 Prescott-like CPU: max basic leaf 5. The fake answers every unlisted leaf with
  // all ones, so reading leaf 7 anyway would switch on SMEP, SMAP, INVPCID, LA57, FSGSBASE.
  FakeCpu c;
  c.leaves[0] = {5, kGenu, kNtel, kIneI};
  c.leaves[1] = {0x0000'0f34, 0, bits({0, 3}), bits({0, 4, 5, 6, 8, 13, 15, 23, 25, 26})};
  c.leaves[0x8000'0000] = {0x8000'0008, 0, 0, 0};
  c.leaves[0x8000'0001] = {0, 0, 0, bits({11, 20, 29})};
  set_brand(c, "              Intel(R) Pentium(R) 4 CPU 3.00GHz");
  c.leaves[0x8000'0007] = {0, 0, 0, 0};
  c.leaves[0x8000'0008] = {0x3024, 0, 0, 0};
  const CpuInfo i = decode(c);
  EXPECT_FALSE(c.read(7));
  EXPECT_FALSE(c.read(0xa));
  EXPECT_FALSE(c.read(0x15));
  EXPECT_FALSE(c.read(0x16));
  EXPECT_FALSE(i.has(Feature::kSmep));
  EXPECT_FALSE(i.has(Feature::kSmap));
  EXPECT_FALSE(i.has(Feature::kInvpcid));
  EXPECT_FALSE(i.has(Feature::kLa57));
  EXPECT_FALSE(i.has(Feature::kFsgsbase));
  EXPECT_EQ(i.pmu_version, 0u);
  EXPECT_TRUE(i.has(Feature::kPge));
  EXPECT_TRUE(i.has(Feature::kNx));
  EXPECT_EQ(i.family, 0xfu);
  EXPECT_EQ(i.model, 3u);
  // Older Intel brand strings are right-justified with leading spaces.
  EXPECT_STREQ(i.brand, "Intel(R) Pentium(R) 4 CPU 3.00GHz");
}

TEST(DecodeCpu, MaxLeafZeroReadsOnlyLeaf0AndTheExtendedRange) {
  FakeCpu c;
  c.leaves[0] = {0, kGenu, kNtel, kIneI};
  c.leaves[0x8000'0000] = {0, 0, 0, 0};
  const CpuInfo i = decode(c);
  EXPECT_FALSE(c.read(1));
  EXPECT_EQ(i.features, 0u);
  EXPECT_EQ(i.family, 0u);
  EXPECT_STREQ(i.vendor, "GenuineIntel");
}

TEST(DecodeCpu, AbsurdExtendedMaxLeafIsIgnored) {
  // An extended maximum outside 80000000H..80000FFFH is not a real one (Intel CPUs answer an
  // unsupported leaf with the highest basic leaf's data, SDM Vol.2A CPUID "INPUT EAX = 0"
  // note). The fake answers the extended leaves with all ones, so reading them would show.
  for (u32 bogus : {0xffff'ffffu, 0x8fff'ffffu, 0x8000'1000u, 0x0000'000du, 0x7fff'ffffu}) {
    SCOPED_TRACE(bogus);
    FakeCpu c = haswell();
    c.leaves.erase(0x8000'0001);
    c.leaves.erase(0x8000'0002);
    c.leaves.erase(0x8000'0003);
    c.leaves.erase(0x8000'0004);
    c.leaves.erase(0x8000'0007);
    c.leaves[0x8000'0000] = {bogus, 0, 0, 0};
    const CpuInfo i = decode(c);
    EXPECT_EQ(i.max_ext_leaf, 0u);
    EXPECT_FALSE(i.has(Feature::kNx));
    EXPECT_FALSE(i.has(Feature::kSyscall));
    EXPECT_FALSE(i.has(Feature::kRdtscp));
    EXPECT_FALSE(i.has(Feature::kInvariantTsc));
    EXPECT_STREQ(i.brand, "");
    for (auto [leaf, sub] : c.calls) EXPECT_FALSE(leaf > 0x8000'0000 && leaf < 0x9000'0000) << leaf;
  }
}

TEST(DecodeCpu, ExtendedMaxBelowBrandLeavesSkipsTheBrand) {
  FakeCpu c = haswell();
  c.leaves[0x8000'0000] = {0x8000'0001, 0, 0, 0};
  const CpuInfo i = decode(c);
  EXPECT_TRUE(i.has(Feature::kNx));
  EXPECT_STREQ(i.brand, "");
  EXPECT_FALSE(c.read(0x8000'0002));
  EXPECT_FALSE(i.has(Feature::kInvariantTsc));
  EXPECT_FALSE(c.read(0x8000'0007));
}

TEST(DecodeCpu, VendorIsSanitised) {
  FakeCpu c = haswell();
  c.leaves[0].ebx = str4("Ge\x01u");
  c.leaves[0].ecx = str4("nt\xffl");
  const CpuInfo i = decode(c);
  EXPECT_STREQ(i.vendor, "Ge?uineInt?l");
  for (const char* p = i.vendor; *p; ++p) EXPECT_TRUE(*p >= 0x20 && *p < 0x7f);
}

// Hygon's parts are AMD's Zen: AMD's manual, MSRs and counters apply, so the kind is AMD's.
TEST(DecodeCpu, HygonIsDecodedAsAmd) {
  FakeCpu c = zen2();
  c.leaves[0] = {0xd, str4("Hygo"), str4("uine"), str4("nGen")};
  const CpuInfo i = decode(c);
  EXPECT_STREQ(i.vendor, "HygonGenuine");
  EXPECT_EQ(i.vendor_kind, Vendor::kAmd);
}

TEST(DecodeCpu, UnknownVendorIsOther) {
  FakeCpu c = haswell();
  c.leaves[0] = {0xd, str4("Cent"), str4("auls"), str4("aurH")};
  const CpuInfo i = decode(c);
  EXPECT_STREQ(i.vendor, "CentaurHauls");
  EXPECT_EQ(i.vendor_kind, Vendor::kOther);
}

TEST(DecodeCpu, BrandIsSanitisedAndTrimmed) {
  FakeCpu c = haswell();
  set_brand(c, "   Fancy\tCPU\x7f \x80\xe9 9000   ");
  EXPECT_STREQ(decode(c).brand, "Fancy?CPU? ?? 9000");
}

TEST(DecodeCpu, BrandOfFull48BytesWithoutNulIsTerminated) {
  FakeCpu c = haswell();
  const std::string full(48, 'x');
  set_brand(c, full);
  const CpuInfo i = decode(c);
  EXPECT_EQ(std::string(i.brand), full);
  EXPECT_EQ(i.brand[48], '\0');
}

TEST(DecodeCpu, HypervisorSignatureIsSanitised) {
  FakeCpu c = qemu_tcg();
  c.leaves[0x4000'0000] = {0x4000'0001, str4("  \x02V"), str4("MwaR"), str4("e\xff\0\0")};
  EXPECT_STREQ(decode(c).hypervisor_vendor, "?VMwaRe?");
}

TEST(FeatureInfo, NamesAndCpuidBitsMatchTheSdm) {
  struct Want {
    Feature f;
    const char* name;
    const char* bit;
  };
  // Names as in docs/output-format.md's env record; bits from SDM Vol.2A CPUID / APM Vol.3.
  const Want want[] = {
      {Feature::kPcid, "pcid", "CPUID.01H:ECX[17]"},
      {Feature::kInvpcid, "invpcid", "CPUID.07H:EBX[10]"},
      {Feature::kPge, "pge", "CPUID.01H:EDX[13]"},
      {Feature::kSmep, "smep", "CPUID.07H:EBX[7]"},
      {Feature::kSmap, "smap", "CPUID.07H:EBX[20]"},
      {Feature::kLa57, "la57", "CPUID.07H:ECX[16]"},
      {Feature::kNx, "nx", "CPUID.80000001H:EDX[20]"},
      {Feature::kRdtscp, "rdtscp", "CPUID.80000001H:EDX[27]"},
      {Feature::kInvariantTsc, "invariant_tsc", "CPUID.80000007H:EDX[8]"},
      {Feature::kPdpe1gb, "pdpe1gb", "CPUID.80000001H:EDX[26]"},
      {Feature::kHypervisor, "hypervisor", "CPUID.01H:ECX[31]"},
      {Feature::kSyscall, "syscall", "CPUID.80000001H:EDX[11]"},
      {Feature::kTsc, "tsc", "CPUID.01H:EDX[4]"},
      {Feature::kFsgsbase, "fsgsbase", "CPUID.07H:EBX[0]"},
      {Feature::kMce, "mce", "CPUID.01H:EDX[7]"},
      {Feature::kMca, "mca", "CPUID.01H:EDX[14]"},
      {Feature::kPat, "pat", "CPUID.01H:EDX[16]"},
      {Feature::kInvlpgb, "invlpgb", "CPUID.80000008H:EBX[3]"},
  };
  ASSERT_EQ(std::size(want), static_cast<usize>(Feature::kCount));
  for (const Want& w : want) {
    EXPECT_STREQ(feature_info(w.f).name, w.name);
    EXPECT_STREQ(feature_info(w.f).cpuid_bit, w.bit);
  }
}

}  // namespace
}  // namespace ptb::x86
