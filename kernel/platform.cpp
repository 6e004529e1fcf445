#include "kernel/platform.h"

#include "lib/format.h"

namespace ptb::platform {
namespace {
Kind the_kind = Kind::kUnknown;
}  // namespace

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kUnknown:
      break;
    case Kind::kQemu:
      return "qemu";
    case Kind::kBochs:
      return "bochs";
    case Kind::kOther:
      return "other";
  }
  return "unknown";
}

Kind classify(bool hypervisor, const char* hv_vendor, const char* acpi_oem) {
  // TCG's signature is QEMU's alone; KVM's is shared with other VMMs, so it needs QEMU's firmware.
  if (hypervisor && hv_vendor && str_eq(hv_vendor, "TCGTCGTCGTCG")) return Kind::kQemu;
  if (!acpi_oem) return Kind::kUnknown;
  if (str_eq(acpi_oem, "BOCHS ")) return hypervisor ? Kind::kQemu : Kind::kBochs;
  return Kind::kOther;
}

void set(Kind k) { the_kind = k; }
Kind current() { return the_kind; }

}  // namespace ptb::platform
