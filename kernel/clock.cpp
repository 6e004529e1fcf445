#include "kernel/clock.h"

#include "arch/x86/cpu.h"
#include "arch/x86/page_table.h"
#include "arch/x86/tsc.h"
#include "kernel/memory.h"

namespace ptb::clock {
namespace {

using calibration::Kind;
using calibration::Source;

constexpr u64 kWindowNs = 20'000'000;  // measure over 20 ms of the reference clock
// Between two reads of the reference clock: a read is a port or MMIO access (about a
// microsecond on hardware, far more under an emulator), and only the first and last pair of
// reads enter the result, so polling sparsely costs no precision.
constexpr u32 kSpinBetweenReads = 256;
// A reference clock that has not counted its window after this many TSC ticks (about a second on
// real CPUs; under an instruction-counting TSC, 4 G instructions) is taken as not ticking.
constexpr u64 kStuckTicks = u64{1} << 32;

// The hypervisor's TSC frequency leaf (the VMware/KVM convention: 0x40000010 EAX in kHz), when
// the hypervisor's maximum leaf reaches it.
u64 hypervisor_tsc_hz(const x86::CpuInfo& cpu) {
  if (!cpu.has(x86::Feature::kHypervisor)) return 0;
  if (x86::cpuid(0x4000'0000).eax < 0x4000'0010) return 0;
  return u64{x86::cpuid(0x4000'0010).eax} * 1000;
}

// TSC ticks per second against a counter of `counter_hz`; `read` returns its value modulo
// 2^`bits`. 0 when the counter does not move.
template <typename Read>
u64 measure(Read read, u32 bits, double counter_hz) {
  const u64 mask = bits >= 64 ? ~u64{0} : (u64{1} << bits) - 1;
  const u64 window = static_cast<u64>(counter_hz * static_cast<double>(kWindowNs) / 1e9);
  // The TSC is read just before the counter at both ends, so both intervals are alike.
  const u64 t0 = x86::rdtsc_ordered();
  const u64 c0 = read() & mask;
  u64 c = c0, t = t0;
  while (((c - c0) & mask) < window) {
    for (u32 i = 0; i < kSpinBetweenReads; ++i) x86::pause();
    t = x86::rdtsc_ordered();
    if (t - t0 > kStuckTicks) return 0;
    c = read() & mask;
  }
  const double counted = static_cast<double>((c - c0) & mask);
  return static_cast<u64>(static_cast<double>(t - t0) * counter_hz / counted + 0.5);
}

u64 pm_timer_tsc_hz(const acpi::PmTimer& pm) {
  if (!pm.present) return 0;
  const u16 port = pm.port;
  return measure([port] { return u64{x86::inl(port)}; }, pm.bits32 ? 32 : 24,
                 static_cast<double>(acpi::kPmTimerHz));
}

// The HPET's registers (IA-PC HPET 1.0a 2.3): capabilities at 0 (period in femtoseconds in bits
// 63:32, 64-bit counter when bit 13), configuration at 0x10 (bit 0 enables the counter), the
// main counter at 0xf0. Mapped uncached where the kernel tables do not map it already.
u64 hpet_tsc_hz(const acpi::Hpet& h) {
  if (!h.present) return 0;
  x86::PageTable& kt = memory::kernel_tables();
  if (!kt.translate(h.base).present) {
    const u64 flags =
        x86::Pte::kWritable | x86::Pte::kCacheDisable | x86::Pte::kWriteThrough | memory::nx_bit();
    if (kt.map_4k(h.base, h.base, flags) != x86::MapError::kNone) return 0;
  }
  volatile u64* regs = reinterpret_cast<volatile u64*>(h.base);
  const u64 caps = regs[0];
  const u64 period_fs = caps >> 32;
  // The specification allows at most 100 ns per tick; 0 or more is not an HPET.
  if (period_fs == 0 || period_fs > 100'000'000) return 0;
  if (!(regs[2] & 1)) regs[2] = regs[2] | 1;  // start the main counter
  const u32 bits = (caps >> 13 & 1) ? 64 : 32;
  return measure([regs] { return u64{regs[30]}; }, bits, 1e15 / static_cast<double>(period_fs));
}

}  // namespace

calibration::Verdict calibrate_tsc(const x86::CpuInfo& cpu, const acpi::Tables& acpi,
                                   u64 cmdline_hz) {
  // In order of preference. Leaf 16h states the base frequency, which equals the TSC rate on the
  // Intel parts that lack the crystal clock in 15h; AMD has neither leaf.
  enum { kCmdline, kLeaf15, kHypervisor, kHpet, kPmTimer, kLeaf16, kPit, kCount };
  Source s[kCount] = {
      {"cmdline", Kind::kDeclared, cmdline_hz},
      {"cpuid.15h", Kind::kDeclared, cpu.tsc_hz_leaf15},
      {"cpuid.40000010h", Kind::kDeclared, hypervisor_tsc_hz(cpu)},
      {"hpet", Kind::kMeasured, 0},
      {"pm-timer", Kind::kMeasured, 0},
      {"cpuid.16h", Kind::kDeclared,
       cpu.vendor_kind == x86::Vendor::kIntel ? cpu.base_hz_leaf16 : 0},
      {"pit", Kind::kMeasured, 0},
  };
  // Measure, in order, until there is a measured figure and at least two figures in all.
  auto enough = [&s] {
    usize available = 0;
    bool measured = false;
    for (const Source& x : s) {
      available += x.hz ? 1 : 0;
      measured = measured || (x.hz && x.kind == Kind::kMeasured);
    }
    return measured && available >= 2;
  };
  if (!enough()) s[kHpet].hz = hpet_tsc_hz(acpi.hpet);
  if (!enough()) s[kPmTimer].hz = pm_timer_tsc_hz(acpi.pm_timer);
  if (!enough()) s[kPit].hz = x86::calibrate_tsc_with_pit();
  return calibration::decide(s, kCount);
}

}  // namespace ptb::clock
