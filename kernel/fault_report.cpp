#include "kernel/fault_report.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_setup.h"
#include "kernel/console.h"
#include "kernel/run.h"
#include "lib/json.h"

extern "C" char kernel_stack_guard[];

namespace ptb {
namespace {

using x86::TrapFrame;

void reg(TextBuf& t, const char* name, u64 v) {
  t.put(name).put('=').put_hex(v, 16, false).put("  ");
}

// A machine check: IA32_MCG_STATUS and every bank whose IA32_MCi_STATUS is valid (SDM Vol.3
// 17.3), when CPUID says the machine-check architecture is there (CPUID.01H:EDX[14]); every MSR
// through the #GP-safe accessor, so a missing one reads as 0 instead of faulting again.
u64 msr_or_zero(u32 msr) {
  const x86::MsrRead r = x86::rdmsr_safe(msr);
  return r.ok ? r.value : 0;
}

void report_machine_check() {
  if (!(x86::cpuid(1).edx & (1u << 14))) {
    console::line(
        "  machine check: the CPU reports no machine-check architecture (no banks to read)");
    return;
  }
  const u64 cap = msr_or_zero(0x179), status = msr_or_zero(0x17a);
  Text<160> t;
  t.put("  machine check: MCG_CAP=").put_hex(cap).put(" MCG_STATUS=").put_hex(status);
  t.put((status & 4) ? " (MCIP" : " (no MCIP").put((status & 1) ? ", restartable)" : ")");
  console::line(t);
  const u32 banks = static_cast<u32>(cap & 0xff);
  for (u32 i = 0; i < banks && i < 32; ++i) {
    const u64 bank = msr_or_zero(0x401 + 4 * i);
    if (!(bank >> 63)) continue;  // VAL
    t.clear();
    t.put("    bank ").put_u64(i).put(": MC").put_u64(i).put("_STATUS=").put_hex(bank);
    if (bank >> 61 & 1) t.put(" UC");
    if (bank >> 58 & 1) t.put(" ADDR=").put_hex(msr_or_zero(0x402 + 4 * i));
    console::line(t);
  }
}

[[noreturn]] void report(const TrapFrame& f) {
  // Read the control registers first, before anything else can change them.
  u64 cr2 = x86::read_cr2(), cr3 = x86::read_cr3().raw, cr4 = x86::read_cr4().raw;
  u64 vector = f.vector & 0xff;
  const char* mnemonic = vector < 32 ? x86::kVectors[vector].mnemonic : "INT";
  const char* name = vector < 32 ? x86::kVectors[vector].name : "software interrupt";
  unsigned ring = static_cast<unsigned>(f.cs & 3);
  bool pti = x86::percpu().pti != 0;

  console::line("");
  console::line("================================ FAULT ================================");
  Text<200> t;
  t.put("FAULT: ").put(mnemonic).put(' ').put(name).put(" (vector ").put_u64(vector);
  t.put(", error code ").put_hex(f.error_code).put(") in ring ").put_u64(ring);
  console::line(t);
  t.clear();
  t.put("  while running: ").put(run::phase());
  console::line(t);
  if (vector == 14) {
    t.clear();
    t.put("  ");
    explain_page_fault(t, f.error_code, cr2, pti);
    console::line(t);
  }
  if (vector == 18) report_machine_check();
  u64 guard = reinterpret_cast<u64>(kernel_stack_guard);
  if ((vector == 8 || vector == 14) && ring == 0 && f.rsp >= guard - 512 &&
      f.rsp < guard + 4096 + 64) {
    console::line("  kernel stack overflow: RSP is at the guard page below the kernel stack");
  }
  // Three to a line, control registers first.
  const struct {
    const char* name;
    u64 value;
  } regs[] = {{"RIP", f.rip}, {"CS", f.cs},   {"RFLAGS", f.rflags}, {"RSP", f.rsp}, {"SS", f.ss},
              {"CR2", cr2},   {"CR3", cr3},   {"CR4", cr4},         {"RAX", f.rax}, {"RBX", f.rbx},
              {"RCX", f.rcx}, {"RDX", f.rdx}, {"RSI", f.rsi},       {"RDI", f.rdi}, {"RBP", f.rbp},
              {"R8", f.r8},   {"R9", f.r9},   {"R10", f.r10},       {"R11", f.r11}, {"R12", f.r12},
              {"R13", f.r13}, {"R14", f.r14}, {"R15", f.r15}};
  constexpr usize kCount = sizeof(regs) / sizeof(regs[0]);
  for (usize i = 0; i < kCount; i += 3) {
    t.clear();
    for (usize k = i; k < i + 3 && k < kCount; ++k) reg(t, regs[k].name, regs[k].value);
    console::line(t);
  }
  console::line("=======================================================================");

  Text<600> buf;
  JsonRecord j(buf, "fault");
  j.num("vector", vector)
      .str("mnemonic", mnemonic)
      .str("name", name)
      .num("error_code", f.error_code);
  j.hex("rip", f.rip).hex("cs", f.cs).hex("rflags", f.rflags).hex("rsp", f.rsp);
  j.hex("cr2", cr2).hex("cr3", cr3).hex("cr4", cr4).num("ring", ring).boolean("pti", pti);
  j.str("phase", run::phase());
  console::record(j.finish());
  run::tally().failed++;
  run::finish();
}

void on_fatal_trap(const TrapFrame& f) { report(f); }

}  // namespace

void explain_page_fault(TextBuf& t, u64 ec, u64 cr2, bool pti_active) {
  // SDM Vol.3 4.7: P, W/R, U/S, RSVD, I/D.
  t.put((ec & 16) ? "instruction fetch" : (ec & 2) ? "write" : "read");
  t.put(" at ").put_hex(cr2).put(" from ").put((ec & 4) ? "user mode" : "kernel mode").put(": ");
  if (ec & 8) {
    t.put("reserved bit set in a paging entry");
  } else if (ec & 1) {
    t.put("protection violation (page present)");
  } else {
    t.put("page not mapped");
  }
  if ((ec & 4) && !(ec & 1) && pti_active) t.put(" in the user page tables (PTI isolation)");
  if (!(ec & 4) && cr2 < 4096) t.put(" (null pointer)");
}

void install_fault_report() { x86::set_fatal_trap_handler(on_fatal_trap); }

}  // namespace ptb
