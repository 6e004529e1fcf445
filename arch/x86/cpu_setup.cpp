#include "arch/x86/cpu_setup.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_state.h"
#include "arch/x86/fault_fixup.h"

extern "C" const ptb::u64 trap_stub_table[32];
extern "C" char __entry_text_start[], __entry_text_end[], __entry_rodata_start[],
    __entry_data_start[], __entry_data_end[];

namespace ptb::x86 {
namespace {

// Everything the CPU or the entry stubs touch before the kernel's page tables are loaded: under
// PTI these pages are mapped into the user tables (supervisor-only). The descriptor tables are
// read-only there: the CPU only reads them once the accessed and busy bits are set.
#define ENTRY_RODATA [[gnu::section(".entry.rodata")]]
#define ENTRY_DATA [[gnu::section(".entry.data")]]
ENTRY_RODATA alignas(16) u64 gdt[sel::kGdtEntries];
ENTRY_RODATA alignas(16) IdtGate idt[256];
ENTRY_RODATA alignas(16) Tss tss;
ENTRY_DATA alignas(64) PerCpu cpu0;
ENTRY_DATA alignas(16) u8 entry_stack[kEntryStackSize];
ENTRY_DATA alignas(16) u8 ist_stacks[3][kIstStackSize];

FaultFixup msr_fixup;
TrapHook trap_hook = nullptr;
FatalTrapHandler fatal_handler = nullptr;

void load_gdt_and_segments(const u64* table) {
  DescriptorPointer p{static_cast<u16>(sizeof(gdt) - 1), reinterpret_cast<u64>(table)};
  asm volatile("lgdt %0" ::"m"(p) : "memory");
  // Reload CS with a far return, then the data segments. "memory": descriptors change.
  asm volatile(
      "pushq %[cs]\n\t"
      "leaq 1f(%%rip), %%rax\n\t"
      "pushq %%rax\n\t"
      "lretq\n"
      "1:\n\t"
      "movw %[ds], %%ax\n\t"
      "movw %%ax, %%ds\n\t"
      "movw %%ax, %%es\n\t"
      "movw %%ax, %%ss\n\t"
      "xorl %%eax, %%eax\n\t"
      "movw %%ax, %%fs\n\t"
      "movw %%ax, %%gs\n\t" ::[cs] "i"(sel::kKernelCode),
      [ds] "i"(sel::kKernelData)
      : "rax", "memory");
  asm volatile("ltr %w0" ::"r"(sel::kTss) : "memory");
}

// One CPU's GDT (the same layout on every CPU, its own TSS) and TSS: RSP0 the entry stack, IST1-3
// the double-fault, NMI and machine-check stacks.
void fill_gdt_and_tss(u64* table, Tss& t, u64 entry_top, u8 (*ist)[kIstStackSize]) {
  table[0] = 0;
  table[sel::kKernelCode / 8] = SegmentDescriptor::code64(0).raw;
  table[sel::kKernelData / 8] = SegmentDescriptor::data(0).raw;
  table[sel::kUserCode32 / 8] = SegmentDescriptor::code32(3).raw;
  table[sel::kUserData / 8] = SegmentDescriptor::data(3).raw;
  table[sel::kUserCode / 8] = SegmentDescriptor::code64(3).raw;
  TssDescriptor td = TssDescriptor::make(reinterpret_cast<u64>(&t), sizeof(Tss) - 1);
  table[sel::kTss / 8] = td.low;
  table[sel::kTss / 8 + 1] = td.high;
  t.rsp[0] = entry_top;
  for (int i = 0; i < 3; ++i) t.ist[i] = reinterpret_cast<u64>(ist[i]) + kIstStackSize;
}

void load_idt() {
  DescriptorPointer ip{static_cast<u16>(sizeof(idt) - 1), reinterpret_cast<u64>(idt)};
  asm volatile("lidt %0" ::"m"(ip) : "memory");
}

void point_gs_at(PerCpu& pc) {
  pc.self = &pc;
  wrmsr(msr::kGsBase, reinterpret_cast<u64>(&pc));
  wrmsr(msr::kKernelGsBase, 0);
}

}  // namespace

void init_descriptors() {
  fill_gdt_and_tss(gdt, tss, entry_stack_top(), ist_stacks);
  load_gdt_and_segments(gdt);

  for (unsigned v = 0; v < 32; ++v) {
    unsigned ist = v == 8 ? 1 : v == 2 ? 2 : v == 18 ? 3 : 0;
    // #BP and #OF are raised by INT3/INTO, which ring 3 may execute: DPL 3.
    unsigned dpl = (v == 3 || v == 4) ? 3 : 0;
    idt[v] = IdtGate::make(trap_stub_table[v], sel::kKernelCode, ist, dpl);
  }
  load_idt();

  cpu0.entry_rsp = entry_stack_top();
  point_gs_at(cpu0);
}

void init_ap_descriptors(CpuArea& area, u64 index) {
  const u64 entry_top = reinterpret_cast<u64>(area.entry_stack) + kEntryStackSize;
  fill_gdt_and_tss(area.gdt, area.tss, entry_top, area.ist_stacks);
  load_gdt_and_segments(area.gdt);
  load_idt();
  area.percpu.entry_rsp = entry_top;
  area.percpu.cpu_index = index;
  point_gs_at(area.percpu);
}

PerCpu& this_cpu() {
  PerCpu* p;
  asm volatile("movq %%gs:%c1, %0" : "=r"(p) : "i"(offsetof(PerCpu, self)));
  return *p;
}

PerCpu& percpu() { return cpu0; }

IdtGate set_gate(unsigned vector, u64 handler, unsigned dpl, unsigned ist) {
  IdtGate old = idt[vector & 0xff];
  idt[vector & 0xff] = IdtGate::make(handler, sel::kKernelCode, ist, dpl);
  return old;
}

void restore_gate(unsigned vector, IdtGate old) { idt[vector & 0xff] = old; }

u64 entry_stack_top() { return reinterpret_cast<u64>(entry_stack) + kEntryStackSize; }

Range entry_text() {
  return {reinterpret_cast<u64>(__entry_text_start), reinterpret_cast<u64>(__entry_text_end)};
}
Range entry_rodata() {
  return {reinterpret_cast<u64>(__entry_rodata_start), reinterpret_cast<u64>(__entry_data_start)};
}
Range entry_data() {
  return {reinterpret_cast<u64>(__entry_data_start), reinterpret_cast<u64>(__entry_data_end)};
}

void init_syscall(u64 entry, u64 kernel_stack_top) {
  // SDM Vol.3 5.8.8. FMASK clears IF, TF, DF, AC and NT on entry, as Linux does.
  wrmsr(msr::kStar, star(sel::kKernelCode, sel::kUserCode32));
  wrmsr(msr::kLstar, entry);
  wrmsr(msr::kFmask, rflags::kIf | rflags::kTf | rflags::kDf | rflags::kAc | rflags::kNt);
  // The whole known value; NXE is as the boot stub chose it from CPUID (boot/entry.asm wrote
  // boot_efer, so nothing of the firmware's EFER is left to inherit).
  wrmsr(msr::kEfer, kernel_efer((rdmsr(msr::kEfer) & Efer::kNxe) != 0).raw);
  cpu0.kernel_rsp = kernel_stack_top;
}

// One instruction that may raise #GP, between the labels msr_fixup names: a fault there resumes
// at label 2 (trap_dispatch). The operands: a scratch register and the two fixup addresses.
#define PTB_GP_FIXUP(insn)     \
  "leaq 1f(%%rip), %[tmp]\n\t" \
  "movq %[tmp], %[fault]\n\t"  \
  "leaq 2f(%%rip), %[tmp]\n\t" \
  "movq %[tmp], %[resume]\n1:\t" insn "\n2:"
#define PTB_GP_FIXUP_OUTPUTS(tmp) \
  [tmp] "=&r"(tmp), [fault] "=m"(msr_fixup.fault_rip), [resume] "=m"(msr_fixup.resume_rip)

namespace {
// After the instruction: whether it faulted; the expectation is withdrawn either way.
bool gp_fixed_up() {
  msr_fixup.fault_rip = 0;
  msr_fixup.allow_ud = false;
  const bool faulted = msr_fixup.faulted;
  msr_fixup.faulted = false;
  return faulted;
}
}  // namespace

// "memory": the trap handler writes msr_fixup behind the compiler's back. RDMSR and RDPMC take
// ECX and return EDX:EAX alike: one definition for both.
#define PTB_DEFINE_READ_SAFE(name, insn, ud)                     \
  MsrRead name(u32 ecx) {                                        \
    u32 lo, hi;                                                  \
    u64 tmp;                                                     \
    msr_fixup.allow_ud = ud;                                     \
    asm volatile(PTB_GP_FIXUP(insn)                              \
                 : "=a"(lo), "=d"(hi), PTB_GP_FIXUP_OUTPUTS(tmp) \
                 : "c"(ecx)                                      \
                 : "memory");                                    \
    if (gp_fixed_up()) return {false, 0};                        \
    return {true, (u64{hi} << 32) | lo};                         \
  }
PTB_DEFINE_READ_SAFE(rdmsr_safe, "rdmsr", false)
PTB_DEFINE_READ_SAFE(rdpmc_safe, "rdpmc", true)
#undef PTB_DEFINE_READ_SAFE

bool wrmsr_safe(u32 msr, u64 value) {
  u64 tmp;
  asm volatile(PTB_GP_FIXUP("wrmsr")
               : PTB_GP_FIXUP_OUTPUTS(tmp)
               : "c"(msr), "a"(static_cast<u32>(value)), "d"(static_cast<u32>(value >> 32))
               : "memory");
  return !gp_fixed_up();
}

GuardedRun invlpgb_tlbsync_safe(const Invlpgb& op) {
  u64 tmp;
  msr_fixup.allow_ud = true;
  asm volatile(PTB_GP_FIXUP(".byte 0x0f, 0x01, 0xfe")
               : PTB_GP_FIXUP_OUTPUTS(tmp)
               : "a"(op.rax), "c"(op.ecx), "d"(op.edx)
               : "memory");
  if (gp_fixed_up()) return {false, "INVLPGB", msr_fixup.vector};
  msr_fixup.allow_ud = true;
  asm volatile(PTB_GP_FIXUP(".byte 0x0f, 0x01, 0xff") : PTB_GP_FIXUP_OUTPUTS(tmp)::"memory");
  if (gp_fixed_up()) return {false, "TLBSYNC", msr_fixup.vector};
  return {true, "", 0};
}

void set_syscall_entry(u64 entry) { wrmsr(msr::kLstar, entry); }

void set_trap_hook(TrapHook hook) { trap_hook = hook; }
void set_fatal_trap_handler(FatalTrapHandler handler) { fatal_handler = handler; }

}  // namespace ptb::x86

extern "C" void trap_dispatch(ptb::x86::TrapFrame* frame) {
  using namespace ptb::x86;
  if (msr_fixup.apply(*frame)) return;
  if (trap_hook != nullptr && trap_hook(*frame)) return;
  if (fatal_handler != nullptr) fatal_handler(*frame);
  for (;;) hlt();
}
