// The local APIC as layouts (SDM Vol.3 chapter 11 "Advanced Programmable Interrupt Controller";
// 11.12 x2APIC): the IA32_APIC_BASE MSR, the register offsets, the interrupt command register
// (ICR) and the choice of mode. Pure constexpr, host-tested; the access (MMIO or MSRs) is in
// arch/x86/local_apic.*, which the host never compiles. Section numbers: SDM of December 2023 on
// (older editions: chapter 10 for the APIC, 8.4 for MP initialisation).
#pragma once

#include "arch/x86/regs.h"
#include "lib/types.h"

namespace ptb::x86::apic {

// How the local APIC is driven: xAPIC by its 4 KiB MMIO page, x2APIC by MSRs 800H-8FFH.
enum class Mode : u8 { kNone, kXapic, kX2apic };
constexpr const char* mode_name(Mode m) {
  return m == Mode::kXapic ? "xapic" : m == Mode::kX2apic ? "x2apic" : "none";
}

// x2APIC where the CPU has it (CPUID.01H:ECX[21]), xAPIC where it has only that (CPUID.01H:EDX[9]).
// Firmware that already switched to x2APIC cannot be taken back to xAPIC without disabling the
// APIC (SDM Vol.3 11.12.5), so that case is x2APIC too.
constexpr Mode choose_mode(bool has_apic, bool has_x2apic, bool x2apic_enabled_by_firmware) {
  if (x2apic_enabled_by_firmware || has_x2apic) return Mode::kX2apic;
  return has_apic ? Mode::kXapic : Mode::kNone;
}
// Whether an ICR can name `apic_id` as a physical destination: xAPIC has 8 bits, and 0xff is the
// broadcast ID (SDM Vol.3 11.6.1, 11.6.2.1); x2APIC has 32 bits, 0xffff'ffff the broadcast.
constexpr bool addressable(Mode m, u32 apic_id) {
  return m == Mode::kX2apic ? apic_id != 0xffff'ffff : m == Mode::kXapic && apic_id < 0xff;
}

// SDM Vol.3 11.4.4: IA32_APIC_BASE.
inline constexpr u32 kMsrApicBase = 0x1b;
struct ApicBase {
  static constexpr u64 kBsp = bit(8), kX2apicEnable = bit(10), kGlobalEnable = bit(11);
  static constexpr u64 kBaseMask = 0x000f'ffff'ffff'f000;
  u64 raw = 0;
  constexpr u64 base() const { return raw & kBaseMask; }
  constexpr bool bsp() const { return raw & kBsp; }
  constexpr bool x2apic() const {
    return (raw & (kX2apicEnable | kGlobalEnable)) == (kX2apicEnable | kGlobalEnable);
  }
  // Enabled in `m`; xAPIC to x2APIC is one write with both bits (11.12.5, Figure 11-27).
  constexpr ApicBase enabled(Mode m) const {
    return ApicBase{raw | kGlobalEnable | (m == Mode::kX2apic ? kX2apicEnable : 0)};
  }
};

// Register offsets in the xAPIC page (SDM Vol.3 Table 11-1); x2APIC: MSR 800H + offset / 16
// (Table 11-6), where the ICR is one 64-bit MSR (830H) and there is no ICR high half.
enum class Reg : u32 {
  kId = 0x20,
  kVersion = 0x30,
  kTpr = 0x80,
  kEoi = 0xb0,
  kSvr = 0xf0,
  kEsr = 0x280,
  kIcrLow = 0x300,
  kIcrHigh = 0x310,
  kLvtTimer = 0x320,
  kLvtLint0 = 0x350,
  kLvtLint1 = 0x360,
  kLvtError = 0x370,
};
constexpr u32 x2apic_msr(Reg r) { return 0x800 + static_cast<u32>(r) / 16; }
static_assert(x2apic_msr(Reg::kIcrLow) == 0x830 && x2apic_msr(Reg::kEoi) == 0x80b &&
              x2apic_msr(Reg::kId) == 0x802 && x2apic_msr(Reg::kSvr) == 0x80f);

// The APIC ID register: xAPIC bits 31:24 (11.4.6), x2APIC all 32 bits (11.12.5.1).
constexpr u32 id_from_register(Mode m, u32 reg) { return m == Mode::kX2apic ? reg : reg >> 24; }

// SDM Vol.3 11.9: the spurious-interrupt vector register; bit 8 enables the APIC in software.
inline constexpr u32 kSvrEnable = 1u << 8;
inline constexpr u32 kLvtMasked = 1u << 16;  // 11.5.1
inline constexpr u32 kLvtNmi = 4u << 8;      // 11.5.1: delivery mode NMI, unmasked, edge

enum class Delivery : u8 { kFixed = 0, kNmi = 4, kInit = 5, kStartup = 6 };
enum class Shorthand : u8 { kNone = 0, kSelf = 1, kAllIncludingSelf = 2, kAllExcludingSelf = 3 };

// SDM Vol.3 11.6.1, Figure 11-12: the interrupt command register. Bits 7:0 vector, 10:8 delivery
// mode, 11 destination mode (0 physical), 12 delivery status (xAPIC only, read-only), 14 level
// (1 assert), 15 trigger mode (1 level), 19:18 shorthand; the destination in bits 63:56 (xAPIC,
// written to the high half at 310H before the low half sends) or 63:32 (x2APIC, one WRMSR).
struct Icr {
  static constexpr u32 kDeliveryPending = 1u << 12, kLevelAssert = 1u << 14,
                       kTriggerLevel = 1u << 15;
  u32 low = 0;
  u32 destination = 0;  // the target's APIC ID

