// The address-space lab's policies (bench/asid_policy.h): against an independent reference of
// Linux's choose_new_asid and lazy user flush, and on the PCID-tagged TLB model (tests/
// aspace_model.h) over many random schedules: no policy leaves a stale translation visible, and
// deliberately broken ones are caught.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench/asid_policy.h"
#include "bench/aspace_paths.h"
#include "bench/row.h"
#include "tests/aspace_model.h"

namespace ptb::bench::aspace {
namespace {

// ---- an independent reference: Linux's arch/x86/mm/tlb.c, as its own code reads -----------
// Per CPU: ctxs[asid] = {ctx_id, tlb_gen}, next_asid, loaded_mm_asid, invalidate_other and
// user_pcid_flush_mask (a bit per kernel PCID). ctx_id 0 is never a live context.
struct LinuxRef {
  u32 nr_asids;
  std::vector<std::pair<u64, u64>> ctxs;
  u32 next_asid = 1;
  u32 loaded = 0;
  bool invalidate_other = false;
  std::vector<bool> user_flush = std::vector<bool>(2048);
  explicit LinuxRef(u32 n) : nr_asids(n), ctxs(n) { ctxs[0] = {1, 1}; }  // init_mm in slot 0

  // switch_mm_irqs_off for an mm that is not the loaded one: returns {asid, need_flush}.
  std::pair<u32, bool> switch_mm(u64 ctx_id, u64 next_tlb_gen) {
    if (invalidate_other) {  // clear_asid_other
      for (u32 a = 0; a < nr_asids; ++a)
        if (a != loaded) ctxs[a].first = 0;
      invalidate_other = false;
    }
    u32 asid = nr_asids;
    bool need_flush = true;
    for (u32 a = 0; a < nr_asids; ++a) {
      if (ctxs[a].first == ctx_id) {
        asid = a;
        need_flush = ctxs[a].second < next_tlb_gen;
        break;
      }
    }
    if (asid == nr_asids) {
      asid = next_asid++;
      if (asid >= nr_asids) {
        asid = 0;
        next_asid = 1;
      }
    }
    if (need_flush) {
      ctxs[asid] = {ctx_id, next_tlb_gen};
      user_flush[asid + 1] = true;  // invalidate_user_asid(asid): by kern_pcid
    }
    loaded = asid;
    return {asid, need_flush};
  }
  // SWITCH_TO_USER_CR3: flush the user PCID if its bit is set, and clear it.
  bool exit_to_user(u32 asid) {
    const bool f = user_flush[asid + 1];
    user_flush[asid + 1] = false;
    return f;
  }
  // flush_tlb_one_kernel under PTI without INVPCID: flush_tlb_one_user's INVLPG and
  // invalidate_user_asid(loaded_mm_asid), then invalidate_other.
  void flush_kernel_page() {
    user_flush[loaded + 1] = true;
    invalidate_other = true;
  }
};

u32 below(std::mt19937& rng, u32 n) { return static_cast<u32>(rng() % n); }

TEST(AsidPolicy, LinuxMatchesTheReferenceOverRandomOperations) {
  std::mt19937 rng(11);
  for (u32 trial = 0; trial < 300; ++trial) {
    const u32 slots = 1 + below(rng, 12), procs = 2 + below(rng, 20);
    AsidState st;
    u64 mask[kMaskWords];
    st.reset({Policy::kLinux, slots, procs, false}, mask);
    LinuxRef ref(slots);
    std::vector<u64> gen(procs, 1);
    u32 cur = ~0u;
    for (u32 step = 0; step < 200; ++step) {
      const u32 op = below(rng, 10);
      if (op == 0) {
        st.kernel_flush([](x86::Pcid) { FAIL() << "no INVPCID here"; }, [] {});
        ref.flush_kernel_page();
        continue;
      }
      if (op == 1) {
        u32 q = below(rng, procs);
        if (q == cur) continue;
        st.mm_changed(q);
        ++gen[q];
        continue;
      }
      u32 p = below(rng, procs);
      if (p == cur) p = (p + 1) % procs;
      const SwitchPlan plan = st.switch_to(p);
      const auto [asid, flush] = ref.switch_mm(p + 2, gen[p]);
      ASSERT_EQ(plan.asid, asid) << "trial " << trial << " step " << step;
      ASSERT_EQ(plan.flush, flush) << "trial " << trial << " step " << step;
      ASSERT_TRUE(plan.write_cr3);
      ASSERT_EQ(st.take_user_flush(plan.asid), ref.exit_to_user(asid));
      cur = p;
    }
  }
}

TEST(AsidPolicy, SixSlotsHoldSixProcessesAndThrashWithSeven) {
  for (u32 procs : {6u, 7u}) {
    const RunSpec spec{{Policy::kLinux, 6, procs, true}, Schedule::kRoundRobin, 10 * procs, 0};
    const model::Outcome o = model::simulate(spec, {});
    // Slot 0 starts with the kernel's context, so 6 processes fill all six slots once.
    EXPECT_EQ(o.counts.misses, procs == 6 ? 6u : 10u * procs) << procs;
    EXPECT_EQ(o.counts.hits + o.counts.misses, 10u * procs);
    EXPECT_EQ(o.counts.user_flushes, o.counts.flushes);
    EXPECT_EQ(o.stale, 0u) << o.first_stale;
  }
}

TEST(AsidPolicy, NopcidMissesAndFlushesEverySwitch) {
  const RunSpec spec{{Policy::kNopcid, 0, 4, false}, Schedule::kRandom, 50, 7};
  const model::Outcome o = model::simulate(spec, {});
  EXPECT_EQ(o.counts.misses, 50u);
  EXPECT_EQ(o.counts.flushes, 50u);
  EXPECT_EQ(o.counts.hits, 0u);
  EXPECT_EQ(o.counts.user_flushes, 0u);
  EXPECT_EQ(o.counts.kernel_flushes, 50u / 7);
  EXPECT_EQ(o.stale, 0u) << o.first_stale;
}

TEST(AsidPolicy, PerProcessFlushesOnlyAtFirstUseAndAfterInvalidateOther) {
  RunSpec spec{{Policy::kPerProcess, 0, 5, true}, Schedule::kRoundRobin, 40, 10};
  model::Outcome o = model::simulate(spec, {});
  EXPECT_EQ(o.counts.misses, 5u);              // INVPCID: nothing but the first uses
  EXPECT_EQ(o.counts.invpcids, 4u * 5u * 2u);  // each process's kernel and user PCID
  spec.cfg.invpcid = false;
  o = model::simulate(spec, {});
  // Each flush (before slices 9, 19, 29, 39) leaves the loaded process valid and makes the 4
  // others miss at their next use; after the last only slice 39 runs: 5 + 3 * 4 + 1 misses.
  EXPECT_EQ(o.counts.invalidate_others, 4u);
  EXPECT_EQ(o.counts.misses, 5u + 3u * 4u + 1u);
  EXPECT_EQ(o.stale, 0u) << o.first_stale;
}

TEST(AsidPolicy, DeferredSkipsTheKernelCr3OnEveryHit) {
  const RunSpec spec{{Policy::kDeferred, 6, 4, true}, Schedule::kHotPair, 64, 0};
  const model::Outcome o = model::simulate(spec, {});
  EXPECT_EQ(o.counts.skipped_cr3, o.counts.hits);
  EXPECT_GT(o.counts.hits, 0u);
  EXPECT_EQ(o.stale, 0u) << o.first_stale;
}

// The deferred policy's condition: between a switch that hit and the return to ring 3, the
// kernel still runs on the previous process's tables, so a kernel read of user memory there
// would see the previous process's page. The lab's kernel reads none.
TEST(AsidPolicy, DeferredKernelSeesThePreviousProcessUntilTheReturn) {
  AsidState st;
  u64 mask[kMaskWords];
  st.reset({Policy::kDeferred, 6, 2, true}, mask);
  model::TlbCpu cpu({}, true, mask);
  for (u32 p : {0u, 1u}) return_to_user(st, cpu, p, switch_to(st, cpu, p));
  const SwitchPlan plan = switch_to(st, cpu, 0);
  ASSERT_TRUE(plan.hit);
  ASSERT_FALSE(plan.write_cr3);
  EXPECT_EQ(cpu.kernel_reads_user_page(0), page_magic(1, 0));
  return_to_user(st, cpu, 0, plan);
  EXPECT_EQ(cpu.kernel_reads_user_page(0), page_magic(0, 0));
  EXPECT_EQ(cpu.stale(), 0u) << cpu.first_stale();
}

// ---- correctness over random schedules ---------------------------------------------------

RunSpec random_spec(std::mt19937& rng, Policy pol) {
  const u32 procs = 2 + below(rng, 10);
  const u32 slots = 1 + below(rng, 8);
  const bool invpcid = below(rng, 2) == 1;
  const Schedule sched = static_cast<Schedule>(below(rng, kScheduleCount));
  const u32 slices = 20 + below(rng, 80);
  const u32 every = below(rng, 4) == 0 ? 0u : 1 + below(rng, 12);
  return {{pol, slots, procs, invpcid}, sched, slices, every};
}
model::Shape random_shape(std::mt19937& rng) {
  const u32 pages = 1 + below(rng, 6), calls = below(rng, 4), kk = below(rng, 4);
  return {pages, calls, kk, below(rng, 2) == 1};
}

TEST(AsidPolicy, NoPolicyLeavesAStaleTranslationOverRandomSchedules) {
  std::mt19937 rng(2047);
  for (Policy pol : {Policy::kNopcid, Policy::kLinux, Policy::kPerProcess, Policy::kDeferred}) {
    u64 reads = 0;
    for (u32 trial = 0; trial < 400; ++trial) {
      const RunSpec spec = random_spec(rng, pol);
      const model::Outcome o = model::simulate(spec, random_shape(rng));
      ASSERT_EQ(o.stale, 0u) << policy_name(pol) << " trial " << trial << ": " << o.first_stale;
      ASSERT_EQ(o.counts.switches, spec.slices);
      ASSERT_EQ(o.counts.hits + o.counts.misses, spec.slices);
      reads += o.reads;
    }
    EXPECT_GT(reads, 10000u);
  }
}

// Broken policies: each leaves out one thing the correct ones do.
struct NoFlushOnMiss : AsidState {  // reuses a slot without flushing either half
  u64* m = nullptr;
  void reset(const Config& c, u64* mask) {
    AsidState::reset(c, mask);
    m = mask;
  }
  SwitchPlan switch_to(u32 p) {
    SwitchPlan plan = AsidState::switch_to(p);
    if (!plan.hit) {
      plan.flush = false;
      const u16 bit = x86::kernel_pcid(x86::Asid{plan.asid}).value;
      m[bit / 64] &= ~(u64{1} << (bit % 64));
    }
    return plan;
  }
};
struct NoLazyUserFlush : AsidState {  // forgets the user half of a flushed slot
  bool take_user_flush(u16 asid) {
    AsidState::take_user_flush(asid);
    return false;
  }
};
struct OnlyCurrentPcid : AsidState {  // invalidates the kernel page in the current PCID alone
  template <typename I, typename L>
  void kernel_flush(I, L invlpg) {
    invlpg();
  }
};

struct OnlyKernelPcids : AsidState {  // INVPCID: forgets the user PCIDs, which map it too
  template <typename I, typename L>
  void kernel_flush(I invpcid, L invlpg) {
    AsidState::kernel_flush(
        [&invpcid](x86::Pcid p) {
          if (!(p.value & x86::kUserPcidBit)) invpcid(p);
        },
        invlpg);
  }
};
struct NoCurrentUserFlush : AsidState {  // no INVPCID: forgets the current slot's user PCID
  u64* m = nullptr;
  void reset(const Config& c, u64* mask) {
    AsidState::reset(c, mask);
    m = mask;
  }
  template <typename I, typename L>
  void kernel_flush(I invpcid, L invlpg) {
    u64 before[kMaskWords];
    std::memcpy(before, m, sizeof(before));
    AsidState::kernel_flush(invpcid, invlpg);
    std::memcpy(m, before, sizeof(before));  // the lazy mark undone
  }
};

template <typename Broken>
u64 stale_reads_of(Policy pol, bool invpcid, u32 flush_every, u32 calls) {
  std::mt19937 rng(7);
  u64 stale = 0;
  for (u32 trial = 0; trial < 50; ++trial) {
    RunSpec spec = random_spec(rng, pol);
    spec.cfg.invpcid = invpcid;
    spec.cfg.slots = 1 + below(rng, 3);
    spec.cfg.processes = 4 + below(rng, 4);
    spec.flush_every = flush_every;
    model::Shape shape = random_shape(rng);
    shape.calls = calls;
    stale += model::simulate(spec, shape, Broken{}).stale;
  }
  return stale;
}

TEST(AsidPolicy, BrokenPoliciesAreCaught) {
  EXPECT_GT(stale_reads_of<NoFlushOnMiss>(Policy::kLinux, true, 0, 1), 0u);
  // perprocess misses at first use (nothing to be stale yet) and after invalidate_other.
  EXPECT_GT(stale_reads_of<NoFlushOnMiss>(Policy::kPerProcess, false, 3, 2), 0u);
  EXPECT_GT(stale_reads_of<NoLazyUserFlush>(Policy::kLinux, true, 0, 1), 0u);
  EXPECT_GT(stale_reads_of<NoLazyUserFlush>(Policy::kDeferred, false, 5, 1), 0u);
  EXPECT_GT(stale_reads_of<OnlyCurrentPcid>(Policy::kLinux, false, 3, 2), 0u);
  EXPECT_GT(stale_reads_of<OnlyCurrentPcid>(Policy::kLinux, true, 3, 2), 0u);
  EXPECT_GT(stale_reads_of<OnlyCurrentPcid>(Policy::kPerProcess, false, 3, 2), 0u);
  // The user halves map the shared page too: INVPCID must reach the user PCIDs, and INVLPG (the
  // current kernel PCID) must leave the current user PCID to the lazy flush.
  EXPECT_GT(stale_reads_of<OnlyKernelPcids>(Policy::kLinux, true, 3, 2), 0u);
  EXPECT_GT(stale_reads_of<OnlyKernelPcids>(Policy::kPerProcess, true, 3, 2), 0u);
  EXPECT_GT(stale_reads_of<NoCurrentUserFlush>(Policy::kLinux, false, 3, 2), 0u);
  EXPECT_GT(stale_reads_of<NoCurrentUserFlush>(Policy::kPerProcess, false, 3, 2), 0u);
  // The same runs with the correct policy see nothing stale.
  EXPECT_EQ(stale_reads_of<AsidState>(Policy::kLinux, false, 3, 2), 0u);
  EXPECT_EQ(stale_reads_of<AsidState>(Policy::kLinux, true, 3, 2), 0u);
  EXPECT_EQ(stale_reads_of<AsidState>(Policy::kPerProcess, true, 3, 2), 0u);
  EXPECT_EQ(stale_reads_of<AsidState>(Policy::kPerProcess, false, 3, 2), 0u);
}

TEST(AsidPolicy, SchedulesNeverRepeatAProcessAndStayInRange) {
  for (u32 s = 0; s < kScheduleCount; ++s) {
    for (u32 procs : {2u, 3u, 9u}) {
      Scheduler sched(static_cast<Schedule>(s), procs);
      u32 prev = ~0u;
      std::vector<u32> seen(procs);
      for (u32 i = 0; i < 200; ++i) {
        const u32 p = sched.next();
        ASSERT_LT(p, procs);
        ASSERT_NE(p, prev) << schedule_name(static_cast<Schedule>(s)) << " slice " << i;
        ++seen[p];
        prev = p;
      }
      for (u32 p = 0; p < procs; ++p) EXPECT_GT(seen[p], 0u) << p;
    }
  }
}

TEST(AsidPolicy, InvalidConfigurationsAreNamed) {
  EXPECT_NE(AsidState::invalid({Policy::kLinux, 0, 4, false}), nullptr);
  EXPECT_NE(AsidState::invalid({Policy::kLinux, 2048, 4, false}), nullptr);
  EXPECT_NE(AsidState::invalid({Policy::kPerProcess, 0, 1, false}), nullptr);
  EXPECT_EQ(AsidState::invalid({Policy::kLinux, 2047, 64, false}), nullptr);
}

// ---- the rows ----------------------------------------------------------------------------

TEST(AspaceRows, DefaultMatrixNamesAndFeatures) {
  const u32 procs[] = {2, 8}, slots[] = {1, 6}, footprint[] = {0, 8};
  TableParams tp{16, false, nullptr, 0, procs, 2, slots, 2, 8, footprint, 2};
  Row rows[64];
  const usize n = aspace_rows(rows, 64, tp);
  // 3 schedules x 2 P x (nopcid, linux.1, linux.6, perprocess, deferred) + 2 policies x 3, then
  // the three noinvpcid rows.
  ASSERT_EQ(n, 3u * 2u * 5u + 2u * 3u + 3u);
  Text<kNameMax> name;
  put_name(name, rows[2]);
  EXPECT_STREQ(name.c_str(), "aspace.linux.6.rr.p2.kk8");
  Text<kNameMax> last_footprint;
  put_name(last_footprint, rows[n - 4]);
  EXPECT_STREQ(last_footprint.c_str(), "aspace.linux.6.rr.p8.kk8.global");
  EXPECT_TRUE(rows[n - 4].features & need(x86::Feature::kPge));
  const char* noinvpcid[] = {"aspace.linux.6.rr.p8.kk8.noinvpcid",
                             "aspace.perprocess.rr.p8.kk8.noinvpcid",
                             "aspace.deferred.rr.p8.kk8.noinvpcid"};
  for (usize i = 0; i < 3; ++i) {
    Text<kNameMax> t;
    put_name(t, rows[n - 3 + i]);
    EXPECT_STREQ(t.c_str(), noinvpcid[i]);
    EXPECT_TRUE(rows[n - 3 + i].lab.no_invpcid);
    // Only where INVPCID exists: elsewhere the main rows already flush without it.
    EXPECT_TRUE(rows[n - 3 + i].features & need(x86::Feature::kInvpcid));
  }
  EXPECT_FALSE(rows[n - 4].features & need(x86::Feature::kInvpcid));
  EXPECT_FALSE(rows[0].features & need(x86::Feature::kPcid));
  EXPECT_TRUE(rows[1].features & need(x86::Feature::kPcid));
  EXPECT_EQ(aspace_rows(rows, 4, tp), 4u);  // never past the capacity
}

TEST(AspaceRows, QuickKeepsTheFirstAndLastPAndSlotsFirstSixLast) {
  const u32 procs[] = {2, 4, 8, 16}, slots[] = {1, 2, 4, 6, 12, 2047}, footprint[] = {0};
  TableParams tp{16, true, nullptr, 0, procs, 4, slots, 6, 8, footprint, 1};
  Row rows[128];
  const usize n = aspace_rows(rows, 128, tp);
  std::vector<std::string> names;
  for (usize i = 0; i < n; ++i) {
    Text<kNameMax> name;
    put_name(name, rows[i]);
    names.emplace_back(name.c_str());
  }
  // 3 schedules x P in {2, 16} x (nopcid, linux.1, linux.6, linux.2047, perprocess, deferred),
  // then the footprint rows (Kk 0, both kinds, for nopcid and linux.6) and the noinvpcid rows.
  ASSERT_EQ(n, 3u * 2u * 6u + 4u + 3u);
  EXPECT_EQ(names[0], "aspace.nopcid.rr.p2.kk8");
  EXPECT_EQ(names[1], "aspace.linux.1.rr.p2.kk8");
  EXPECT_EQ(names[2], "aspace.linux.6.rr.p2.kk8");
  EXPECT_EQ(names[3], "aspace.linux.2047.rr.p2.kk8");
  EXPECT_EQ(names[6], "aspace.nopcid.rr.p16.kk8");
  EXPECT_EQ(names[n - 4], "aspace.linux.6.rr.p16.kk0.global");
  EXPECT_EQ(names[n - 1], "aspace.deferred.rr.p16.kk8.noinvpcid");
}

}  // namespace
}  // namespace ptb::bench::aspace

