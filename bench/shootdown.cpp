#include "bench/shootdown.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_setup.h"
#include "arch/x86/layout.h"
#include "arch/x86/local_apic.h"
#include "arch/x86/page_table.h"
#include "bench/options.h"
#include "kernel/memory.h"
#include "kernel/smp.h"
#include "lib/atomic.h"
#include "lib/format.h"

namespace ptb::bench {
namespace {

using x86::Pte;

// The pages: virtual kRegion + i * 4 KiB maps frame[gen][i]; every frame holds magic(i, gen).
constexpr u64 kRegion = memory::kBenchBase + (u64{8} << 30);
constexpr u32 kMaxPages = kMaxShootdownPages;
constexpr u64 magic(u32 page, u32 gen) { return 0x5348'4f4f'5400'0000 | (u64{page} << 1) | gen; }

struct Pages {
  bool mapped;
  u64 frame[2][kMaxPages];
  u64* pte[kMaxPages];
} pages;

constexpr u64 kTimeoutMs = 2000;  // under emulation a vCPU thread may wait long for a host CPU
constexpr x86::Pcid kUserPcidOfTargets = x86::user_pcid(x86::Asid{0});  // 0x801 (PCID 0 kernel)
char reason_buf[200];

// One row's shared state; the counters are cumulative over its rounds.
struct Shoot {
  u32 pages;
  FlushPlan plan;
  u32 targets;
  bool pcid;  // pti.pcid: the targets run with CR4.PCIDE = 1
  bool skip;  // shootdown_targets=skip: the targets acknowledge without invalidating
  u64 timeout;
  u64 round;  // shootdowns done; round r maps frame[r & 1]
  u64 ready;  // targets that read (and so cached) the current round's mappings
  u64 acks;   // targets that invalidated
  u64 stale;
  u64 stop;
  bool timed_out;
  // the first stale read
  u64 stale_cpu, stale_page, stale_seen, stale_round;
} sd;

bool map_pages() {
  if (pages.mapped) return true;
  x86::PageTable& kt = memory::kernel_tables();
  for (u32 i = 0; i < kMaxPages; ++i) {
    for (u32 g = 0; g < 2; ++g) {
      pages.frame[g][i] = memory::alloc_zeroed();
      *reinterpret_cast<u64*>(pages.frame[g][i]) = magic(i, g);
    }
    const u64 va = kRegion + u64{i} * x86::kPage;
    if (kt.map_4k(va, pages.frame[0][i], Pte::kWritable | memory::nx_bit()) != x86::MapError::kNone)
      return false;
    pages.pte[i] = kt.entry(va, 1);
  }
  pages.mapped = true;
  return true;
}

void point_pages_at(u32 count, u32 gen) {
  for (u32 i = 0; i < count; ++i)
    *static_cast<volatile u64*>(pages.pte[i]) =
        Pte::make(pages.frame[gen][i], Pte::kPresent | Pte::kWritable | memory::nx_bit()).raw;
}

// This CPU's part of a shootdown (bench/shootdown_plan.h).
void invalidate(const FlushPlan& plan, u32 count, x86::Pcid user) {
  if (plan.full) {
    x86::write_cr3(x86::read_cr3().with_noflush(false));
  } else {
    for (u32 i = 0; i < count; ++i)
      x86::invlpg(reinterpret_cast<void*>(kRegion + u64{i} * x86::kPage));
  }
  if (plan.user == UserPcidFlush::kInvpcid) {
    for (u32 i = 0; i < count; ++i)
      x86::invpcid(x86::InvpcidType::kAddress, {user.value, kRegion + u64{i} * x86::kPage});
  } else if (plan.user == UserPcidFlush::kLazy) {
    x86::this_cpu().user_pcid_flush = 1;  // the next return to user space flushes the user PCID
  }
}

// The call vector's handler on each target.
void on_shootdown() {
  if (!sd.skip) invalidate(sd.plan, sd.pages, kUserPcidOfTargets);
  fetch_add(sd.acks, u64{1});
}

// Reads every page through its mapping; counts the reads that did not see round r's frame.
void verify(u64 r, u64 cpu) {
  const u32 gen = static_cast<u32>(r & 1);
  for (u32 i = 0; i < sd.pages; ++i) {
    const u64 v = *reinterpret_cast<const volatile u64*>(kRegion + u64{i} * x86::kPage);
    if (v == magic(i, gen)) continue;
    if (fetch_add(sd.stale, u64{1}) == 0) {
      sd.stale_cpu = cpu;
      sd.stale_page = i;
      sd.stale_seen = v;
      sd.stale_round = r;
    }
  }
}

bool spin_until(const u64& counter, u64 value) {
  if (smp::await(sd.timeout, [&] { return load_acquire(counter) >= value; })) return true;
  sd.timed_out = true;
  return false;
}

// A target for the whole row: interrupts on (the shootdown arrives as an IPI); after each round
// it reads every page (which also caches the new translations for the next round).
void participant(void*) {
  const x86::Cr4 cr4 = x86::read_cr4();
  if (sd.pcid) x86::write_cr4(cr4.with(x86::Cr4::kPcide, true));  // CR3's PCID is 0 here
  x86::write_cr3(x86::read_cr3());  // nothing of an earlier row's mappings survives
  const u64 cpu = x86::this_cpu().cpu_index;
  x86::sti();
  u64 seen = ~u64{0};
  for (;;) {
    if (load_acquire(sd.stop)) break;
    const u64 r = load_acquire(sd.round);
    if (r != seen) {
      seen = r;
      verify(r, cpu);
      fetch_add(sd.ready, u64{1});
    }
    x86::pause();
  }
  x86::cli();
  if (sd.pcid) x86::write_cr4(cr4);
  x86::this_cpu().user_pcid_flush = 0;
}

i64 shoot_once(void*) {
  if (sd.timed_out) return 0;
  const u64 r = sd.round;
  if (!spin_until(sd.ready, u64{sd.targets} * (r + 1))) return 0;
  verify(r, 0);  // the initiator has them cached too
  const u64 t0 = x86::rdtsc_ordered();
  point_pages_at(sd.pages, static_cast<u32>((r + 1) & 1));
  invalidate(sd.plan, sd.pages, x86::user_pcid(x86::Asid{0}));
  for (u32 t = 1; t <= sd.targets; ++t)
    x86::apic::send(x86::apic::Icr::fixed(x86::kVectorCall, smp::apic_id(t)));
  const bool acked = spin_until(sd.acks, u64{sd.targets} * (r + 1));
  const u64 t1 = x86::rdtsc_ordered();
  store_release(sd.round, r + 1);
  return acked ? static_cast<i64>(t1 - t0) : 0;
}

Result with_reason(Status s, const TextBuf& t) { return {s, t.c_str()}; }

bool has_invlpgb(const x86::CpuInfo& cpu) {
  return cpu.max_ext_leaf >= 0x8000'0008 && (x86::cpuid(0x8000'0008).ebx & (1u << 3)) != 0;
}

}  // namespace

