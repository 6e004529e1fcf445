// The pure decisions of SMP bring-up (kernel/smp.cpp does it): where the real-mode trampoline
// goes and which of the MADT's CPUs to start. Firmware data is untrusted: overlapping memory-map
// entries, duplicate or unreachable APIC IDs and a MADT without the boot CPU are all handled.
// Host-tested.
#pragma once

#include "arch/x86/apic.h"
#include "kernel/acpi.h"
#include "kernel/frame_alloc.h"
#include "kernel/multiboot2.h"
#include "lib/types.h"

namespace ptb::smp {

// The highest 4 KiB frame in [4 KiB, 1 MiB) (a STARTUP IPI can only name one there) that lies
// wholly in memory the map calls available, overlaps no other map entry (firmware maps can
// overlap; the reserved one wins) and none of `avoid` (the boot information, modules). 0: none.
u64 choose_trampoline(const mb2::MemoryRegion* map, usize count, const PhysRange* avoid,
                      usize avoid_count);

inline constexpr usize kMaxCpus = 64;  // CPUs used at most (the boot CPU included)

struct Plan {
  usize found = 0;  // distinct usable CPUs the MADT lists (enabled or online-capable), the boot
                    // CPU counted once even when the MADT leaves it out
  usize unreachable = 0;  // of those, APs an ICR cannot name in this APIC mode (not started)
  usize beyond = 0;       // APs left out beyond kMaxCpus
  usize ap_count = 0;     // the APs to start, in MADT order
  u32 ap_ids[kMaxCpus - 1] = {};
};
// Every AP is started (cpus= only limits how many the benchmarks use), up to kMaxCpus in all.
Plan plan_cpus(const acpi::Madt& madt, u32 bsp_apic_id, x86::apic::Mode mode);

}  // namespace ptb::smp
