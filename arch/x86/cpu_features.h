// What the CPU is and has, decoded from CPUID. Pure: the decoder takes the CPUID function as a
// parameter, so host tests run it against recorded leaves.
#pragma once

#include "lib/types.h"

namespace ptb::x86 {

enum class Feature : u32 {
  kPcid,          // CPUID.01H:ECX[17]
  kInvpcid,       // CPUID.(EAX=07H,ECX=0):EBX[10]
  kPge,           // CPUID.01H:EDX[13]
  kSmep,          // CPUID.07H:EBX[7]
  kSmap,          // CPUID.07H:EBX[20]
  kLa57,          // CPUID.07H:ECX[16]
  kNx,            // CPUID.80000001H:EDX[20]
  kRdtscp,        // CPUID.80000001H:EDX[27]
  kInvariantTsc,  // CPUID.80000007H:EDX[8]
  kPdpe1gb,       // CPUID.80000001H:EDX[26]
  kHypervisor,    // CPUID.01H:ECX[31]
  kSyscall,       // CPUID.80000001H:EDX[11]
  kTsc,           // CPUID.01H:EDX[4]
  kFsgsbase,      // CPUID.07H:EBX[0]
  kMce,           // CPUID.01H:EDX[7]: machine-check exception (CR4.MCE)
  kMca,           // CPUID.01H:EDX[14]: machine-check architecture (the MCG and MCi MSRs)
  kPat,           // CPUID.01H:EDX[16]: page attribute table (IA32_PAT)
  kInvlpgb,       // CPUID.80000008H:EBX[3]: INVLPGB and TLBSYNC (AMD APM Vol.3, Appendix E)
  kCount
};

struct FeatureInfo {
  const char* name;       // as in the env record
  const char* cpuid_bit;  // for skip reasons: "CPUID.01H:ECX[17]"
};
const FeatureInfo& feature_info(Feature f);

struct CpuidResult {
  u32 eax, ebx, ecx, edx;
};
using CpuidFn = CpuidResult (*)(u32 leaf, u32 subleaf);

// kAmd: AuthenticAMD and HygonGenuine (AMD's architecture; `vendor` says which).
enum class Vendor { kIntel, kAmd, kOther };

struct CpuInfo {
  char vendor[13] = {};
  char brand[49] = {};
  char hypervisor_vendor[13] = {};
  Vendor vendor_kind = Vendor::kOther;
  u32 family = 0, model = 0, stepping = 0;  // display family/model (SDM Vol.2 CPUID, 01H)
  u32 max_leaf = 0, max_ext_leaf = 0;
  u32 pmu_version = 0;
  u64 features = 0;  // bit per Feature
  // TSC frequency from CPUID where the CPU states it (SDM Vol.2 CPUID 15H/16H); 0 otherwise.
  u64 tsc_hz_leaf15 = 0;
  u64 base_hz_leaf16 = 0;
  // With INVLPGB: the most pages one INVLPGB may name, CPUID 8000_0008H:EDX[15:0] + 1 (Linux's
  // invlpgb_count_max); 0 without it.
  u32 invlpgb_max_pages = 0;

  constexpr bool has(Feature f) const { return (features >> static_cast<u32>(f)) & 1; }
};

CpuInfo decode_cpu(CpuidFn cpuid);

}  // namespace ptb::x86
