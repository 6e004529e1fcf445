// The probes' CPU operations as instructions. Every operation under test is serialising (MOV to
// CR3 and CR4, INVLPG, INVPCID: SDM Vol.3 9.3), so the PTE or PDE store before it is visible to
// the page walk after it; the reset ends with one as well.
#include "bench/probe_cpu.h"

#include "arch/x86/cpu.h"
#include "arch/x86/page_table.h"
#include "arch/x86/regs.h"
#include "bench/measure.h"
#include "kernel/memory.h"
#include "lib/format.h"

namespace ptb::bench {
namespace {

using x86::Cr3;
using x86::Cr4;
using x86::Pte;

char probe_reason[200];

class KernelProbeCpu {
 public:
  KernelProbeCpu(const Fixture& fx, u64 nx) : fx_(fx), nx_(nx) {}

  void reset(const ProbeSpec& p) {
    disturbances_ = disturbances();
    pcid_mode_ = p.pcid;
    flags_ = Pte::kPresent | Pte::kWritable | nx_ | (p.global ? Pte::kGlobal : 0);
    entry(fx_.probe_table_a, fx_.probe_x) = Pte::make(fx_.probe_frame_a, flags_).raw;
    entry(fx_.probe_table_a, fx_.probe_y) = Pte::make(fx_.probe_frame_a, flags_).raw;
    entry(fx_.probe_table_b, fx_.probe_x) = Pte::make(fx_.probe_frame_b, flags_).raw;
    entry(fx_.probe_table_b, fx_.probe_y) = Pte::make(fx_.probe_frame_b, flags_).raw;
    pde() = Pte::make(fx_.probe_table_a, x86::PageTable::kTableFlags).raw;
    Cr4 cr4 = x86::read_cr4();
    if (p.pcid && !cr4.has(Cr4::kPcide)) {
      // After cr4.pcide.off: SDM Vol.3 4.10.1, PCIDE may be set only while CR3[11:0] = 0.
      x86::write_cr3(root());
      cr4 = cr4.with(Cr4::kPcide, true);
      x86::write_cr4(cr4);
    }
    if (cr4.has(Cr4::kPge)) {
      // SDM Vol.3 4.10.4.1: a PGE change drops every entry, global or not, of every PCID, and
      // every paging-structure cache.
      toggle_pge();
    } else {
      // No global entries without PGE: one flushing CR3 write per PCID the probes use.
      const u16 last = p.pcid ? 2 : 0;
      for (u16 id = 0; id <= last; ++id) x86::write_cr3(root().with_pcid(x86::Pcid{id}));
    }
    x86::write_cr3(root().with_pcid(x86::Pcid{static_cast<u16>(p.pcid ? 1 : 0)}));
  }
  Magic read(Page page) {
    const u64 v = *reinterpret_cast<volatile const u64*>(address(page));
    return v == kProbeMagicA ? Magic::kA : v == kProbeMagicB ? Magic::kB : Magic::kOther;
  }
  void retarget_pte() {
    entry(fx_.probe_table_a, fx_.probe_x) = Pte::make(fx_.probe_frame_b, flags_).raw;
  }
  void retarget_pde() { pde() = Pte::make(fx_.probe_table_b, x86::PageTable::kTableFlags).raw; }
  void write_cr3(u16 pcid, bool noflush) {
    // Bit 63 only with PCIDE = 1 (QEMU TCG hangs on it otherwise); the probes ask for it only then.
    x86::write_cr3(root().with_pcid(x86::Pcid{pcid}).with_noflush(noflush && pcid_mode_));
  }
  void invpcid(u32 type, u16 pcid, Page page) {
    x86::invpcid(static_cast<x86::InvpcidType>(type), {pcid, address(page)});
  }
  void invlpg(Page page) { x86::invlpg(reinterpret_cast<const volatile void*>(address(page))); }
  void toggle_pge() { x86::toggle_pge(); }
  void pcide_off() {
    x86::write_cr4(x86::read_cr4().with(Cr4::kPcide, false));
    pcid_mode_ = false;
  }
  // Leaves the region as the fixture made it (X, Y -> A through the first table); the caller's
  // EnvScope then restores CR3 and CR4, which drops what the probe left cached.
  void restore() { pde() = Pte::make(fx_.probe_table_a, x86::PageTable::kTableFlags).raw; }
  // An NMI or SMI since the reset: its handler's own accesses may have changed what the TLB holds.
  bool disturbed() const { return disturbances() != disturbances_; }

 private:
  Cr3 root() const { return Cr3::root(fx_.kernel_cr3); }
  u64 address(Page page) const { return page == Page::kX ? fx_.probe_x : fx_.probe_y; }
  // Page-table entries are written through volatile pointers: the walker reads them, the compiler
  // must not drop or merge a store it cannot see a load of.
  static volatile u64& entry(u64 table, u64 virt) {
    return reinterpret_cast<volatile u64*>(table)[x86::table_index(virt, 1)];
  }
  volatile u64& pde() const { return *reinterpret_cast<volatile u64*>(fx_.probe_pde); }

  const Fixture& fx_;
  u64 nx_;
  bool pcid_mode_ = false;
  u64 flags_ = 0;
  u64 disturbances_ = 0;
};
static_assert(ProbeCpu<KernelProbeCpu>);

}  // namespace

Result measure_probe(const Row& row, const Fixture& fx, const Params& p, const x86::CpuInfo& cpu) {
  usize count = 0;
  const ProbeSpec* specs = probe_specs(&count);
  if (row.probe >= count) return {Status::kFail, "no such probe"};
  const ProbeSpec& spec = specs[row.probe];
  KernelProbeCpu k(fx, memory::nx_bit());
  Observation o = run_probe(k, spec, p.reps);
  k.restore();
  o.vendor = cpu.vendor_kind;  // whose manual judges the reads (bench/probe.h, applied_rule)
  if (o.disturbed > max_probe_disturbed(p.reps)) return too_disturbed(o.disturbed);
  const Judgement j = judge(spec, o);
  Result r{Status::kOk, nullptr};
  r.probe = o;
  r.disturbed = o.disturbed;
  if (j.broken || j.violation) {
    TextBuf t(probe_reason, sizeof(probe_reason));
    if (j.broken) {
      t.put("probe broken: ").put_u64(o.other).put(" of ").put_u64(o.reads);
      t.put(" reads returned neither magic");
    } else {
      t.put("violation: kept ").put_u64(o.kept).put(" of ").put_u64(o.reads);
      t.put(" reads of a translation ").put(j.applied.reference).put(" requires dropped");
    }
    r.status = Status::kFail;
    r.reason = probe_reason;
  }
  return r;
}

}  // namespace ptb::bench
