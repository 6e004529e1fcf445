// What machine this is, as far as the run's end depends on it: QEMU and Bochs have exit ports
// (isa-debug-exit at 0xf4, Bochs' shutdown port 0x8900) that the verdict is written to; on any
// other machine those ports may belong to real devices, so nothing is written there.
#pragma once

#include "lib/types.h"

namespace ptb::platform {

enum class Kind : u8 {
  kUnknown,  // not known yet (before the CPU and ACPI were read)
  kQemu,     // QEMU, TCG or KVM: its firmware's ACPI OEM "BOCHS " with a hypervisor, or TCG's CPUID
  kBochs,    // Bochs: its firmware's ACPI OEM "BOCHS " and no hypervisor bit
  kOther,    // bare metal or another hypervisor
};
const char* kind_name(Kind k);

// Pure: from CPUID's hypervisor bit and vendor signature and the ACPI RSDP's OEM ID (nullptr when
// ACPI is not known yet).
Kind classify(bool hypervisor, const char* hypervisor_vendor, const char* acpi_oem);

void set(Kind k);
Kind current();

}  // namespace ptb::platform
