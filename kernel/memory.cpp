#include "kernel/memory.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_setup.h"
#include "kernel/console.h"
#include "kernel/run.h"

extern "C" char __kernel_start[], __kernel_end[], __text_start[], __text_end[], __data_start[],
    __jit_start[], __jit_end[], __entry_text_start[];
extern "C" char kernel_stack_guard[];

namespace ptb::memory {
namespace {

using x86::Pte;

FrameAllocator the_frames;
u64 usable = 0;
u64 nx = 0;

alignas(8192) u64 pml4_pair[2][512];
u64 arena_alloc(void*);
u64* arena_table(void*, u64 phys);
// Constant-initialised (no global constructors run in this kernel); the root is set in init_paging.
x86::PageTable tables{x86::Arena{arena_alloc, arena_table, nullptr}, 0};

u64 arena_alloc(void*) { return alloc_zeroed(kLowTableLimit); }
u64* arena_table(void*, u64 phys) { return reinterpret_cast<u64*>(phys); }

u64 addr(const char* p) { return reinterpret_cast<u64>(p); }

void must(x86::MapError e, const char* what) {
  if (e == x86::MapError::kNone) return;
  Text<160> t;
  t.put("paging: cannot map ").put(what).put(": ").put(x86::map_error_name(e));
  run::fail(t.c_str());
}

}  // namespace

u64 init_frames(const mb2::BootInfo& info, u64 info_addr, u64 info_size) {
  for (usize i = 0; i < info.memory_count; ++i) {
    const mb2::MemoryRegion& r = info.memory[i];
    if (r.type == mb2::kMemoryAvailable && !the_frames.add_available(r.base, r.length)) {
      console::line("warning: memory: too many memory-map ranges; some RAM left unused");
    }
  }
  the_frames.reserve(0, u64{1} << 20);
  the_frames.reserve(addr(__kernel_start), addr(__kernel_end));
  the_frames.reserve(info_addr, info_addr + info_size);
  for (usize i = 0; i < info.module_count; ++i)
    the_frames.reserve(info.modules[i].start, info.modules[i].end);
  usable = the_frames.free_bytes();
  return usable;
}

FrameAllocator& frames() { return the_frames; }
u64 usable_bytes() { return usable; }

u64 alloc_zeroed(u64 limit) {
  u64 f = the_frames.alloc(limit);
  if (f == 0) run::fail("out of physical memory");
  // Frames below 4 GiB are reachable before and after init_paging (identity either way); higher
  // ones only after it.
  auto* p = reinterpret_cast<u64*>(f);
  for (usize i = 0; i < 512; ++i) p[i] = 0;
  return f;
}

namespace {
const char* fb_type = "none";
// IA32_PAT at reset (SDM Vol.3 12.12.4, Table 12-12): WB, WT, UC-, UC, WB, WT, UC-, UC. Entry 1
// (PWT alone) becomes WC (01h); nothing maps with PWT alone before it.
constexpr u64 kPatWithWc = 0x0007'0406'0007'0106;
}  // namespace

const char* framebuffer_memory_type() { return fb_type; }

void init_paging(u64 fb_start, u64 fb_end, bool has_nx, bool pat) {
  nx = has_nx ? Pte::kNoExecute : 0;
  tables = x86::PageTable(table_arena(), addr(reinterpret_cast<char*>(pml4_pair[0])));
  x86::PageTable& pt = tables;
  const u64 rw = Pte::kWritable, kb = u64{1} << 10;

  // Low memory below the kernel: firmware areas and VGA text memory. Page 0 stays unmapped.
  must(pt.map_range(4 * kb, 4 * kb, addr(__kernel_start) - 4 * kb, rw | nx, false), "low memory");
  // The kernel image, with permissions per part.
  must(pt.map_range(addr(__kernel_start), addr(__kernel_start),
                    addr(__text_end) - addr(__kernel_start), 0, false),
       "kernel text");
  must(pt.map_range(addr(__text_end), addr(__text_end), addr(__data_start) - addr(__text_end), nx,
                    false),
       "kernel rodata");
  must(pt.map_range(addr(__data_start), addr(__data_start), addr(__kernel_end) - addr(__data_start),
                    rw | nx, false),
       "kernel data");
  // The JIT area is written and executed: RWX, on purpose and only there.
  must(pt.map_range(addr(__jit_start), addr(__jit_start), addr(__jit_end) - addr(__jit_start), rw,
                    false),
       "JIT area");
  pt.unmap_4k(addr(kernel_stack_guard));

  // Everything else up to the top of RAM (at least 4 GiB, where firmware and devices live), but
  // the framebuffer, which gets its own pages below.
  u64 top = the_frames.ram_top();
  if (top < kLowTableLimit) top = kLowTableLimit;
  top = (top + (u64{1} << 30) - 1) & ~((u64{1} << 30) - 1);
  u64 start = (addr(__kernel_end) + x86::kPage - 1) & ~(x86::kPage - 1);
  const u64 fb_lo = fb_start & ~(x86::kPage - 1),
            fb_hi = (fb_end + x86::kPage - 1) & ~(x86::kPage - 1);
  const bool fb = fb_end > fb_start && fb_lo >= start;
  const u64 hole_lo = fb && fb_lo < top ? fb_lo : top,
            hole_hi = fb && fb_lo < top ? (fb_hi < top ? fb_hi : top) : top;
  must(pt.map_range(start, start, hole_lo - start, rw | nx, true), "physical memory");
  if (hole_hi < top)
    must(pt.map_range(hole_hi, hole_hi, top - hole_hi, rw | nx, true), "physical memory");
  if (fb) {
    const bool wc = pat && x86::wrmsr_safe(x86::msr::kPat, kPatWithWc);
    fb_type = wc ? "write-combining" : "uncached";
    const u64 type = wc ? Pte::kWriteThrough : Pte::kCacheDisable | Pte::kWriteThrough;
    must(pt.map_range(fb_lo, fb_lo, fb_hi - fb_lo, rw | nx | type, false), "framebuffer");
  }

  x86::write_cr3(kernel_cr3());
}

bool make_uncached(u64 phys) {
  const x86::Translation t = tables.translate(phys);
  if (!t.present) return false;
  u64* leaf = tables.entry(phys, t.level);
  if (!leaf) return false;
  *leaf |= Pte::kCacheDisable | Pte::kWriteThrough;
  x86::write_cr3(x86::read_cr3());  // every CPU's copy of the old type goes (only this one runs)
  return true;
}

x86::PageTable& kernel_tables() { return tables; }
x86::Cr3 kernel_cr3() { return x86::Cr3::root(addr(reinterpret_cast<char*>(pml4_pair[0]))); }
u64* user_pml4() { return pml4_pair[1]; }
x86::Arena table_arena() { return x86::Arena{arena_alloc, arena_table, nullptr}; }
u64 nx_bit() { return nx; }

u8* jit_area() { return reinterpret_cast<u8*>(__jit_start); }
usize jit_area_size() { return static_cast<usize>(addr(__jit_end) - addr(__jit_start)); }

x86::KernelImage kernel_image() {
  return {addr(__kernel_start), addr(__entry_text_start), addr(__text_end), addr(__data_start)};
}

}  // namespace ptb::memory
