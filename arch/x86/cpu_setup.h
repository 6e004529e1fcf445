// Descriptor tables, the TSS, the per-CPU area and the exception dispatch.
#pragma once

#include "arch/x86/descriptors.h"
#include "arch/x86/invlpgb.h"
#include "arch/x86/layout.h"
#include "lib/types.h"

namespace ptb::x86 {

// Loads the final GDT (selector order fit for SYSCALL/SYSRET), the TSS with IST stacks for
// double fault (IST1), NMI (IST2) and machine check (IST3), the IDT for the 32 exception vectors
// (benchmarks install their own gates with set_gate), and points GS at the per-CPU area.
void init_descriptors();

// The boot CPU's per-CPU area (the benchmarks' and the fault report's).
PerCpu& percpu();
// The calling CPU's, through GS (kernel GS only: not inside an entry stub before its SWAPGS).
PerCpu& this_cpu();

// Everything one application processor owns: the per-CPU area, its GDT and TSS (the IDT is the
// boot CPU's, shared), the IST, entry and kernel stacks. kernel/smp.cpp allocates one per AP.
// Everything before the kernel stack is its entry part: what an NMI or #MC needs while the AP
// runs on a PTI user CR3 (bench/shootdown.asm), mapped in the user tables like the boot CPU's
// entry data; the kernel stack starts a page of its own, so it stays out of them.
inline constexpr u64 kApStackSize = 0x4000;
struct CpuArea {
  alignas(64) PerCpu percpu;
  alignas(16) u64 gdt[sel::kGdtEntries];
  alignas(16) Tss tss;
  alignas(16) u8 ist_stacks[3][kIstStackSize];
  alignas(16) u8 entry_stack[kEntryStackSize];
  alignas(4096) u8 stack[kApStackSize];
};
// On an AP, from ap_main: loads the area's GDT and TSS, the shared IDT, and points GS at the
// area's PerCpu (cpu_index = index).
void init_ap_descriptors(CpuArea& area, u64 index);
// Installs `handler` for `vector`; returns the gate it replaced so a benchmark can restore it.
IdtGate set_gate(unsigned vector, u64 handler, unsigned dpl, unsigned ist = 0);
void restore_gate(unsigned vector, IdtGate old);
u64 entry_stack_top();
// The range of the per-CPU/descriptor/stack area that the entry stubs need (for PTI mapping).
struct Range {
  u64 start, end;
};
Range entry_text();
Range entry_rodata();  // descriptor tables
Range entry_data();    // per-CPU area, entry and IST stacks
// An AP's counterpart of the three (its GDT, TSS, IST and entry stacks, per-CPU area).
inline Range entry_part(const CpuArea& a) {
  return {reinterpret_cast<u64>(&a), reinterpret_cast<u64>(a.stack)};
}

// SYSCALL/SYSRET: STAR from the GDT layout, LSTAR = entry, FMASK, EFER.SCE; the kernel stack the
// entry paths switch to.
void init_syscall(u64 entry, u64 kernel_stack_top);
void set_syscall_entry(u64 entry);

// MSR access that survives an MSR the CPU does not have (or a value it refuses): the #GP is
// caught (arch/x86/fault_fixup.h) and reported as ok = false instead of ending the run.
struct [[nodiscard]] MsrRead {
  bool ok;
  u64 value;  // 0 when !ok
};
[[nodiscard]] MsrRead rdmsr_safe(u32 msr);
[[nodiscard]] bool wrmsr_safe(u32 msr, u64 value);
// RDPMC of a counter the CPU (or hypervisor) may not have: ok = false on #GP.
[[nodiscard]] MsrRead rdpmc_safe(u32 index);

// INVLPGB followed by TLBSYNC, each guarded: a #UD (CPUID reports INVLPGB but a hypervisor does
// not pass it through) or a #GP (operands the CPU refuses) is reported instead of ending the run.
// Interrupts must be off (one fixup at a time).
struct [[nodiscard]] GuardedRun {
  bool ok;
  const char* insn;  // when !ok: "INVLPGB" or "TLBSYNC"
  u64 vector;        // when !ok: 6 (#UD) or 13 (#GP)
};
GuardedRun invlpgb_tlbsync_safe(const Invlpgb& op);

// An expected trap: a benchmark or self-test that provokes an exception registers a hook; when it
// returns true the stub resumes with the (possibly edited) frame. Anything else is fatal.
using TrapHook = bool (*)(TrapFrame& frame);
void set_trap_hook(TrapHook hook);
using FatalTrapHandler = void (*)(const TrapFrame& frame);  // must not return
void set_fatal_trap_handler(FatalTrapHandler handler);

}  // namespace ptb::x86
