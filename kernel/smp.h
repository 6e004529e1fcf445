// Every CPU up (docs/architecture.md, "CPUs"): the local APIC of each, the APs started by
// INIT-SIPI-SIPI through a real-mode trampoline, each with its own descriptors, stacks and per-CPU
// area, the boot CPU's CR0, CR4, EFER and PAT. Between work items an AP waits halted; a work item
// is posted to its mailbox and a wake-up IPI sent. CPU 0 is the boot CPU; APs are numbered in the
// order they started.
#pragma once

#include "arch/x86/apic.h"
#include "arch/x86/cpu_setup.h"
#include "kernel/acpi.h"
#include "kernel/multiboot2.h"
#include "lib/types.h"

namespace ptb::smp {

// Starts the APs the MADT lists. `wanted`: the cpus= option (0: all). A CPU that does not come up
// within apic::kApStartTimeoutMs is reported ("warning: smp: ...") and left out; the run goes on.
void init(const acpi::Madt& madt, const mb2::BootInfo& info, u64 info_addr, u64 info_size,
          u64 tsc_hz, u64 wanted);

struct Summary {
  u32 found;    // usable CPUs in the MADT (the boot CPU counted once)
  u32 started;  // running: the boot CPU and every AP that came up
  u32 used;     // of those, the ones the SMP benchmarks use (cpus=)
  u32 failed;   // APs that were sent INIT-SIPI-SIPI and did not come up
  x86::apic::Mode mode;
};
const Summary& summary();
u32 used();
u32 apic_id(u32 cpu);
// AP `cpu`'s entry part (arch/x86/cpu_setup.h CpuArea): what its NMI and #MC entries need on a
// PTI user CR3, for the user tables to map. {0, 0} for the boot CPU (its own is entry_data) and
// for a CPU that is not running.
x86::Range entry_part(u32 cpu);
u64 tsc_hz();
// How long a CPU that must answer another (an IPI, a shootdown's acknowledgement) may stay silent
// before the row fails: under emulation a vCPU thread may wait long for a host CPU.
inline constexpr u64 kAnswerTimeoutMs = 2000;
// `ms` milliseconds in ticks of the TSC, at the rate the bring-up timed with.
u64 ticks_for_ms(u64 ms);
// NMIs taken so far by every CPU running (each counts its own, arch/x86/traps.asm).
u64 nmis();  // the rate the bring-up timed with (a safe guess when the TSC's is unknown)

// Spins (PAUSE) until done() holds or `timeout_ticks` of the TSC have passed (the clock is read
// every 1024 spins only, so that a poll of shared memory stays a tight loop); false on timeout.
// For waits on another CPU that must not hang the run if it stops answering.
template <class Done>
bool await(u64 timeout_ticks, Done done);

// A work item: runs on the CPU it is posted to, with interrupts off.
using Work = void (*)(void* arg);
// Posts `work` to AP `cpu` (1 <= cpu < started) and wakes it; returns at once.
void post(u32 cpu, Work work, void* arg);
// The calling (boot) CPU waits halted until AP `cpu` has finished what was posted to it; it
// takes interrupts meanwhile (the IPI benchmarks' pings included).
void wait(u32 cpu);
// Runs `work` on `cpu`: inline on the boot CPU (cpu 0), else posted and waited for.
void run_on(u32 cpu, Work work, void* arg);

u64 ticks_now();  // the TSC, ordered (lfence; rdtsc; lfence)
void relax();     // PAUSE

template <class Done>
bool await(u64 timeout_ticks, Done done) {
  const u64 t0 = ticks_now();
  for (u32 spins = 0; !done(); ++spins) {
    relax();
    if (spins == 1024) {
      spins = 0;
      if (ticks_now() - t0 > timeout_ticks) return false;
    }
  }
  return true;
}

}  // namespace ptb::smp