namespace ptb::bench {
namespace {

TEST(ParseU32List, TakesZeroWhenTheRangeStartsThereAndNamesTheRest) {
  u32 out[4];
  usize rejected = 9, repeated = 9;
  const char* s = "0,8,64,513,x,8,2047";
  const usize n = parse_u32_list(s, std::strlen(s), 0, 512, out, 4, &rejected, &repeated);
  ASSERT_EQ(n, 3u);
  EXPECT_EQ(out[0], 0u);
  EXPECT_EQ(out[1], 8u);
  EXPECT_EQ(out[2], 64u);
  EXPECT_EQ(rejected, 3u);  // 513, x, 2047
  EXPECT_EQ(repeated, 1u);
  // touch= keeps its 1..512 range through the same parser.
  EXPECT_EQ(parse_touch_list("0,1", 3, out, 4, &rejected, &repeated), 1u);
  EXPECT_EQ(rejected, 1u);
}

}  // namespace
}  // namespace ptb::bench

namespace ptb::bench::aspace::paths {
namespace {

// The declared lengths' arithmetic (the emulators check the absolute counts, tests/boot/
// test_aspace.py): what one more of each unit of work adds.
TEST(AspacePaths, EachUnitOfWorkAddsItsInstructions) {
  EXPECT_EQ(flush(1, false) - flush(0, false), 4u);  // INVPCID, ADD, DEC, JNZ
  EXPECT_EQ(flush(0, true) - flush(0, false), 2u);   // JZ falls through to INVLPG, JMP
  EXPECT_EQ(flush(0, true), kStamps + 10);
  EXPECT_EQ(swtch(true) - swtch(false), 3u);  // MOV, MOV CR3, JMP
  EXPECT_EQ(swtch(false), kStamps + 2);
  using x86::EntryScheme;
  for (EntryScheme s : {EntryScheme::kPti, EntryScheme::kPcid}) {
    EXPECT_EQ(user(s, 3, 2, 5) - user(s, 2, 2, 5), 7u);       // a working-set page
    EXPECT_EQ(user(s, 3, 2, 5) - user(s, 3, 2, 4), 2u * 4u);  // a kernel page, each call
    EXPECT_EQ(user(s, 3, 2, 5) - user(s, 3, 1, 5), 5u + syscall_path(s, 5));  // a call
  }
  // PCID's entry sets NOFLUSH (BTS) and its exit tests the lazy bit: 1 + 6 more than PTI's.
  EXPECT_EQ(syscall_path(EntryScheme::kPcid, 0) - syscall_path(EntryScheme::kPti, 0), 7u);
  EXPECT_EQ(user(EntryScheme::kPti, 0, 0, 0), kStamps + 5 + kRing3Enter + 1 + 7 + 1 + kRing3Exit);
}

}  // namespace
}  // namespace ptb::bench::aspace::paths
