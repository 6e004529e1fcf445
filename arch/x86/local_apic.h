// Access to the calling CPU's local APIC in the mode chosen once for all CPUs (arch/x86/apic.h has
// the layouts): xAPIC through its MMIO page, x2APIC through MSRs. Kernel only.
#pragma once

#include "arch/x86/apic.h"
#include "lib/types.h"

namespace ptb::x86::apic {

// Chooses the mode from CPUID and IA32_APIC_BASE on the boot CPU; returns it (kNone: no APIC).
Mode probe();
Mode mode();
u64 mmio_base();  // the xAPIC page (physical = virtual: identity-mapped); 0 in x2APIC mode

// Enables the calling CPU's APIC in mode(): IA32_APIC_BASE, the spurious vector with the software
// enable bit, TPR 0, the timer, LINT0 and error LVT entries masked (nothing but IPIs and NMIs
// arrive). `lint1_nmi`: LINT1 made an unmasked NMI input, as firmware leaves it on the boot CPU
// only (an AP's LVT comes out of INIT masked), so that NMIs wired to every CPU's LINT1 (QEMU's
// monitor `nmi`) reach the APs too.
void enable_this_cpu(u8 spurious_vector, bool lint1_nmi);
u32 this_cpu_id();
void eoi();
// Sends the IPI (waiting first until an xAPIC has delivered the previous one).
void send(const Icr& icr);

}  // namespace ptb::x86::apic

// What the interrupt stubs read to signal end of interrupt (arch/x86/smp_vectors.asm): non-zero
// apic_eoi_x2apic means WRMSR 80BH, else a store to apic_eoi_register.
extern "C" ptb::u64 apic_eoi_x2apic;
extern "C" ptb::u64 apic_eoi_register;

// The IPI round trip's cells (arch/x86/smp_vectors.asm, each in its own cache line): the ping's
// handler copies the request into the answer.
extern "C" ptb::u64 ipi_ping_request;
extern "C" ptb::u64 ipi_ping_answer;

// What the call vector (kVectorCall) runs on the CPU it arrives at, then EOI; nullptr: nothing.
extern "C" void (*ipi_call_handler)();
