#include "bench/env.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_setup.h"
#include "arch/x86/layout.h"
#include "arch/x86/regs.h"
#include "bench/symbols.h"
#include "bench/user_space.h"

namespace ptb::bench {
namespace {

using x86::Cr3;
using x86::Cr4;
using x86::EntryScheme;

u64 addr(const u8* p) { return reinterpret_cast<u64>(p); }

// A #PF gate stays DPL 0 (the fault is not raised by INT n); INT3 and INT n need DPL 3.
unsigned gate_dpl(u8 vector) { return vector == 14 ? 0 : 3; }

}  // namespace

EnvScope::EnvScope(const Env& env)
    : env_(env), saved_cr3_(x86::read_cr3().raw), saved_cr4_(x86::read_cr4().raw) {
  const u64 root = Cr3{saved_cr3_}.table();
  // A PCID row without PTI still runs the kernel on the kernel PCID (Linux's first ASID slot).
  const EntryScheme cr3_scheme =
      env.pcid && env.scheme == EntryScheme::kNone ? EntryScheme::kPcid : env.scheme;
  const x86::PtiCr3 cr3 = x86::pti_cr3(cr3_scheme, root);
  if (env.scheme != EntryScheme::kNone) install_pti_globals(env.globals());
  if (env.pcid_mode()) {
    // SDM Vol.3 4.10.1: CR4.PCIDE may only be set while CR3[11:0] = 0 (the saved root's PCID).
    x86::write_cr3(Cr3::root(root));
    x86::write_cr4(x86::read_cr4().with(Cr4::kPcide, true));
    x86::write_cr3(Cr3{cr3.kernel});
  }
  x86::PerCpu& pc = x86::percpu();
  pc.pti = env.scheme == EntryScheme::kNone ? 0 : 1;
  pc.kernel_cr3 = cr3.kernel;
  pc.user_cr3 = cr3.user;
  pc.user_pcid_flush = 0;
  if (env.lstar) x86::set_syscall_entry(addr(env.lstar));
  if (env.vector) saved_gate_ = x86::set_gate(env.vector, addr(env.gate), gate_dpl(env.vector));
}

EnvScope::~EnvScope() {
  if (env_.vector) x86::restore_gate(env_.vector, saved_gate_);
  if (env_.lstar) x86::set_syscall_entry(addr(syscall_entry_direct));
  x86::PerCpu& pc = x86::percpu();
  pc.pti = 0;
  pc.kernel_cr3 = pc.user_cr3 = saved_cr3_;
  pc.user_pcid_flush = 0;
  if (env_.pcid_mode()) {
    // Back to PCID 0 before PCIDE goes: with PCIDE = 0, CR3[4:3] are read as PCD/PWT again.
    x86::write_cr3(Cr3::root(Cr3{saved_cr3_}.table()));
  }
  // Whatever the row did to CR4 (PCIDE, PGE) and the TLB, the next one starts from the same state.
  x86::write_cr4(Cr4{saved_cr4_});
  x86::write_cr3(Cr3{saved_cr3_});
  if (env_.scheme != EntryScheme::kNone) install_pti_globals(x86::PtiGlobals::kNone);
}

void set_row_entry(const Env& env, const u8* entry) {
  if (env.lstar) {
    x86::set_syscall_entry(addr(entry));
  } else if (env.vector) {
    (void)x86::set_gate(env.vector, addr(entry),
                        gate_dpl(env.vector));  // EnvScope kept the original
  }
}

}  // namespace ptb::bench