Result measure_shootdown(const Row& row, const Params& p, const x86::CpuInfo& cpu) {
  TextBuf t(reason_buf, sizeof(reason_buf));
  if (row.shoot == ShootScheme::kInvlpgb) {
    if (!has_invlpgb(cpu))
      return with_reason(Status::kSkip, t.put("CPU lacks INVLPGB (CPUID.80000008H:EBX[3])"));
    return with_reason(Status::kSkip, t.put("INVLPGB shootdowns are not implemented yet"));
  }
  const u32 used = smp::used();
  if (used < 2u + (row.targets - 1u)) {
    t.put("needs ").put_u64(row.targets + 1u).put(" CPUs; ").put_u64(used).put(" used (of ");
    return with_reason(Status::kSkip, t.put_u64(smp::summary().found).put(" found)"));
  }
  if (row.pages > kMaxPages || !map_pages())
    return {Status::kFail, "cannot map the shootdown pages"};

  const bool invpcid = cpu.has(x86::Feature::kInvpcid);
  sd = {};
  sd.pages = row.pages;
  sd.plan = plan_flush(row.pages, static_cast<u32>(options().ceiling), row.shoot, invpcid);
  sd.skip = options().targets_skip_invalidation();
  sd.targets = row.targets;
  sd.pcid = row.shoot == ShootScheme::kPtiPcid;
  sd.timeout = smp::tsc_hz() / 1000 * kTimeoutMs;
  // Every mapping at frame[0], nothing older cached here (the targets flush when they start).
  point_pages_at(kMaxPages, 0);
  x86::write_cr3(x86::read_cr3().with_noflush(false));
  const u64 lazy = x86::this_cpu().user_pcid_flush;

  ipi_call_handler = on_shootdown;
  for (u32 c = 1; c <= sd.targets; ++c) smp::post(c, participant, nullptr);
  Result r = sample_repetitions(p, 1, shoot_once, nullptr);
  spin_until(sd.ready, u64{sd.targets} * (sd.round + 1));  // the last round's reads
  store_release(sd.stop, u64{1});
  for (u32 c = 1; c <= sd.targets; ++c) smp::wait(c);
  ipi_call_handler = nullptr;
  x86::this_cpu().user_pcid_flush = lazy;

  r.stale_reads = sd.stale;
  r.plan = sd.plan;
  if (sd.timed_out) {
    t.put("targets did not acknowledge within ").put_u64(kTimeoutMs).put(" ms");
    Result f = with_reason(Status::kFail, t);
    f.stale_reads = sd.stale;
    f.plan = sd.plan;
    return f;
  }
  if (sd.stale) {
    t.put("stale reads: ").put_u64(sd.stale).put(" (first: CPU ").put_u64(sd.stale_cpu);
    t.put(" page ").put_u64(sd.stale_page).put(" read ").put_hex(sd.stale_seen).put(", expected ");
    t.put_hex(magic(static_cast<u32>(sd.stale_page), static_cast<u32>(sd.stale_round & 1)));
    t.put(" after shootdown ").put_u64(sd.stale_round).put(')');
    Result f = with_reason(Status::kFail, t);
    f.stale_reads = sd.stale;
    f.plan = sd.plan;
    return f;
  }
  return r;
}

}  // namespace ptb::bench
