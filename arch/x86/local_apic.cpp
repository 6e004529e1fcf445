#include "arch/x86/local_apic.h"

#include "arch/x86/cpu.h"

extern "C" ptb::u64 apic_eoi_x2apic = 0;
extern "C" ptb::u64 apic_eoi_register = 0;
extern "C" void (*ipi_call_handler)() = nullptr;

namespace ptb::x86::apic {
namespace {

Mode the_mode = Mode::kNone;
u64 base = 0;

volatile u32* reg(Reg r) { return reinterpret_cast<volatile u32*>(base + static_cast<u32>(r)); }

u32 read(Reg r) {
  if (the_mode == Mode::kX2apic) return static_cast<u32>(rdmsr(x2apic_msr(r)));
  return *reg(r);
}
void write(Reg r, u32 v) {
  if (the_mode == Mode::kX2apic)
    wrmsr(x2apic_msr(r), v);
  else
    *reg(r) = v;
}

}  // namespace

Mode probe() {
  const CpuidRegs leaf1 = cpuid(1);
  const bool has_apic = leaf1.edx & (1u << 9), has_x2apic = leaf1.ecx & (1u << 21);
  const ApicBase b{has_apic ? rdmsr(kMsrApicBase) : 0};
  the_mode = choose_mode(has_apic, has_x2apic, b.x2apic());
  base = the_mode == Mode::kXapic ? b.base() : 0;
  apic_eoi_x2apic = the_mode == Mode::kX2apic;
  apic_eoi_register = base + static_cast<u32>(Reg::kEoi);
  return the_mode;
}

Mode mode() { return the_mode; }
u64 mmio_base() { return base; }

void enable_this_cpu(u8 spurious_vector, bool lint1_nmi) {
  if (the_mode == Mode::kNone) return;
  // Disabled -> x2APIC is not a valid transition (SDM Vol.3 11.12.5): through xAPIC first.
  ApicBase b{rdmsr(kMsrApicBase)};
  if (!(b.raw & ApicBase::kGlobalEnable)) {
    b = b.enabled(Mode::kXapic);
    wrmsr(kMsrApicBase, b.raw);
  }
  if (the_mode == Mode::kX2apic && !b.x2apic()) wrmsr(kMsrApicBase, b.enabled(the_mode).raw);
  write(Reg::kTpr, 0);
  write(Reg::kLvtTimer, kLvtMasked);
  write(Reg::kLvtLint0, kLvtMasked);
  write(Reg::kLvtError, kLvtMasked);
  if (lint1_nmi) write(Reg::kLvtLint1, kLvtNmi);
  write(Reg::kSvr, kSvrEnable | spurious_vector);
}

u32 this_cpu_id() { return id_from_register(the_mode, read(Reg::kId)); }

void eoi() { write(Reg::kEoi, 0); }

void send(const Icr& icr) {
  if (the_mode == Mode::kX2apic) {
    mfence();  // the stores before the IPI are visible before it is sent
    wrmsr(x2apic_msr(Reg::kIcrLow), icr.x2apic_value());
    return;
  }
  while (*reg(Reg::kIcrLow) & Icr::kDeliveryPending) pause();
  *reg(Reg::kIcrHigh) = icr.xapic_high();
  *reg(Reg::kIcrLow) = icr.low;  // this write sends
}

}  // namespace ptb::x86::apic
