// Constants and structures shared with the assembly. NASM does not read this file: the kernel
// build generates arch_constants.inc from it (arch/x86/asm_constants.cpp). The static_asserts
// pin the layouts, so moving a field the stubs use is a deliberate change here, not a surprise.
#pragma once

#include <stddef.h>

#include "arch/x86/descriptors.h"
#include "arch/x86/regs.h"
#include "lib/types.h"

namespace ptb::x86 {

inline constexpr u64 kKernelStackSize = 0x10000;
inline constexpr u64 kEntryStackSize = 0x4000;
inline constexpr u64 kIstStackSize = 0x2000;

// The per-CPU area. GS.base points at it while in the kernel (SWAPGS on every entry from ring 3).
// It lives in the entry area: under PTI the entry stubs read it before switching to the kernel's
// page tables.
struct PerCpu {
  u64 kernel_cr3;       // CR3 to load on entry from ring 3 when pti != 0
  u64 user_cr3;         // CR3 to load on return to ring 3 when pti != 0
  u64 pti;              // non-zero: entry and exit switch CR3
  u64 user_rsp;         // SYSCALL entry: the caller's RSP while on the kernel stack
  u64 entry_rsp;        // top of the entry stack (TSS.RSP0; mapped in the user tables)
  u64 user_pcid_flush;  // Linux's lazy flush: non-zero = flush the user PCID on the next return
  u64 scratch;          // one spare quadword for stubs
  u64 kernel_rsp;       // SYSCALL entry: top of the kernel stack (not mapped in the user tables)
  u64 saved_rsp;        // ring3_enter: the kernel RSP to return to when ring 3 exits
  u64 nmi_count;        // NMIs taken on this CPU (traps.asm counts them; the runner compares)
  PerCpu* self;         // this area's own address: this_cpu() reads it through GS
  u64 cpu_index;        // 0 for the boot CPU, then in the order the CPUs were started
};

static_assert(offsetof(PerCpu, kernel_cr3) == 0 && offsetof(PerCpu, user_cr3) == 8 &&
              offsetof(PerCpu, pti) == 16 && offsetof(PerCpu, user_rsp) == 24 &&
              offsetof(PerCpu, entry_rsp) == 32 && offsetof(PerCpu, user_pcid_flush) == 40 &&
              offsetof(PerCpu, scratch) == 48 && offsetof(PerCpu, kernel_rsp) == 56 &&
              offsetof(PerCpu, saved_rsp) == 64 && offsetof(PerCpu, nmi_count) == 72 &&
              offsetof(PerCpu, self) == 80 && offsetof(PerCpu, cpu_index) == 88);

// The local-APIC vectors (arch/x86/smp_vectors.asm): an AP's wake-up (and a finished work item's
// answer to the boot CPU), the IPI round trip's ping, a call, and the APIC's spurious vector (SDM
// Vol.3 11.9: bits 3:0 of it are 1111b on older CPUs, so 0xff). kVectorCall runs ipi_call_handler
// (arch/x86/local_apic.h) in interrupt context (the shootdowns' invalidation on each target).
inline constexpr unsigned kVectorWake = 0xf0, kVectorPing = 0xf1, kVectorCall = 0xf2,
                          kVectorSpurious = 0xff;

// PTI and ring-3 constants the stubs use.
inline constexpr unsigned kPtiUserPgdBit = 12, kPtiUserPcidBit = 11, kCr3NoflushBit = 63;
inline constexpr u64 kPtiSwitchMask = 0x1800;
inline constexpr unsigned kVectorSoft = 0x81, kVectorRing3Exit = 0x82;
inline constexpr u64 kPfInsnLen = 2;  // mov [rbx], al
static_assert(kPtiSwitchMask == (kUserPgdOffset | kUserPcidBit));
static_assert((u64{1} << kPtiUserPgdBit) == kUserPgdOffset &&
              (1u << kPtiUserPcidBit) == kUserPcidBit);
static_assert(Cr3::kNoflush == u64{1} << kCr3NoflushBit);

// What the exception stubs push: general registers below the vector and error code, below the
// CPU's own frame (SDM Vol.3 6.14.2: SS, RSP, RFLAGS, CS, RIP, always in 64-bit mode).
struct TrapFrame {
  u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  u64 vector, error_code;
  u64 rip, cs, rflags, rsp, ss;
};
// traps.asm pushes the 15 general registers after the vector, then passes RSP as the frame; a
// 16-byte multiple keeps the stack aligned for the call (the CPU aligned it before its pushes).
static_assert(offsetof(TrapFrame, vector) == 15 * 8 && offsetof(TrapFrame, rip) == 17 * 8 &&
              offsetof(TrapFrame, cs) == 18 * 8 && sizeof(TrapFrame) == 22 * 8);
static_assert(sizeof(TrapFrame) % 16 == 0);

}  // namespace ptb::x86
