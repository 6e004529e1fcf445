// What the kernel's assembly (traps.asm, ring3_entry.asm, boot/entry.asm, bench/entries.asm,
// bench/user.asm) knows of the C++ side, generated into arch_constants.inc at kernel build time
// (see arch/x86/asm_constants.h). Compiled to assembly only; never linked. The names are those of
// the former hand-written layout.inc, plus the TrapFrame offsets from the vector slot, the ENTRY_*
// schemes and the boot stub's control-register values.
#include "arch/x86/asm_constants.h"

#include <stddef.h>

#include "arch/x86/ap_boot.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu_state.h"
#include "arch/x86/descriptors.h"
#include "arch/x86/layout.h"
#include "arch/x86/pti.h"

using namespace ptb::x86;

extern "C" void ptb_arch_asm_constants() {
  // GDT selectors (RPL 0; the stubs add | 3 for ring 3).
  PTB_ASM_CONSTANT(SEL_KERNEL_CODE, sel::kKernelCode);
  PTB_ASM_CONSTANT(SEL_KERNEL_DATA, sel::kKernelData);
  PTB_ASM_CONSTANT(SEL_USER_CODE32, sel::kUserCode32);
  PTB_ASM_CONSTANT(SEL_USER_DATA, sel::kUserData);
  PTB_ASM_CONSTANT(SEL_USER_CODE, sel::kUserCode);
  PTB_ASM_CONSTANT(SEL_TSS, sel::kTss);

  PTB_ASM_CONSTANT(KERNEL_STACK_SIZE, kKernelStackSize);
  PTB_ASM_CONSTANT(ENTRY_STACK_SIZE, kEntryStackSize);
  PTB_ASM_CONSTANT(IST_STACK_SIZE, kIstStackSize);

  // The per-CPU area at GS.base.
  PTB_ASM_CONSTANT(PERCPU_KERNEL_CR3, offsetof(PerCpu, kernel_cr3));
  PTB_ASM_CONSTANT(PERCPU_USER_CR3, offsetof(PerCpu, user_cr3));
  PTB_ASM_CONSTANT(PERCPU_PTI, offsetof(PerCpu, pti));
  PTB_ASM_CONSTANT(PERCPU_USER_RSP, offsetof(PerCpu, user_rsp));
  PTB_ASM_CONSTANT(PERCPU_ENTRY_RSP, offsetof(PerCpu, entry_rsp));
  PTB_ASM_CONSTANT(PERCPU_USER_PCID_FLUSH, offsetof(PerCpu, user_pcid_flush));
  PTB_ASM_CONSTANT(PERCPU_SCRATCH, offsetof(PerCpu, scratch));
  PTB_ASM_CONSTANT(PERCPU_KERNEL_RSP, offsetof(PerCpu, kernel_rsp));
  PTB_ASM_CONSTANT(PERCPU_SAVED_RSP, offsetof(PerCpu, saved_rsp));
  PTB_ASM_CONSTANT(PERCPU_NMI_COUNT, offsetof(PerCpu, nmi_count));
  PTB_ASM_CONSTANT(PERCPU_SELF, offsetof(PerCpu, self));

  // The AP trampoline's parameter block (arch/x86/ap_boot.h) and the local APIC's EOI MSR.
  PTB_ASM_CONSTANT(AP_PARAMS_OFFSET, kApParamsOffset);
  PTB_ASM_CONSTANT(AP_PARAMS_GDTR, offsetof(ApBootParams, gdtr_limit));
  PTB_ASM_CONSTANT(AP_PARAMS_FAR, offsetof(ApBootParams, far_offset));
  PTB_ASM_CONSTANT(AP_PARAMS_CR3, offsetof(ApBootParams, cr3));
  PTB_ASM_CONSTANT(AP_PARAMS_EFER, offsetof(ApBootParams, efer));
  PTB_ASM_CONSTANT(AP_PARAMS_STACK_TOP, offsetof(ApBootParams, stack_top));
  PTB_ASM_CONSTANT(AP_PARAMS_CPU, offsetof(ApBootParams, cpu));
  PTB_ASM_CONSTANT(MSR_X2APIC_EOI, apic::x2apic_msr(apic::Reg::kEoi));
  // What the paranoid NMI and #MC entries read (SDM Vol.4 2.1: IA32_GS_BASE; Vol.3 2.5: PCIDE).
  PTB_ASM_CONSTANT(MSR_GS_BASE, msr::kGsBase);
  PTB_ASM_CONSTANT(CR4_PCIDE_BIT, __builtin_ctzll(Cr4::kPcide));

  // The TrapFrame, from its start (RDI in trap_dispatch) ...
  PTB_ASM_CONSTANT(TRAPFRAME_VECTOR, offsetof(TrapFrame, vector));
  PTB_ASM_CONSTANT(TRAPFRAME_RIP, offsetof(TrapFrame, rip));
  PTB_ASM_CONSTANT(TRAPFRAME_CS, offsetof(TrapFrame, cs));
  PTB_ASM_CONSTANT(TRAPFRAME_SIZE, sizeof(TrapFrame));
  // ... and from the vector slot, where RSP points in trap_common before the general registers
  // are pushed and again after they are popped.
  PTB_ASM_CONSTANT(TRAPFRAME_VECTOR_TO_CS, offsetof(TrapFrame, cs) - offsetof(TrapFrame, vector));
  PTB_ASM_CONSTANT(TRAPFRAME_VECTOR_TO_RIP, offsetof(TrapFrame, rip) - offsetof(TrapFrame, vector));
  // ... and as a stub that pushes nothing sees the CPU's frame: the error code at [rsp] (its size
  // is what the stub drops before IRETQ), the RIP just above it.
  PTB_ASM_CONSTANT(ERROR_CODE_SIZE, sizeof(TrapFrame::error_code));
  PTB_ASM_CONSTANT(IRET_RIP_ABOVE_ERROR_CODE,
                   offsetof(TrapFrame, rip) - offsetof(TrapFrame, error_code));

  // PTI and PCID: the CR3 bits the entry stubs flip (Linux's layout; SDM Vol.3 4.10.4.1).
  PTB_ASM_CONSTANT(PTI_USER_PGD_BIT, kPtiUserPgdBit);
  PTB_ASM_CONSTANT(PTI_USER_PCID_BIT, kPtiUserPcidBit);
  PTB_ASM_CONSTANT(PTI_SWITCH_MASK, kPtiSwitchMask);
  PTB_ASM_CONSTANT(CR3_NOFLUSH_BIT, kCr3NoflushBit);
  PTB_ASM_CONSTANT(ENTRY_NONE, static_cast<ptb::u8>(EntryScheme::kNone));
  PTB_ASM_CONSTANT(ENTRY_PTI, static_cast<ptb::u8>(EntryScheme::kPti));
  PTB_ASM_CONSTANT(ENTRY_PCID, static_cast<ptb::u8>(EntryScheme::kPcid));
  PTB_ASM_CONSTANT(ENTRY_PCID_FLUSH, static_cast<ptb::u8>(EntryScheme::kPcidFlush));

  // The boot stub's known CR0/CR4/EFER (arch/x86/cpu_state.h): 32-bit values, loaded whole.
  static_assert(kKernelCr0.raw <= 0xffff'ffff && kBootCr4.raw <= 0xffff'ffff);
  PTB_ASM_CONSTANT(BOOT_CR0, kKernelCr0.raw);
  PTB_ASM_CONSTANT(BOOT_CR4, kBootCr4.raw);
  PTB_ASM_CONSTANT(BOOT_EFER, boot_efer(false).raw);
  PTB_ASM_CONSTANT(EFER_NXE, Efer::kNxe);
  PTB_ASM_CONSTANT(MSR_EFER, msr::kEfer);

  PTB_ASM_CONSTANT(VECTOR_SOFT, kVectorSoft);
  PTB_ASM_CONSTANT(VECTOR_RING3_EXIT, kVectorRing3Exit);
  PTB_ASM_CONSTANT(PF_INSN_LEN, kPfInsnLen);
}
