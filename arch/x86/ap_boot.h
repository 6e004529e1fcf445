// The real-mode trampoline that takes an application processor from its STARTUP IPI to 64-bit
// code (arch/x86/ap_boot.asm), and the parameter block the boot CPU writes into the trampoline's
// page before each start. Pure layout, shared with NASM through arch_constants.inc.
#pragma once

#include <stddef.h>

#include "arch/x86/descriptors.h"
#include "lib/types.h"

namespace ptb::x86 {

// Where the block sits in the trampoline page (the 16-bit code before it is shorter; ap_boot.asm
// refuses to assemble otherwise).
inline constexpr u64 kApParamsOffset = 0x100;

struct ApBootParams {
  u16 pad0[3];
  u16 gdtr_limit;    // LGDT's operand (o32: 16-bit limit, 32-bit base) starts here
  u64 gdtr_base;     // linear address of `gdt` below
  u32 far_offset;    // m16:32 of the far jump into 64-bit code: the kernel's ap_long_mode
  u16 far_selector;  // the 64-bit code segment
  u16 pad1;
  u32 cr3;        // the kernel tables (below 4 GiB: loaded from 16-bit code)
  u32 efer;       // LME, and NXE as the boot CPU has it (the tables use NX)
  u64 stack_top;  // the AP's kernel stack
  u64 cpu;        // the index ap_main receives
  u64 gdt[3];     // null, kernel code (64-bit), kernel data: the selectors the kernel uses
};
static_assert(offsetof(ApBootParams, gdtr_limit) + 2 == offsetof(ApBootParams, gdtr_base) &&
              offsetof(ApBootParams, gdtr_base) == 8 && offsetof(ApBootParams, far_offset) == 16 &&
              offsetof(ApBootParams, far_selector) == 20 && offsetof(ApBootParams, cr3) == 24 &&
              offsetof(ApBootParams, efer) == 28 && offsetof(ApBootParams, stack_top) == 32 &&
              offsetof(ApBootParams, cpu) == 40 && offsetof(ApBootParams, gdt) == 48);
static_assert(sel::kKernelCode / 8 == 1 && sel::kKernelData / 8 == 2);
static_assert(kApParamsOffset + sizeof(ApBootParams) <= 4096);

}  // namespace ptb::x86
