// The one place that applies a row's environment (bench/row.h Env) and undoes it: CR4.PCIDE and
// the kernel PCID, the PTI pair and entry scheme in the per-CPU area, the SYSCALL entry and an
// IDT gate. Nothing else in the kernel toggles PCIDE but the probe cr4.pcide.off, for which
// clearing it inside the row's scope is the operation under test (bench/probe_cpu.cpp).
#pragma once

#include "arch/x86/descriptors.h"
#include "bench/row.h"

namespace ptb::bench {

class EnvScope {
 public:
  // Applies `env`: from here on, ring 3 entered through ring3_enter runs on the scheme's user
  // CR3 and the kernel on its kernel CR3; with PCID, CR4.PCIDE = 1 and CR3 carries the kernel PCID.
  explicit EnvScope(const Env& env);
  // Restores CR3, CR4, the per-CPU PTI state, LSTAR and the gate as they were before.
  ~EnvScope();
  EnvScope(const EnvScope&) = delete;
  EnvScope& operator=(const EnvScope&) = delete;

 private:
  Env env_;
  u64 saved_cr3_, saved_cr4_;
  x86::IdtGate saved_gate_{};
};

// Points the row's entry (LSTAR when env.lstar is set, else env.vector's gate, with the DPL
// EnvScope gives it) at `entry` inside the row's scope: a crossing's counter passes enter through
// their own stub, and the row's own is put back with env.lstar or env.gate. Nothing else changes.
void set_row_entry(const Env& env, const u8* entry);

}  // namespace ptb::bench