  static constexpr Icr make(u8 vector, Delivery d, u32 dest, u32 extra = 0) {
    return Icr{static_cast<u32>(vector) | (static_cast<u32>(d) << 8) | extra, dest};
  }
  // A fixed-vector interrupt, edge-triggered, to one CPU.
  static constexpr Icr fixed(u8 vector, u32 dest) {
    return make(vector, Delivery::kFixed, dest, kLevelAssert);
  }
  // INIT, level-triggered assert (as the MP initialisation protocol sends it, 9.4.4.1); no
  // de-assert follows: it is not supported in x2APIC mode and not needed since the Pentium 4.
  static constexpr Icr init(u32 dest) {
    return make(0, Delivery::kInit, dest, kLevelAssert | kTriggerLevel);
  }
  // STARTUP: the AP starts in real mode at CS:IP = VV00:0000, VV the vector (9.4.4.1): the page
  // number of a 4 KiB-aligned trampoline below 1 MiB.
  static constexpr Icr startup(u32 dest, u64 trampoline) {
    return make(static_cast<u8>(trampoline >> 12), Delivery::kStartup, dest, kLevelAssert);
  }
  constexpr u8 vector() const { return static_cast<u8>(low); }
  constexpr Delivery delivery() const { return static_cast<Delivery>((low >> 8) & 7); }
  constexpr u32 xapic_high() const { return (destination & 0xff) << 24; }
  constexpr u64 x2apic_value() const { return (u64{destination} << 32) | low; }
};
// Where a STARTUP IPI can send an AP: a page-aligned address below 1 MiB, not page 0 (the
// real-mode interrupt table and the BIOS data area).
constexpr bool valid_trampoline(u64 phys) {
  return phys != 0 && (phys & 0xfff) == 0 && phys < (u64{1} << 20);
}

static_assert(Icr::fixed(0xf0, 3).low == 0x40f0 && Icr::fixed(0xf0, 3).xapic_high() == 0x0300'0000);
static_assert(Icr::init(1).low == 0xc500);
static_assert(Icr::startup(2, 0x9f000).low == 0x469f && Icr::startup(2, 0x9f000).vector() == 0x9f);
static_assert(Icr::fixed(0x41, 0x1'0000).x2apic_value() == 0x0001'0000'0000'4041);

// SDM Vol.3 9.4.4.1 (the MP initialisation example): INIT, 10 ms, STARTUP, 200 us, STARTUP,
// 200 us. Then the AP has kApStartTimeoutMs to say it runs, else it is reported and left out.
inline constexpr u64 kInitDelayUs = 10'000, kStartupDelayUs = 200;
inline constexpr u64 kApStartTimeoutMs = 1000;

}  // namespace ptb::x86::apic
