// Physical memory and the kernel's address space.
//
// Virtual layout (4-level paging, everything the kernel owns is identity-mapped):
//   0 .. 4 KiB              not mapped: null pointers fault
//   4 KiB .. 1 MiB          firmware areas, VGA text memory (RW, NX)
//   kernel image            4 KiB pages: text RX, rodata R, data/bss RW NX; the JIT area RWX;
//                           the page below the kernel stack is left out (overflow guard)
//   up to the top of RAM    2 MiB pages, RW, NX (frames handed out by the allocator)
//   kBenchBase (PML4 254)   TLB-refill pages: non-global and global aliases, 4 KiB pages
//   kUserBase  (PML4 255)   ring-3 benchmark code, data and stack
#pragma once

#include "arch/x86/page_table.h"
#include "arch/x86/pti.h"
#include "arch/x86/regs.h"
#include "kernel/frame_alloc.h"
#include "kernel/multiboot2.h"
#include "lib/types.h"

namespace ptb::memory {

inline constexpr u64 kBenchBase = u64{254} << 39;    // 0x7f00'0000'0000
inline constexpr u64 kUserBase = u64{255} << 39;     // 0x7f80'0000'0000
inline constexpr u64 kLowTableLimit = u64{4} << 30;  // page tables stay below 4 GiB

// Builds the frame allocator from the memory map, keeping out the kernel image, the boot
// information, modules and the first MiB. Returns usable bytes.
u64 init_frames(const mb2::BootInfo& info, u64 info_addr, u64 info_size);
FrameAllocator& frames();
u64 usable_bytes();
// A zeroed 4 KiB frame below `limit`; ends the run with a clear message when memory is out.
u64 alloc_zeroed(u64 limit = ~u64{0});

// Builds and loads the kernel page tables (layout above), mapping physical memory up to the top of
// RAM (at least 4 GiB), and the framebuffer [fb_start, fb_end) exactly, wherever it lies, with 4
// KiB pages: write-combining where the CPU has PAT (IA32_PAT entry 1 is made WC, as Linux does),
// else uncached. fb_end = 0: no framebuffer.
void init_paging(u64 fb_start, u64 fb_end, bool nx, bool pat);
// Makes the leaf that maps `phys` (identity) uncached (PCD and PWT: PAT entry 3, UC, in the reset
// table and the kernel's), for registers that must not be cached: the xAPIC's page (SDM Vol.3
// 11.4.1). A 2 MiB leaf becomes uncached whole. Returns false when `phys` is not mapped.
bool make_uncached(u64 phys);
// The memory type the framebuffer got: "write-combining", "uncached" or "none".
const char* framebuffer_memory_type();

// The kernel's tables: the first half of an 8 KiB-aligned pair (the second half is the PTI user
// PML4, built by the PTI code).
x86::PageTable& kernel_tables();
x86::Cr3 kernel_cr3();
u64* user_pml4();
x86::Arena table_arena();
u64 nx_bit();  // Pte::kNoExecute when the CPU has NX, else 0

// The JIT area the benchmark runner writes code into (RWX in the kernel tables).
u8* jit_area();
usize jit_area_size();

// The kernel image outside the entry area, as PTI's global schemes see it (arch/x86/pti.h): the
// text from the image's start to the entry text, and the read-only data.
x86::KernelImage kernel_image();

}  // namespace ptb::memory
