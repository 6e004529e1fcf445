#include "arch/x86/cpu_features.h"

namespace ptb::x86 {
namespace {

constexpr FeatureInfo kFeatureInfo[] = {
    {"pcid", "CPUID.01H:ECX[17]"},
    {"invpcid", "CPUID.07H:EBX[10]"},
    {"pge", "CPUID.01H:EDX[13]"},
    {"smep", "CPUID.07H:EBX[7]"},
    {"smap", "CPUID.07H:EBX[20]"},
    {"la57", "CPUID.07H:ECX[16]"},
    {"nx", "CPUID.80000001H:EDX[20]"},
    {"rdtscp", "CPUID.80000001H:EDX[27]"},
    {"invariant_tsc", "CPUID.80000007H:EDX[8]"},
    {"pdpe1gb", "CPUID.80000001H:EDX[26]"},
    {"hypervisor", "CPUID.01H:ECX[31]"},
    {"syscall", "CPUID.80000001H:EDX[11]"},
    {"tsc", "CPUID.01H:EDX[4]"},
    {"fsgsbase", "CPUID.07H:EBX[0]"},
    {"mce", "CPUID.01H:EDX[7]"},
    {"mca", "CPUID.01H:EDX[14]"},
    {"pat", "CPUID.01H:EDX[16]"},
    {"invlpgb", "CPUID.80000008H:EBX[3]"},
};
static_assert(sizeof(kFeatureInfo) / sizeof(kFeatureInfo[0]) == static_cast<u32>(Feature::kCount));

void put_regs(char* dst, u32 a, u32 b, u32 c) {
  const u32 regs[3] = {a, b, c};
  for (int r = 0; r < 3; ++r) {
    for (int i = 0; i < 4; ++i) dst[r * 4 + i] = static_cast<char>((regs[r] >> (8 * i)) & 0xff);
  }
  dst[12] = '\0';
}

void set(CpuInfo& c, Feature f, bool on) {
  if (on) c.features |= u64{1} << static_cast<u32>(f);
}

bool bit(u32 v, unsigned n) { return (v >> n) & 1; }

// Printable ASCII only (the env record is ASCII); leading spaces trimmed.
void sanitize(char* s) {
  char* r = s;
  while (*r == ' ') ++r;
  char* w = s;
  for (; *r; ++r) *w++ = (*r >= 0x20 && *r < 0x7f) ? *r : '?';
  *w = '\0';
  while (w > s && w[-1] == ' ') *--w = '\0';
}

}  // namespace

const FeatureInfo& feature_info(Feature f) { return kFeatureInfo[static_cast<u32>(f)]; }

CpuInfo decode_cpu(CpuidFn cpuid) {
  CpuInfo c;
  CpuidResult l0 = cpuid(0, 0);
  c.max_leaf = l0.eax;
  put_regs(c.vendor, l0.ebx, l0.edx, l0.ecx);  // "GenuineIntel" is EBX, EDX, ECX
  sanitize(c.vendor);
  bool intel = c.vendor[0] == 'G' && c.vendor[7] == 'I';  // GenuineIntel
  // Hygon's parts are AMD's Zen under licence: AMD's manual, MSRs and PMU apply to them (Linux
  // runs them through its AMD paths too), so they are decoded as AMD's; `vendor` keeps the name.
  bool amd = (c.vendor[0] == 'A' && c.vendor[3] == 'h')      // AuthenticAMD
             || (c.vendor[0] == 'H' && c.vendor[5] == 'G');  // HygonGenuine
  c.vendor_kind = intel ? Vendor::kIntel : amd ? Vendor::kAmd : Vendor::kOther;

  if (c.max_leaf >= 1) {
    CpuidResult l1 = cpuid(1, 0);
    u32 base_family = (l1.eax >> 8) & 0xf, base_model = (l1.eax >> 4) & 0xf;
    c.stepping = l1.eax & 0xf;
    c.family = base_family == 0xf ? base_family + ((l1.eax >> 20) & 0xff) : base_family;
    c.model = (base_family == 0x6 || base_family == 0xf)
                  ? base_model | (((l1.eax >> 16) & 0xf) << 4)
                  : base_model;
    set(c, Feature::kPcid, bit(l1.ecx, 17));
    set(c, Feature::kHypervisor, bit(l1.ecx, 31));
    set(c, Feature::kPge, bit(l1.edx, 13));
    set(c, Feature::kTsc, bit(l1.edx, 4));
    set(c, Feature::kMce, bit(l1.edx, 7));
    set(c, Feature::kMca, bit(l1.edx, 14));
    set(c, Feature::kPat, bit(l1.edx, 16));
  }
  if (c.max_leaf >= 7) {
    CpuidResult l7 = cpuid(7, 0);
    set(c, Feature::kFsgsbase, bit(l7.ebx, 0));
    set(c, Feature::kSmep, bit(l7.ebx, 7));
    set(c, Feature::kInvpcid, bit(l7.ebx, 10));
    set(c, Feature::kSmap, bit(l7.ebx, 20));
    set(c, Feature::kLa57, bit(l7.ecx, 16));
  }
  if (c.max_leaf >= 0xa && !amd) c.pmu_version = cpuid(0xa, 0).eax & 0xff;
  if (c.max_leaf >= 0x15) {
    CpuidResult l15 = cpuid(0x15, 0);  // EAX/EBX = TSC/crystal ratio, ECX = crystal Hz
    if (l15.eax != 0 && l15.ebx != 0 && l15.ecx != 0)
      c.tsc_hz_leaf15 = u64{l15.ecx} * l15.ebx / l15.eax;
  }
  if (c.max_leaf >= 0x16) c.base_hz_leaf16 = u64{cpuid(0x16, 0).eax & 0xffff} * 1'000'000;

  CpuidResult e0 = cpuid(0x8000'0000, 0);
  c.max_ext_leaf = e0.eax >= 0x8000'0000 && e0.eax < 0x8000'1000 ? e0.eax : 0;
  if (c.max_ext_leaf >= 0x8000'0001) {
    CpuidResult e1 = cpuid(0x8000'0001, 0);
    set(c, Feature::kSyscall, bit(e1.edx, 11));
    set(c, Feature::kNx, bit(e1.edx, 20));
    set(c, Feature::kPdpe1gb, bit(e1.edx, 26));
    set(c, Feature::kRdtscp, bit(e1.edx, 27));
  }
  if (c.max_ext_leaf >= 0x8000'0004) {
    for (u32 i = 0; i < 3; ++i) {
      CpuidResult b = cpuid(0x8000'0002 + i, 0);
      const u32 regs[4] = {b.eax, b.ebx, b.ecx, b.edx};
      for (int r = 0; r < 4; ++r)
        for (int k = 0; k < 4; ++k)
          c.brand[i * 16 + r * 4 + k] = static_cast<char>(regs[r] >> (8 * k));
    }
    c.brand[48] = '\0';
    sanitize(c.brand);
  }
  if (c.max_ext_leaf >= 0x8000'0007)
    set(c, Feature::kInvariantTsc, bit(cpuid(0x8000'0007, 0).edx, 8));
  if (c.max_ext_leaf >= 0x8000'0008) {
    const CpuidResult e8 = cpuid(0x8000'0008, 0);
    set(c, Feature::kInvlpgb, bit(e8.ebx, 3));
    if (c.has(Feature::kInvlpgb)) c.invlpgb_max_pages = (e8.edx & 0xffff) + 1;
  }

  if (c.has(Feature::kHypervisor)) {
    CpuidResult h = cpuid(0x4000'0000, 0);  // signature in EBX, ECX, EDX
    put_regs(c.hypervisor_vendor, h.ebx, h.ecx, h.edx);
    sanitize(c.hypervisor_vendor);
  }
  return c;
}

}  // namespace ptb::x86
