// The control-register and EFER values the kernel runs with, written whole rather than OR-ed
// into whatever the firmware and the boot loader left: a CR4.LA57 or TSD, a CR0.TS or CD, an
// EFER.FFXSR left set would otherwise carry into every measurement (or, for LA57, break the
// 4-level tables). Pure constexpr, host-tested; boot/entry.asm loads the BOOT_* values
// (generated from here), kmain the kernel ones.
#pragma once

#include "arch/x86/cpu_features.h"
#include "arch/x86/regs.h"

namespace ptb::x86 {

// SDM Vol.3 2.5. PE: protected mode (already on from the boot loader). MP with EM clear and TS
// clear: x87/SSE instructions run without #NM (the C++ uses SSE for doubles). ET: reserved as 1.
// NE: x87 errors raise #MF rather than the legacy external FERR# path. WP: ring 0 honours
// read-only pages. PG: paging. CD and NW clear: caching on. AM clear: no alignment checks.
inline constexpr Cr0 kKernelCr0{Cr0::kPe | Cr0::kMp | Cr0::kEt | Cr0::kNe | Cr0::kWp | Cr0::kPg};

// The 32-bit boot stub's CR4, before long mode (SDM Vol.3 10.8.5: PAE must be set before
// EFER.LME and CR0.PG). OSFXSR and OSXMMEXCPT: SSE usable and its exceptions reported as #XM
// (SDM Vol.3 13.1.4). Everything else clear; in particular LA57 (the tables have 4 levels) and
// TSD (RDTSC stays usable in ring 3, where the crossing drivers stamp).
inline constexpr Cr4 kBootCr4{Cr4::kPae | Cr4::kOsfxsr | Cr4::kOsxmmexcpt};

// kmain's CR4: the boot value plus PGE, SMEP and SMAP where the CPU has them (SDM Vol.3 4.10.2.4,
// 4.6.1), and MCE, without which a machine check shuts the machine down silently instead of
// raising #MC (SDM Vol.3 17.1.2). PCIDE stays clear: the benchmarks that need it set and clear it
// themselves.
constexpr Cr4 kernel_cr4(const CpuInfo& cpu) {
  return kBootCr4.with(Cr4::kMce, cpu.has(Feature::kMce))
      .with(Cr4::kPge, cpu.has(Feature::kPge))
      .with(Cr4::kSmep, cpu.has(Feature::kSmep))
      .with(Cr4::kSmap, cpu.has(Feature::kSmap));
}

// SDM Vol.3 2.2.1, Vol.4 IA32_EFER; AMD APM Vol.2 3.1.7. The boot stub enables long mode (LME)
// and no-execute where CPUID.80000001H:EDX[20] says it exists (NXE is reserved otherwise).
// AMD-only bits (SVME, LMSLE, FFXSR, TCE) stay clear.
constexpr Efer boot_efer(bool nx) { return Efer{Efer::kLme | (nx ? Efer::kNxe : 0)}; }
// Once in long mode, with SYSCALL/SYSRET enabled. LMA (read-only, set by the CPU when paging came
// on) is written as it reads.
constexpr Efer kernel_efer(bool nx) { return Efer{boot_efer(nx).raw | Efer::kLma | Efer::kSce}; }

// Whether LFENCE is dispatch-serialising, so that lfence;rdtsc;lfence orders the TSC reads (SDM
// Vol.2 LFENCE: architectural on Intel; AMD: with DE_CFG[1] (MSR C001_1029h), which Linux sets on
// families 10h-18h, and always where CPUID 8000_0021h:EAX[2] says so).
enum class Lfence : u8 { kArchitectural, kCpuid, kDeCfg, kUnknown };
constexpr const char* lfence_name(Lfence l) {
  return l == Lfence::kArchitectural ? "architectural"
         : l == Lfence::kCpuid       ? "cpuid.80000021h"
         : l == Lfence::kDeCfg       ? "de_cfg"
                                     : "unknown";
}
// amd_like: AMD or Hygon. always_serialising: CPUID 8000_0021h:EAX[2]. de_cfg: DE_CFG as read
// back after setting bit 1, when the read did not fault.
constexpr Lfence lfence_ordering(Vendor v, bool amd_like, bool always_serialising, bool de_cfg_ok,
                                 u64 de_cfg) {
  if (v == Vendor::kIntel) return Lfence::kArchitectural;
  if (!amd_like) return Lfence::kUnknown;
  if (always_serialising) return Lfence::kCpuid;
  if (de_cfg_ok && (de_cfg & 2)) return Lfence::kDeCfg;
  return Lfence::kUnknown;
}
// Linux sets DE_CFG[1] on AMD families 10h-17h and Hygon 18h (from Zen 2 it reads as 1 anyway).
constexpr bool sets_de_cfg(bool amd_like, u32 family) {
  return amd_like && family >= 0x10 && family <= 0x18;
}

}  // namespace ptb::x86
