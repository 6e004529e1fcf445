#include "kernel/smp_plan.h"

namespace ptb::smp {
namespace {

constexpr u64 kFrame = 4096, kLowLimit = u64{1} << 20;

bool overlaps(u64 a, u64 a_end, u64 b, u64 b_end) { return a < b_end && b < a_end; }

bool page_usable(u64 page, const mb2::MemoryRegion* map, usize count, const PhysRange* avoid,
                 usize avoid_count) {
  const u64 end = page + kFrame;
  bool inside_available = false;
  for (usize i = 0; i < count; ++i) {
    const mb2::MemoryRegion& r = map[i];
    const u64 r_end = r.base + r.length < r.base ? ~u64{0} : r.base + r.length;
    if (r.type == mb2::kMemoryAvailable) {
      if (r.base <= page && end <= r_end) inside_available = true;
    } else if (overlaps(page, end, r.base, r_end)) {
      return false;
    }
  }
  if (!inside_available) return false;
  for (usize i = 0; i < avoid_count; ++i)
    if (overlaps(page, end, avoid[i].start, avoid[i].end)) return false;
  return true;
}

}  // namespace

u64 choose_trampoline(const mb2::MemoryRegion* map, usize count, const PhysRange* avoid,
                      usize avoid_count) {
  for (u64 page = kLowLimit - kFrame; page >= kFrame; page -= kFrame)
    if (page_usable(page, map, count, avoid, avoid_count)) return page;
  return 0;
}

Plan plan_cpus(const acpi::Madt& madt, u32 bsp_apic_id, x86::apic::Mode mode) {
  Plan p;
  p.found = 1;  // the boot CPU runs this, whatever the MADT says
  for (usize i = 0; i < madt.cpu_count && i < acpi::kMaxCpus; ++i) {
    const acpi::Cpu& c = madt.cpus[i];
    if (!(c.enabled || c.online_capable) || c.apic_id == bsp_apic_id) continue;
    bool duplicate = false;
    for (usize j = 0; j < i; ++j)
      if (madt.cpus[j].apic_id == c.apic_id &&
          (madt.cpus[j].enabled || madt.cpus[j].online_capable))
        duplicate = true;
    if (duplicate) continue;
    ++p.found;
    if (!x86::apic::addressable(mode, c.apic_id)) {
      ++p.unreachable;
    } else if (1 + p.ap_count >= kMaxCpus) {
      ++p.beyond;
    } else {
      p.ap_ids[p.ap_count++] = c.apic_id;
    }
  }
  return p;
}

}  // namespace ptb::smp
