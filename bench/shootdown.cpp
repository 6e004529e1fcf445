#include "bench/shootdown.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_setup.h"
#include "arch/x86/fault_fixup.h"
#include "arch/x86/layout.h"
#include "arch/x86/local_apic.h"
#include "arch/x86/page_table.h"
#include "arch/x86/pti.h"
#include "bench/measure.h"
#include "bench/options.h"
#include "bench/user_space.h"
#include "kernel/memory.h"
#include "kernel/smp.h"
#include "lib/atomic.h"
#include "lib/format.h"

// bench/shootdown.asm: a target's next return to user space, on each PTI scheme.
struct ShootVisit {
  ptb::u64 stale, first;
};
static_assert(sizeof(ShootVisit) == 16);  // SysV: returned in RAX (stale) and RDX (first)
extern "C" ShootVisit shoot_user_visit_pti(ptb::u64 va, ptb::u64 pages, ptb::u64 magic0);
extern "C" ShootVisit shoot_user_visit_pcid(ptb::u64 va, ptb::u64 pages, ptb::u64 magic0);

namespace ptb::bench {
namespace {

using x86::Pte;

// The pages: virtual kRegion + i * 4 KiB maps frame[gen][i]; every frame holds magic(i, gen).
// They are user pages in the user half of the address space (PML4 slot 255, which both tables of
// the PTI pair share), so that a CPU on the PTI pair caches them under its kernel PCID and, once
// it returns to user space, its user PCID, as it does a process's memory that munmap or mprotect
// changes (what Linux's shootdowns are mostly for). Supervisor-only pages would instead be kernel
// pages in the user tables, which PTI must never expose (the self-test pti.user_tables checks it).
constexpr u64 kRegion = memory::kUserBase + (u64{4} << 30);
constexpr u32 kMaxPages = kMaxShootdownPages;
constexpr u64 magic(u32 page, u32 gen) { return 0x5348'4f4f'5400'0000 | (u64{page} << 1) | gen; }
static_assert(magic(3, 1) == magic(0, 1) + 2 * 3);  // shootdown.asm counts up from page 0's

struct Pages {
  bool mapped;
  u64 frame[2][kMaxPages];
  u64* pte[kMaxPages];
} pages;

// Every CPU of a PCID scheme runs on Linux's first ASID slot: kernel PCID 1, user PCID 0x801.
constexpr x86::Pcid kKernelPcid = x86::kernel_pcid(x86::Asid{0});
constexpr x86::Pcid kUserPcid = x86::user_pcid(x86::Asid{0});
char reason_buf[240];

// The targets' return-to-user times, target t of round r (1-based) at (r - 1) * T + t - 1.
constexpr u32 kMaxUserSamples = 1u << 16;
constexpr i64 kDisturbed = -1;  // a return-to-user sample an NMI hit (ticks are never negative)
i64 user_samples[kMaxUserSamples];
// The INVLPGB operations of one broadcast shootdown (bench/shootdown_plan.h plan_invlpgb).
x86::Invlpgb invlpgb_ops[2 * kMaxPages + 2];

// One row's shared state; the counters are cumulative over its rounds.
struct Shoot {
  u32 pages;
  ShootScheme scheme;
  FlushPlan plan;
  u32 targets;
  bool skip;        // shootdown_targets=skip: the targets acknowledge without invalidating
  bool global;      // shootdown_targets=skip-global: the pages are global too, so that on a CPU
                    // that honours PGE their translations survive the targets' CR3 writes and
                    // the user half's reads must see them (a test of the user-half check)
  x86::PtiCr3 cr3;  // the targets' kernel and user CR3 (PTI schemes)
  usize ops;        // broadcast schemes: invlpgb_ops[0, ops)
  u64 timeout;
  u64 round;  // shootdowns done; round r maps frame[r & 1]
  u64 ready;  // targets that read (and so cached) the current round's mappings
  u64 acks;   // targets that invalidated
  u64 stale, stale_user;
  u64 stop;
  bool timed_out;
  // the first stale read
  u64 stale_cpu, stale_page, stale_seen, stale_round;
  bool stale_through_user;
} sd;

bool map_pages() {
  if (pages.mapped) return true;
  setup_user_space();  // the user half's tables, into which these pages go
  x86::PageTable& kt = memory::kernel_tables();
  for (u32 i = 0; i < kMaxPages; ++i) {
    for (u32 g = 0; g < 2; ++g) {
      pages.frame[g][i] = memory::alloc_zeroed();
      *reinterpret_cast<u64*>(pages.frame[g][i]) = magic(i, g);
    }
    const u64 va = kRegion + u64{i} * x86::kPage;
    const u64 flags = Pte::kWritable | Pte::kUser | memory::nx_bit();
    if (kt.map_4k(va, pages.frame[0][i], flags) != x86::MapError::kNone) return false;
    pages.pte[i] = kt.entry(va, 1);
  }
  pages.mapped = true;
  return true;
}

void point_pages_at(u32 count, u32 gen) {
  const u64 flags = Pte::kPresent | Pte::kWritable | Pte::kUser | memory::nx_bit() |
                    (sd.global ? Pte::kGlobal : 0);
  for (u32 i = 0; i < count; ++i)
    *static_cast<volatile u64*>(pages.pte[i]) = Pte::make(pages.frame[gen][i], flags).raw;
}

// skip-global's global translations must not outlive its row, on any CPU that held them (the
// targets as they leave it, CPU 0 after them): a CR4.PGE toggle drops every entry, globals
// included (SDM Vol.3 4.10.4.1; without PGE there are none, and it changes nothing).
void drop_globals() {
  if (sd.global) x86::toggle_pge();
}

// This CPU's part of a shootdown under IPIs (bench/shootdown_plan.h).
void invalidate(const FlushPlan& plan, u32 count) {
  if (plan.full) {
    x86::write_cr3(x86::read_cr3().with_noflush(false));
  } else {
    for (u32 i = 0; i < count; ++i)
      x86::invlpg(reinterpret_cast<void*>(kRegion + u64{i} * x86::kPage));
  }
  if (plan.user == UserPcidFlush::kInvpcid) {
    for (u32 i = 0; i < count; ++i)
      x86::invpcid(x86::InvpcidType::kAddress, {kUserPcid.value, kRegion + u64{i} * x86::kPage});
  } else if (plan.user == UserPcidFlush::kLazy) {
    // Linux's invalidate_user_asid: the kernel PCID's bit in the mask, which the next return to
    // user space (TO_USER_CR3) tests, clears, and answers with a flushing CR3 write.
    x86::this_cpu().user_pcid_flush |= u64{1} << kKernelPcid.value;
  }
}

// The call vector's handler on each target.
void on_shootdown() {
  if (!sd.skip) invalidate(sd.plan, sd.pages);
  fetch_add(sd.acks, u64{1});
}

void count_stale(u64 n, u64 cpu, u64 page, u64 seen, u64 r, bool user) {
  if (n == 0) return;
  if (user) fetch_add(sd.stale_user, n);
  if (fetch_add(sd.stale, n) == 0) {
    sd.stale_cpu = cpu;
    sd.stale_page = page;
    sd.stale_seen = seen;
    sd.stale_round = r;
    sd.stale_through_user = user;
  }
}

// Reads every page through its mapping; counts the reads that did not see round r's frame.
void verify(u64 r, u64 cpu) {
  const u32 gen = static_cast<u32>(r & 1);
  for (u32 i = 0; i < sd.pages; ++i) {
    const u64 v = *reinterpret_cast<const volatile u64*>(kRegion + u64{i} * x86::kPage);
    if (v != magic(i, gen)) count_stale(1, cpu, i, v, r, false);
  }
}

// Reads every page again, to cache its translation; what it reads was checked just before.
void touch() {
  for (u32 i = 0; i < sd.pages; ++i)
    (void)*reinterpret_cast<const volatile u64*>(kRegion + u64{i} * x86::kPage);
}

// The next return to user space after round r's shootdown, timed (bench/shootdown.asm).
void return_to_user(u64 r, u64 cpu) {
  const u64 m0 = magic(0, static_cast<u32>(r & 1));
  const bool pcid = targets_pcid(sd.scheme);
  const u64 nmis = nmi_count();  // this CPU's (disturbances() adds SMIs by an MSR read on CPU 0)
  const u64 t0 = x86::rdtsc_ordered();
  const ShootVisit v = pcid ? shoot_user_visit_pcid(kRegion, sd.pages, m0)
                            : shoot_user_visit_pti(kRegion, sd.pages, m0);
  const u64 t1 = x86::rdtsc_ordered();
  count_stale(v.stale, cpu, v.first, 0, r, true);
  // A return an NMI interrupted is not a sample: kDisturbed, left out of the figure.
  const bool disturbed = nmi_count() != nmis;
  const u64 slot = (r - 1) * sd.targets + (cpu - 1);
  if (r >= 1 && slot < kMaxUserSamples)
    user_samples[slot] = disturbed ? kDisturbed : static_cast<i64>(t1 - t0);
}

bool spin_until(const u64& counter, u64 value) {
  if (smp::await(sd.timeout, [&] { return load_acquire(counter) >= value; })) return true;
  sd.timed_out = true;
  return false;
}

// A target for the whole row: interrupts on (the shootdown arrives as an IPI; none comes with
// INVLPGB); after each round it reads every page (which also caches the new translations for the
// next round), and on the PTI schemes returns to user space once, timed, reading them there too,
// and reads them once more in the kernel.
void participant(void*) {
  const x86::Cr4 cr4 = x86::read_cr4();
  const x86::Cr3 cr3 = x86::read_cr3();
  const bool pti = targets_pti(sd.scheme), pcid = targets_pcid(sd.scheme);
  if (pcid) x86::write_cr4(cr4.with(x86::Cr4::kPcide, true));  // CR3's PCID is 0 here
  // A flushing write either way: nothing of an earlier row's mappings survives.
  x86::write_cr3(pti ? x86::Cr3{sd.cr3.kernel} : cr3);
  x86::this_cpu().user_pcid_flush = 0;
  x86::set_ac(true);  // the pages are user pages: with SMAP, ring 0 reads them only with AC = 1
  const u64 cpu = x86::this_cpu().cpu_index;
  x86::sti();
  u64 seen = ~u64{0};
  for (;;) {
    if (load_acquire(sd.stop)) break;
    const u64 r = load_acquire(sd.round);
    if (r != seen) {
      seen = r;
      verify(r, cpu);
      if (pti) {
        x86::cli();  // on the user tables there is no stack to take an interrupt on
        return_to_user(r, cpu);
        x86::sti();
        // Back in the kernel, which touches the pages again (say, copy_from_user): without PCID
        // the switch back flushed every translation, and the next shootdown must find the
        // kernel's cached, or a target that forgets to invalidate would go unseen.
        touch();
      }
      fetch_add(sd.ready, u64{1});
    }
    x86::pause();
  }
  x86::cli();
  x86::set_ac(false);
  if (pcid) x86::write_cr3(x86::Cr3::root(cr3.table()));  // PCID 0 before PCIDE goes
  x86::write_cr3(cr3);
  if (pcid) x86::write_cr4(cr4);
  drop_globals();
  x86::this_cpu().user_pcid_flush = 0;
}

// One shootdown: the PTE rewrites and what it takes until no CPU can use the old translations.
i64 shoot_once(void*) {
  if (sd.timed_out) return 0;
  const u64 r = sd.round;
  if (!spin_until(sd.ready, u64{sd.targets} * (r + 1))) return 0;
  verify(r, 0);  // the initiator has them cached too
  const u64 t0 = x86::rdtsc_ordered();
  point_pages_at(sd.pages, static_cast<u32>((r + 1) & 1));
  bool done = true;
  if (broadcast(sd.scheme)) {
    // Every CPU's TLB, this one's included, from here: no IPI, no local INVLPG (Linux's
    // broadcast_tlb_flush and invlpgb_kernel_range_flush do none either).
    // The PTE stores are ordered before the broadcast, as Linux's LOCK-prefixed
    // inc_mm_tlb_gen orders them before broadcast_tlb_flush (one fence, paid in the figure).
    x86::mfence();
    for (usize i = 0; i < sd.ops; ++i) x86::invlpgb(invlpgb_ops[i]);
    x86::tlbsync();
  } else {
    invalidate(sd.plan, sd.pages);
    for (u32 t = 1; t <= sd.targets; ++t)
      x86::apic::send(x86::apic::Icr::fixed(x86::kVectorCall, smp::apic_id(t)));
    done = spin_until(sd.acks, u64{sd.targets} * (r + 1));
  }
  const u64 t1 = x86::rdtsc_ordered();
  store_release(sd.round, r + 1);
  return done ? static_cast<i64>(t1 - t0) : 0;
}

Result with_reason(Status s, const TextBuf& t) { return {s, t.c_str()}; }

// Whether INVLPGB and TLBSYNC run here, each operation of the row tried once with the fault
// fixup armed (a hypervisor may advertise them and not pass them through: #UD; a CPU may refuse
// the operands: #GP). nullptr when they run; otherwise the skip reason.
const char* try_invlpgb(TextBuf& t, const x86::CpuInfo& cpu) {
  for (usize i = 0; i < sd.ops; ++i) {
    const x86::GuardedRun run = x86::invlpgb_tlbsync_safe(invlpgb_ops[i]);
    if (run.ok) continue;
    t.put(run.insn).put(run.vector == x86::kVectorUd ? " raised #UD" : " raised #GP");
    t.put(" (RAX=").put_hex(invlpgb_ops[i].rax).put(" ECX=").put_hex(invlpgb_ops[i].ecx);
    t.put(" EDX=").put_hex(invlpgb_ops[i].edx).put(')');
    t.put(cpu.has(x86::Feature::kInvlpgb) ? " although CPUID.80000008H:EBX[3] reports it"
                                          : " (CPUID.80000008H:EBX[3] clear; invlpgb=force)");
    return t.c_str();
  }
  return nullptr;
}

Result fail_with(Status s, TextBuf& t) {
  Result f = with_reason(s, t);
  f.stale_reads = sd.stale;
  f.stale_user_reads = sd.stale_user;
  f.plan = sd.plan;
  f.shoot_targets = sd.targets;
  return f;
}

// The return-to-user samples of the measured rounds (after the warm-up ones), pooled over the
// targets.
Summary user_return_summary(const Params& p) {
  const u64 first = u64{p.warmup} * sd.targets;
  u64 end = sd.round * sd.targets;
  if (end > kMaxUserSamples) end = kMaxUserSamples;
  u64 kept = first;  // the undisturbed ones, moved together
  for (u64 i = first; i < end; ++i)
    if (user_samples[i] != kDisturbed) user_samples[kept++] = user_samples[i];
  if (first >= kept) return {};
  return summarize(user_samples + first, static_cast<u32>(kept - first), 1.0);
}

}  // namespace

Result measure_shootdown(const Row& row, const Params& p, const x86::CpuInfo& cpu) {
  TextBuf t(reason_buf, sizeof(reason_buf));
  const bool bcast = broadcast(row.shoot);
  if (bcast && !cpu.has(x86::Feature::kInvlpgb) && !options().force_invlpgb())
    return with_reason(Status::kSkip, t.put("CPU lacks INVLPGB (CPUID.80000008H:EBX[3])"));
  // INVLPGB's kernel form runs against every other CPU used.
  const u32 used = smp::used();
  const u32 targets = row.shoot == ShootScheme::kInvlpgb ? (used > 1 ? used - 1 : 1) : row.targets;
  if (used < 2u + (targets - 1u)) {
    t.put("needs ").put_u64(targets + 1u).put(" CPUs; ").put_u64(used).put(" used (of ");
    return with_reason(Status::kSkip, t.put_u64(smp::summary().found).put(" found)"));
  }
  if (row.pages > kMaxPages || !map_pages())
    return {Status::kFail, "cannot map the shootdown pages"};

  const bool invpcid = cpu.has(x86::Feature::kInvpcid);
  sd = {};
  sd.pages = row.pages;
  sd.scheme = row.shoot;
  sd.plan = plan_flush(row.pages, static_cast<u32>(options().ceiling), row.shoot, invpcid);
  sd.skip = options().targets_skip_invalidation();
  sd.global = options().shootdown_pages_global();
  sd.targets = targets;
  sd.cr3 = x86::pti_cr3(targets_pcid(row.shoot) ? x86::EntryScheme::kPcid : x86::EntryScheme::kPti,
                        memory::kernel_cr3().table());
  sd.timeout = smp::ticks_for_ms(smp::kAnswerTimeoutMs);
  // Every mapping at frame[0], nothing older cached here (the targets flush when they start).
  point_pages_at(kMaxPages, 0);
  x86::write_cr3(x86::read_cr3().with_noflush(false));
  if (bcast) {
    const u32 most = cpu.invlpgb_max_pages ? cpu.invlpgb_max_pages : 1;
    sd.ops = plan_invlpgb(kRegion, row.pages, static_cast<u32>(options().ceiling), most, row.shoot,
                          kKernelPcid, kUserPcid, invlpgb_ops,
                          sizeof(invlpgb_ops) / sizeof(invlpgb_ops[0]));
    if (const char* why = try_invlpgb(t, cpu)) return {Status::kSkip, why};
  }
  const u64 lazy = x86::this_cpu().user_pcid_flush;
  x86::set_ac(true);  // verify() reads user pages

  if (!bcast) ipi_call_handler = on_shootdown;
  for (u32 c = 1; c <= sd.targets; ++c) smp::post(c, participant, nullptr);
  Result r = sample_repetitions(p, 1, shoot_once, nullptr);
  spin_until(sd.ready, u64{sd.targets} * (sd.round + 1));  // the last round's reads
  store_release(sd.stop, u64{1});
  for (u32 c = 1; c <= sd.targets; ++c) smp::wait(c);
  drop_globals();
  ipi_call_handler = nullptr;
  x86::set_ac(false);
  x86::this_cpu().user_pcid_flush = lazy;

  if (sd.timed_out) {
    t.put("targets did not acknowledge within ").put_u64(smp::kAnswerTimeoutMs).put(" ms");
    return fail_with(Status::kFail, t);
  }
  if (sd.stale) {
    t.put("stale reads: ").put_u64(sd.stale).put(" (first: CPU ").put_u64(sd.stale_cpu);
    t.put(" page ").put_u64(sd.stale_page);
    if (sd.stale_through_user) {
      t.put(" through the user PCID at its return to user space");
    } else {
      t.put(" read ").put_hex(sd.stale_seen);
    }
    t.put(", expected ");
    t.put_hex(magic(static_cast<u32>(sd.stale_page), static_cast<u32>(sd.stale_round & 1)));
    t.put(" after shootdown ").put_u64(sd.stale_round).put(')');
    return fail_with(Status::kFail, t);
  }
  r.stale_reads = sd.stale;
  r.stale_user_reads = sd.stale_user;
  r.plan = sd.plan;
  r.shoot_targets = sd.targets;
  r.invlpgb_ops = static_cast<u32>(sd.ops);
  if (targets_pti(row.shoot)) r.return_to_user = user_return_summary(p);
  return r;
}

}  // namespace ptb::bench
