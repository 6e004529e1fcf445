// Instruction wrappers: one tiny always-inline function per instruction, named after the
// mnemonic. Kernel only; the host build never includes this header. Anything that changes
// translation or ordering carries a "memory" clobber so the compiler neither caches memory across
// it nor moves loads and stores over it.
#pragma once

#include "arch/x86/invlpgb.h"
#include "arch/x86/regs.h"
#include "lib/types.h"

#define PTB_INLINE [[gnu::always_inline]] inline

namespace ptb::x86 {

PTB_INLINE void outb(u16 port, u8 v) {
  asm volatile("outb %0, %1" ::"a"(v), "Nd"(port) : "memory");
}
PTB_INLINE void outl(u16 port, u32 v) {
  asm volatile("outl %0, %1" ::"a"(v), "Nd"(port) : "memory");
}
PTB_INLINE u8 inb(u16 port) {
  u8 v;
  asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
  return v;
}
PTB_INLINE u32 inl(u16 port) {
  u32 v;
  asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
  return v;
}

struct CpuidRegs {
  u32 eax, ebx, ecx, edx;
};
PTB_INLINE CpuidRegs cpuid(u32 leaf, u32 subleaf = 0) {
  CpuidRegs r;
  asm volatile("cpuid"
               : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
               : "a"(leaf), "c"(subleaf));
  return r;
}

PTB_INLINE u64 rdmsr(u32 msr) {
  u32 lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (u64{hi} << 32) | lo;
}
PTB_INLINE void wrmsr(u32 msr, u64 v) {
  asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<u32>(v)), "d"(static_cast<u32>(v >> 32))
               : "memory");
}

PTB_INLINE u64 read_cr0() {
  u64 v;
  asm volatile("mov %%cr0, %0" : "=r"(v));
  return v;
}
PTB_INLINE void write_cr0(u64 v) { asm volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
PTB_INLINE u64 read_cr2() {
  u64 v;
  asm volatile("mov %%cr2, %0" : "=r"(v));
  return v;
}
// "memory": a CR3 write changes what every address means.
PTB_INLINE Cr3 read_cr3() {
  u64 v;
  asm volatile("mov %%cr3, %0" : "=r"(v)::"memory");
  return Cr3{v};
}
PTB_INLINE void write_cr3(Cr3 v) { asm volatile("mov %0, %%cr3" ::"r"(v.raw) : "memory"); }
PTB_INLINE Cr4 read_cr4() {
  u64 v;
  asm volatile("mov %%cr4, %0" : "=r"(v)::"memory");
  return Cr4{v};
}
PTB_INLINE void write_cr4(Cr4 v) { asm volatile("mov %0, %%cr4" ::"r"(v.raw) : "memory"); }
// CR4.PGE cleared and set again: drops every TLB entry, global or not, of every PCID, and every
// paging-structure cache (SDM Vol.3 4.10.4.1).
PTB_INLINE void toggle_pge() {
  const Cr4 cr4 = read_cr4();
  write_cr4(cr4.with(Cr4::kPge, false));
  write_cr4(cr4);
}

// "memory": after INVLPG the old translation of addr must not be assumed by the compiler either.
PTB_INLINE void invlpg(const volatile void* addr) {
  asm volatile("invlpg (%0)" ::"r"(addr) : "memory");
}

// SDM Vol.2 INVPCID: the descriptor is 16 bytes, PCID in bits 11:0 of the first quadword.
struct alignas(16) InvpcidDescriptor {
  u64 pcid;
  u64 addr;
};
enum class InvpcidType : u64 {
  kAddress = 0,
  kSingle = 1,
  kAllIncludingGlobal = 2,
  kAllNonGlobal = 3
};
PTB_INLINE void invpcid(InvpcidType type, const InvpcidDescriptor& d) {
  asm volatile("invpcid %0, %1" ::"m"(d), "r"(static_cast<u64>(type)) : "memory");
}
// The benchmarks run the other types from their assembly bodies; the kernel itself needs only this.
PTB_INLINE void invpcid_single(Pcid p) { invpcid(InvpcidType::kSingle, {p.value, 0}); }

// AMD APM Vol.3 INVLPGB (0F 01 FE) and TLBSYNC (0F 01 FF), spelt as bytes for assemblers that
// predate them. INVLPGB starts invalidating op's translations on every CPU and returns before they
// are gone; TLBSYNC waits until every INVLPGB this CPU issued has completed everywhere. "memory":
// nothing may be assumed about a translation across either. On a CPU (or under a hypervisor)
// without them they raise #UD: run the first of a kind through invlpgb_safe (cpu_setup.h).
PTB_INLINE void invlpgb(const Invlpgb& op) {
  asm volatile(".byte 0x0f, 0x01, 0xfe" ::"a"(op.rax), "c"(op.ecx), "d"(op.edx) : "memory");
}
PTB_INLINE void tlbsync() { asm volatile(".byte 0x0f, 0x01, 0xff" ::: "memory"); }

// RFLAGS.AC set or cleared without STAC/CLAC (which #UD without SMAP): with CR4.SMAP, ring 0 may
// read user pages only while AC = 1 (SDM Vol.3 4.6.1). Harmless otherwise (CR0.AM is clear).
PTB_INLINE void set_ac(bool on) {
  if (on)
    asm volatile("pushfq; orq $0x40000, (%%rsp); popfq" ::: "memory", "cc");
  else
    asm volatile("pushfq; andq $~0x40000, (%%rsp); popfq" ::: "memory", "cc");
}

// The harness's timestamp: LFENCE before waits for earlier instructions to complete, LFENCE after
// keeps later ones from starting before the read (SDM Vol.2 RDTSC; on AMD once DE_CFG[1] is set).
PTB_INLINE u64 rdtsc_ordered() {
  u32 lo, hi;
  asm volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
  return (u64{hi} << 32) | lo;
}

// A performance counter, ordered as the timestamp is (SDM Vol.2 RDPMC: not serialising, so LFENCE
// before waits for earlier instructions). ECX selects it: bit 30 set for the fixed counters.
PTB_INLINE u64 rdpmc_ordered(u32 index) {
  u32 lo, hi;
  asm volatile("lfence; rdpmc" : "=a"(lo), "=d"(hi) : "c"(index) : "memory");
  return (u64{hi} << 32) | lo;
}

PTB_INLINE void cli() { asm volatile("cli" ::: "memory"); }
PTB_INLINE void hlt() { asm volatile("hlt" ::: "memory"); }
PTB_INLINE void pause() { asm volatile("pause"); }
PTB_INLINE void sti() { asm volatile("sti" ::: "memory"); }
// Waits for an interrupt with interrupts enabled for exactly that long: STI's one-instruction
// shadow (SDM Vol.2 STI) means one arriving between the two is taken after HLT, so a caller that
// checked its condition with IF = 0 cannot miss the interrupt that changes it. IF is 0 again on
// return. "memory": the handler that ran changed memory.
PTB_INLINE void sti_hlt_cli() { asm volatile("sti; hlt; cli" ::: "memory"); }
// "memory": orders every earlier load and store before what follows (an IPI sent by WRMSR to the
// x2APIC ICR is not ordered by the WRMSR itself, SDM Vol.3 11.12.3).
PTB_INLINE void mfence() { asm volatile("mfence" ::: "memory"); }

}  // namespace ptb::x86
