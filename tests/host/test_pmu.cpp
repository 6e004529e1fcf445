// The PMU's pure parts: CPUID decoding, the MSR encodings (SDM Vol.3B 20.2, APM Vol.2 13.2), the
// per-family TLB event tables (intel/perfmon, Linux's amdzen event lists), the plans for the
// pmu= requests, and the self-test's verdict against fake counter sources that count, do not
// count, count one too many and wrap around.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "arch/x86/pmu.h"
#include "bench/crossing_counters.h"
#include "bench/pmu_check.h"

namespace ptb {
namespace {

using x86::CpuidResult;
using x86::CpuInfo;
using x86::Vendor;
using namespace x86::pmu;

std::map<u32, CpuidResult>* g_leaves = nullptr;
CpuidResult fake_cpuid(u32 leaf, u32) {
  auto it = g_leaves->find(leaf);
  return it == g_leaves->end() ? CpuidResult{0, 0, 0, 0} : it->second;
}

CpuInfo cpu(Vendor v, u32 family, u32 model, u32 max_leaf, u32 max_ext) {
  CpuInfo c;
  c.vendor_kind = v;
  c.family = family;
  c.model = model;
  c.max_leaf = max_leaf;
  c.max_ext_leaf = max_ext;
  return c;
}

Caps decode(const CpuInfo& c, std::map<u32, CpuidResult> leaves) {
  g_leaves = &leaves;
  Caps caps = decode_caps(fake_cpuid, c);
  g_leaves = nullptr;
  return caps;
}

// CPUID.0AH of a version-4 PMU with four 48-bit general counters, seven architectural events
// (all available), three 48-bit fixed counters.
constexpr CpuidResult kLeafA{4 | 4 << 8 | 48 << 16 | 7u << 24, 0, 0, 3 | 48 << 5};

Caps skylake() {
  return decode(cpu(Vendor::kIntel, 6, 0x5e, 0x16, 0x80000008), {{6, {0, 0, 1, 0}}, {0xa, kLeafA}});
}

Caps zen(u32 family, u32 model, bool perfmon_v2) {
  std::map<u32, CpuidResult> l{{6, {0, 0, 1, 0}}, {0x80000001, {0, 0, 1u << 23, 0}}};
  if (perfmon_v2) l[0x80000022] = {1, 6, 0, 0};
  return decode(cpu(Vendor::kAmd, family, model, 0x10, perfmon_v2 ? 0x80000022 : 0x80000020), l);
}

const Counter* find(const Plan& p, const char* name) {
  for (u32 i = 0; i < p.count; ++i)
    if (std::string(p.counters[i].name()) == name) return &p.counters[i];
  return nullptr;
}
const Missing* missing(const Plan& p, const char* field) {
  for (u32 i = 0; i < p.missing_count; ++i)
    if (std::string(p.missing[i].field) == field) return &p.missing[i];
  return nullptr;
}

TEST(PmuEncoding, EventSelectsAndControlRegisters) {
  // USR (16), OS (17), EN (22) always; the event and umask in the low 16 bits.
  EXPECT_EQ(intel_evtsel({0x08, 0x0e, 0}), 0x430e08u);
  EXPECT_EQ(intel_evtsel({0x3c, 0x01, 2}), 0x243013cu);  // CMASK in 31:24
  // AMD: EventSelect[11:8] goes to bits 35:32.
  EXPECT_EQ(amd_evtsel({0x0c0, 0x00, 0}), 0x4300c0u);
  EXPECT_EQ(amd_evtsel({0x120, 0x01, 0}), 0x1'0043'0120u);
  EXPECT_EQ(fixed_ctrl(3), 0x333u);  // OS and USR for fixed counters 0-2, no PMI
  EXPECT_EQ(fixed_ctrl(1), 0x3u);
  EXPECT_EQ(intel_global_ctrl(3, 3), 0x7'0000'0007u);
  EXPECT_EQ(intel_global_ctrl(0, 2), 0x3'0000'0000u);
}

TEST(PmuEncoding, DeltasTakenModuloTheCounterWidth) {
  EXPECT_EQ(counter_delta(100, 250, 48), 150u);
  EXPECT_EQ(counter_delta((u64{1} << 48) - 10, 5, 48), 15u);  // wrapped once
  EXPECT_EQ(counter_delta(~u64{0} - 1, 3, 64), 5u);
  EXPECT_EQ(counter_delta(7, 7, 40), 0u);
}

TEST(PmuCaps, IntelLeafADecoded) {
  const Caps c = skylake();
  EXPECT_EQ(c.version, 4u);
  EXPECT_EQ(c.gp_count, 4u);
  EXPECT_EQ(c.gp_width, 48u);
  EXPECT_EQ(c.fixed_count, 3u);
  EXPECT_EQ(c.fixed_width, 48u);
  EXPECT_EQ(c.events_len, 7u);
  EXPECT_TRUE(c.aperf_mperf);
}

TEST(PmuCaps, AmdCountersFromTheCoreExtensionAndPerfMonV2) {
  const Caps legacy = decode(cpu(Vendor::kAmd, 0x10, 2, 6, 0x80000001), {});
  EXPECT_EQ(legacy.version, 1u);
  EXPECT_EQ(legacy.gp_count, 4u);
  EXPECT_FALSE(legacy.amd_core_ext);
  const Caps ext = zen(0x17, 1, false);
  EXPECT_TRUE(ext.amd_core_ext);
  EXPECT_EQ(ext.gp_count, 6u);
  const Caps v2 = zen(0x19, 0x61, true);
  EXPECT_EQ(v2.version, 2u);
  EXPECT_EQ(v2.gp_count, 6u);
  EXPECT_EQ(v2.gp_width, 48u);
}

TEST(PmuPlan, SkylakeUsesTheFixedCountersAndItsTlbEvents) {
  const Plan p = plan(skylake(), {});
  EXPECT_STREQ(p.table, "skylake");
  ASSERT_EQ(p.count, 6u);
  const Counter* inst = find(p, "inst_retired");
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->slot, Slot::kFixed);
  EXPECT_EQ(inst->index, 0u);
  EXPECT_EQ(inst->rdpmc, 0x4000'0000u);
  EXPECT_EQ(inst->ctr_msr, 0x309u);
  EXPECT_EQ(find(p, "cycles")->rdpmc, 0x4000'0001u);
  EXPECT_EQ(find(p, "ref_cycles")->ctr_msr, 0x30bu);
  const Counter* walks = find(p, "dtlb_walks");
  ASSERT_NE(walks, nullptr);
  EXPECT_EQ(walks->slot, Slot::kGeneral);
  EXPECT_EQ(walks->evtsel, 0x430e08u);
  EXPECT_EQ(walks->ctl_msr, 0x186u);
  EXPECT_EQ(walks->ctr_msr, 0xc1u);
  EXPECT_EQ(walks->rdpmc, 0u);
  EXPECT_EQ(find(p, "itlb_walks")->evtsel, 0x430e85u);
  EXPECT_EQ(find(p, "stlb_hits")->evtsel, 0x432008u);
  EXPECT_EQ(find(p, "stlb_hits")->ctl_msr, 0x188u);
  EXPECT_EQ(p.fixed_used, 3u);
  EXPECT_EQ(p.gp_used, 3u);
  EXPECT_EQ(p.missing_count, 0u);
}

TEST(PmuPlan, EachIntelGenerationGetsItsOwnEncodings) {
  struct Case {
    u32 model;
    const char* table;
    u64 dtlb, itlb, stlb;
  };
  const Case cases[] = {
      {0x2a, "sandybridge", 0x430208, 0x430285, 0x431008},
      {0x3a, "ivybridge", 0x438208, 0x430285, 0x43045f},
      {0x3c, "haswell", 0x430e08, 0x430e85, 0x436008},
      {0x4f, "haswell", 0x430e08, 0x430e85, 0x436008},     // Broadwell-EP
      {0x6a, "skylake", 0x430e08, 0x430e85, 0x432008},     // Ice Lake server
      {0x8f, "goldencove", 0x430e12, 0x430e11, 0x432012},  // Sapphire Rapids
  };
  for (const Case& k : cases) {
    const Caps c = decode(cpu(Vendor::kIntel, 6, k.model, 0xa, 0x80000008), {{0xa, kLeafA}});
    const Plan p = plan(c, {});
    EXPECT_STREQ(p.table, k.table) << std::hex << k.model;
    EXPECT_EQ(find(p, "dtlb_walks")->evtsel, k.dtlb) << std::hex << k.model;
    EXPECT_EQ(find(p, "itlb_walks")->evtsel, k.itlb) << std::hex << k.model;
    EXPECT_EQ(find(p, "stlb_hits")->evtsel, k.stlb) << std::hex << k.model;
  }
}

TEST(PmuPlan, HybridCoresChooseByCoreType) {
  const CpuInfo alder = cpu(Vendor::kIntel, 6, 0x97, 0x1a, 0x80000008);
  const Plan p_core = plan(decode(alder, {{0xa, kLeafA}, {0x1a, {0x40u << 24, 0, 0, 0}}}), {});
  EXPECT_STREQ(p_core.table, "goldencove");
  const Plan e_core = plan(decode(alder, {{0xa, kLeafA}, {0x1a, {0x20u << 24, 0, 0, 0}}}), {});
  EXPECT_STREQ(e_core.table, "gracemont");
  EXPECT_EQ(find(e_core, "stlb_hits"), nullptr);  // Gracemont lists none
  EXPECT_EQ(find(e_core, "dtlb_walks")->evtsel, 0x430e08u);
}

TEST(PmuPlan, AFamilyTheTableLacksGetsTheFixedCountersOnlyAndSaysSo) {
  const Caps c = decode(cpu(Vendor::kIntel, 6, 0x1c, 0xa, 0x80000008), {{0xa, kLeafA}});  // Bonnell
  const Plan p = plan(c, {});
  EXPECT_EQ(p.count, 3u);
  EXPECT_STREQ(p.table, "");
  ASSERT_NE(missing(p, "tlb"), nullptr);
  EXPECT_NE(std::string(missing(p, "tlb")->reason).find("not in the TLB event table"),
            std::string::npos);
}

TEST(PmuPlan, VersionOneUsesGeneralCountersAndHonoursUnavailableEvents) {
  // Version 1: no fixed counters; EBX bit 2 set: reference cycles not available.
  const CpuidResult v1{1 | 2 << 8 | 40 << 16 | 3u << 24, 1u << 2, 0, 0};
  const Caps c = decode(cpu(Vendor::kIntel, 6, 0x2a, 0xa, 0x80000008), {{0xa, v1}});
  const Plan p = plan(c, {});
  const Counter* inst = find(p, "inst_retired");
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->slot, Slot::kGeneral);
  EXPECT_EQ(inst->evtsel, 0x4300c0u);
  EXPECT_EQ(inst->width, 40u);
  EXPECT_EQ(find(p, "cycles")->evtsel, 0x43003cu);
  EXPECT_EQ(find(p, "ref_cycles"), nullptr);
  ASSERT_NE(missing(p, "ref_cycles"), nullptr);
  // Two general counters: the TLB events find none left.
  EXPECT_EQ(find(p, "dtlb_walks"), nullptr);
  ASSERT_NE(missing(p, "dtlb_walks"), nullptr);
  EXPECT_STREQ(missing(p, "dtlb_walks")->reason, "no general-purpose counter left");
}

TEST(PmuPlan, AmdZenCountsOnGeneralCountersWithoutReferenceCycles) {
  const Plan p = plan(zen(0x19, 0x21, false), {});  // Zen 3
  EXPECT_STREQ(p.table, "zen");
  const Counter* inst = find(p, "inst_retired");
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->evtsel, 0x4300c0u);
  EXPECT_EQ(inst->ctl_msr, 0xc0010200u);
  EXPECT_EQ(inst->ctr_msr, 0xc0010201u);
  const Counter* cycles = find(p, "cycles");
  EXPECT_EQ(cycles->evtsel, 0x430076u);
  EXPECT_EQ(cycles->ctl_msr, 0xc0010202u);
  EXPECT_EQ(cycles->rdpmc, 1u);
  EXPECT_EQ(find(p, "ref_cycles"), nullptr);
  ASSERT_NE(missing(p, "ref_cycles"), nullptr);
  EXPECT_EQ(find(p, "dtlb_walks")->evtsel, 0x43f045u);
  EXPECT_EQ(find(p, "itlb_walks")->evtsel, 0x430785u);
  EXPECT_EQ(find(p, "stlb_hits")->evtsel, 0x430f45u);
  EXPECT_FALSE(p.amd_global);
  const Plan z4 = plan(zen(0x19, 0x61, true), {});  // Zen 4, PerfMonV2
  EXPECT_STREQ(z4.table, "zen4");
  EXPECT_EQ(find(z4, "itlb_walks")->evtsel, 0x430f85u);
  EXPECT_TRUE(z4.amd_global);
  // Without the core extension: the legacy MSRs.
  const Plan legacy = plan(decode(cpu(Vendor::kAmd, 0x17, 1, 6, 0x80000001), {}), {});
  EXPECT_EQ(find(legacy, "cycles")->ctl_msr, 0xc0010001u);
  EXPECT_EQ(find(legacy, "cycles")->ctr_msr, 0xc0010005u);
}

TEST(PmuPlan, RequestsOffListAndRaw) {
  const Caps c = skylake();
  const Plan off = plan(c, {Mode::kOff, nullptr, 0});
  EXPECT_EQ(off.count, 0u);
  EXPECT_STREQ(off.reason, "pmu=off");

  const std::string list = "cycles,r0e08,,bogus,stlb_hits";
  const Plan p = plan(c, {Mode::kList, list.data(), list.size()});
  ASSERT_EQ(p.count, 3u);
  EXPECT_STREQ(p.counters[0].name(), "cycles");
  EXPECT_EQ(p.counters[0].slot, Slot::kFixed);
  EXPECT_STREQ(p.counters[1].name(), "r0e08");
  EXPECT_EQ(p.counters[1].evtsel, 0x430e08u);
  EXPECT_STREQ(p.counters[2].name(), "stlb_hits");
  EXPECT_EQ(p.counters[2].ctl_msr, 0x187u);  // the second general counter
  ASSERT_NE(missing(p, "bogus"), nullptr);
  EXPECT_EQ(p.fixed_used, 2u);  // fixed counter 1 enabled means 0 and 1 are in the control

  const std::string bad = "r12345,rxyz";
  const Plan none = plan(c, {Mode::kList, bad.data(), bad.size()});
  EXPECT_EQ(none.count, 0u);
  EXPECT_NE(std::string(none.reason), "");
  EXPECT_EQ(none.missing_count, 2u);
}

TEST(PmuPlan, ADroppedCounterIsMissingAndTheRestKeepTheirOrder) {
  Plan p = plan(skylake(), {});
  ASSERT_TRUE(drop_counter(p, "ref_cycles", "dead"));
  EXPECT_EQ(p.count, 5u);
  EXPECT_EQ(find(p, "ref_cycles"), nullptr);
  EXPECT_STREQ(p.counters[2].name(), "dtlb_walks");
  ASSERT_NE(missing(p, "ref_cycles"), nullptr);
  EXPECT_STREQ(missing(p, "ref_cycles")->reason, "dead");
  EXPECT_FALSE(drop_counter(p, "ref_cycles", "again"));
  EXPECT_EQ(p.missing_count, 1u);
}

TEST(PmuPlan, NoPmuAdvertised) {
  const Caps none = decode(cpu(Vendor::kIntel, 6, 0x5e, 0xa, 0x80000008), {{0xa, {0, 0, 0, 0}}});
  const Plan p = plan(none, {});
  EXPECT_EQ(p.count, 0u);
  EXPECT_NE(std::string(p.reason).find("CPUID.0AH"), std::string::npos);
  const Plan other = plan(decode(cpu(Vendor::kOther, 6, 1, 0xa, 0), {}), {});
  EXPECT_EQ(other.count, 0u);
}

// ---- the self-test --------------------------------------------------------------------------

// A PMU the self-test reads: per counter field, what one iteration of the block adds, what each
// run adds besides (the call, the reads: the same in both runs), and where the counter starts.
struct FakePmu {
  std::map<std::string, u64> value;
  std::map<std::string, u64> per_iteration{{"inst_retired", 2}, {"cycles", 1}, {"ref_cycles", 1}};
  std::map<std::string, u64> per_run{{"inst_retired", 37}, {"cycles", 90}, {"ref_cycles", 80}};
  u64 extra_on_large = 0;  // an inexact PMU: this many more instructions in the larger run
  int runs = 0;

  u64 read(const Counter& c) {
    const u64 mask = c.width >= 64 ? ~u64{0} : (u64{1} << c.width) - 1;
    return value[c.name()] & mask;
  }
  void run(u64 iterations) {
    for (auto& [field, v] : value) v += per_iteration[field] * iterations + per_run[field];
    if (++runs == 2) value["inst_retired"] += extra_on_large;
  }
};

constexpr bench::SelftestBlock kBlock{10000, 20000, 2};

FakePmu fake_for(const Plan& p) {
  FakePmu f;
  for (u32 i = 0; i < p.count; ++i) f.value[p.counters[i].name()] = 1000;
  return f;
}

TEST(PmuSelftest, ACountingPmuPasses) {
  const Plan p = plan(skylake(), {});
  FakePmu f = fake_for(p);
  const bench::SelftestOutcome o = bench::run_selftest(p, kBlock, f);
  EXPECT_EQ(o.state, bench::PmuState::kCounting);
  EXPECT_EQ(o.expected, 20000u);
  EXPECT_EQ(o.inst, 20000u);
  EXPECT_EQ(o.cycles, 10000u);
  EXPECT_EQ(o.ref_cycles, 10000u);
  EXPECT_FALSE(o.drop_ref);
}

TEST(PmuSelftest, CountersThatReadZeroAreNotCounting) {
  const Plan p = plan(skylake(), {});
  FakePmu f = fake_for(p);
  f.per_iteration.clear();
  f.per_run.clear();
  for (auto& [field, v] : f.value) v = 0;
  const bench::SelftestOutcome o = bench::run_selftest(p, kBlock, f);
  EXPECT_EQ(o.state, bench::PmuState::kNotCounting);
  EXPECT_STREQ(bench::pmu_state_name(o.state), "not-counting");
}

TEST(PmuSelftest, OneInstructionTooManyIsInexact) {
  const Plan p = plan(skylake(), {});
  FakePmu f = fake_for(p);
  f.extra_on_large = 1;
  const bench::SelftestOutcome o = bench::run_selftest(p, kBlock, f);
  EXPECT_EQ(o.state, bench::PmuState::kInexact);
  EXPECT_EQ(o.inst, 20001u);
}

TEST(PmuSelftest, ACounterThatWrapsDuringTheTestStillCountsRight) {
  const Plan p = plan(skylake(), {});
  FakePmu f = fake_for(p);
  for (auto& [field, v] : f.value) v = (u64{1} << 48) - 15000;  // wraps in the second run
  const bench::SelftestOutcome o = bench::run_selftest(p, kBlock, f);
  EXPECT_EQ(o.state, bench::PmuState::kCounting);
  EXPECT_EQ(o.inst, 20000u);
}

TEST(PmuSelftest, ImplausibleCyclesAndADeadReferenceCounter) {
  const Plan p = plan(skylake(), {});
  FakePmu few = fake_for(p);
  few.per_iteration["cycles"] = 0;  // 20 000 instructions in 0 cycles
  EXPECT_EQ(bench::run_selftest(p, kBlock, few).state, bench::PmuState::kNotCounting);
  FakePmu slow = fake_for(p);
  slow.per_iteration["cycles"] = 200;  // 100 cycles per instruction
  EXPECT_EQ(bench::run_selftest(p, kBlock, slow).state, bench::PmuState::kNotCounting);
  FakePmu dead_ref = fake_for(p);
  dead_ref.per_iteration["ref_cycles"] = 0;
  dead_ref.per_run["ref_cycles"] = 0;
  const bench::SelftestOutcome o = bench::run_selftest(p, kBlock, dead_ref);
  EXPECT_EQ(o.state, bench::PmuState::kCounting);
  EXPECT_TRUE(o.drop_ref);
}

TEST(PmuSelftest, WithoutInstructionsOrCyclesNothingIsSelfTested) {
  const std::string list = "dtlb_walks";
  const Plan p = plan(skylake(), {Mode::kList, list.data(), list.size()});
  FakePmu f = fake_for(p);
  const bench::SelftestOutcome o = bench::run_selftest(p, kBlock, f);
  EXPECT_EQ(o.state, bench::PmuState::kCounting);
  EXPECT_NE(std::string(o.reason).find("not self-tested"), std::string::npos);
}

TEST(PmuCheck, InstructionMismatchAgainstTheDeclaredCount) {
  Summary s;
  s.median = 3;
  double diff = -1;
  EXPECT_FALSE(bench::inst_mismatch(s, 3, &diff));
  EXPECT_EQ(diff, 0.0);
  s.median = 4;
  EXPECT_TRUE(bench::inst_mismatch(s, 3, &diff));
  EXPECT_EQ(diff, 1.0);
  s.median = 2.5;
  EXPECT_TRUE(bench::inst_mismatch(s, 3, &diff));
  EXPECT_EQ(diff, -0.5);
}

TEST(PmuCheck, CoreToReferenceRatio) {
  EXPECT_DOUBLE_EQ(bench::core_ratio(3'000'000, 2'000'000), 1.5);  // turbo above the TSC rate
  EXPECT_DOUBLE_EQ(bench::core_ratio(800, 1000), 0.8);             // a lower P-state
  EXPECT_EQ(bench::core_ratio(5, 0), 0.0);                         // MPERF did not move
}

// ---- the one-way crossings' counter passes (bench/crossing_counters.h) -----------------------

using bench::CrossingRequest;
using bench::CrossingSource;

TEST(CrossingCounters, RdpmcOnlyWhereTheCountersCountAndRdpmcWorks) {
  auto c = bench::choose_crossing_counters(CrossingRequest::kAuto, true, false, 3);
  EXPECT_EQ(c.source, CrossingSource::kRdpmc);
  EXPECT_STREQ(c.reason, "");
  EXPECT_FALSE(c.per_record);
  // Read by RDMSR (RDPMC faulted at the self-test): ring 3 cannot, and every record says why.
  c = bench::choose_crossing_counters(CrossingRequest::kAuto, true, true, 3);
  EXPECT_EQ(c.source, CrossingSource::kNone);
  EXPECT_TRUE(c.per_record);
  EXPECT_NE(std::string(c.reason).find("RDMSR"), std::string::npos) << c.reason;
  // Not counting: the env record's pmu.state says why; the crossing records need not.
  c = bench::choose_crossing_counters(CrossingRequest::kAuto, false, true, 3);
  EXPECT_EQ(c.source, CrossingSource::kNone);
  EXPECT_FALSE(c.per_record);
  c = bench::choose_crossing_counters(CrossingRequest::kAuto, true, false, 0);
  EXPECT_EQ(c.source, CrossingSource::kNone);
}

TEST(CrossingCounters, OffIsSaidInTheRecordsOnlyWhereTheCountersCount) {
  auto c = bench::choose_crossing_counters(CrossingRequest::kOff, true, false, 3);
  EXPECT_EQ(c.source, CrossingSource::kNone);
  EXPECT_TRUE(c.per_record);
  EXPECT_STREQ(c.reason, "crossing_counters=off");
  c = bench::choose_crossing_counters(CrossingRequest::kOff, false, false, 0);
  EXPECT_EQ(c.source, CrossingSource::kNone);
  EXPECT_FALSE(c.per_record);
}

TEST(CrossingCounters, TheFakeIsOnlyEverChosenByItsRequestAndSaysItIsOne) {
  for (bool counting : {false, true}) {
    for (bool by_msr : {false, true}) {
      for (u32 planned : {0u, 3u}) {
        for (CrossingRequest r :
             {CrossingRequest::kAuto, CrossingRequest::kOff, CrossingRequest::kRdpmcForced}) {
          EXPECT_NE(bench::choose_crossing_counters(r, counting, by_msr, planned).source,
                    CrossingSource::kFakeTsc);
        }
        const auto f =
            bench::choose_crossing_counters(CrossingRequest::kFakeTsc, counting, by_msr, planned);
        EXPECT_EQ(f.source, CrossingSource::kFakeTsc);
        EXPECT_NE(std::string(f.reason).find("not a counter"), std::string::npos) << f.reason;
      }
    }
  }
  EXPECT_STREQ(bench::crossing_source_name(CrossingSource::kFakeTsc), "fake-tsc");
  EXPECT_STREQ(bench::crossing_source_name(CrossingSource::kRdpmc), "rdpmc");
  EXPECT_STREQ(bench::crossing_source_name(CrossingSource::kNone), "none");
  // Its plan: inst_retired alone, 64 bits (the TSC), its event naming it a fake.
  const Plan& p = bench::fake_tsc_plan();
  ASSERT_EQ(p.count, 1u);
  EXPECT_STREQ(p.counters[0].name(), "inst_retired");
  EXPECT_EQ(p.counters[0].width, 64u);
  EXPECT_NE(std::string(p.counters[0].event).find("test only"), std::string::npos);
}

TEST(CrossingCounters, ForcedRdpmcRunsThePassesAnywayAndSaysSo) {
  // Where the self-test failed (or RDPMC faulted there) the forced passes still run: a test that
  // a faulting RDPMC ends the pass (QEMU, Bochs), or a diagnosis on a CPU that does not count.
  for (auto [counting, by_msr] : {std::pair{false, false}, {false, true}, {true, true}}) {
    const auto c =
        bench::choose_crossing_counters(CrossingRequest::kRdpmcForced, counting, by_msr, 2);
    EXPECT_EQ(c.source, CrossingSource::kRdpmc);
    EXPECT_NE(std::string(c.reason).find("forced"), std::string::npos) << c.reason;
  }
  // Where the counters count it is auto; with nothing planned there is nothing to read.
  auto c = bench::choose_crossing_counters(CrossingRequest::kRdpmcForced, true, false, 2);
  EXPECT_EQ(c.source, CrossingSource::kRdpmc);
  EXPECT_STREQ(c.reason, "");
  c = bench::choose_crossing_counters(CrossingRequest::kRdpmcForced, false, false, 0);
  EXPECT_EQ(c.source, CrossingSource::kNone);
}

TEST(CrossingCounters, StoredDifferencesAreTakenModuloTheCounterWidth) {
  const u64 before = (u64{1} << 48) - 10, after = 5;  // a 48-bit counter wrapped between stamps
  EXPECT_EQ(bench::crossing_counter_delta(static_cast<i64>(after - before), 48), 15);
  // Bits above the width (whatever RDPMC left there) do not reach the figure.
  const u64 dirty_before = before | u64{0xabcd} << 48;
  EXPECT_EQ(bench::crossing_counter_delta(static_cast<i64>(after - dirty_before), 48), 15);
  EXPECT_EQ(bench::crossing_counter_delta(1234, 40), 1234);
  EXPECT_EQ(bench::crossing_counter_delta(1234, 64), 1234);  // the fake's TSC: as it is
}

// The macro's instruction lines, comments and blank lines dropped.
std::vector<std::string> macro_lines(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> out;
  bool inside = false;
  while (std::getline(in, line)) {
    const std::string code = line.substr(0, line.find(';'));
    std::istringstream words(code);
    std::string first, second;
    words >> first >> second;
    if (first == "%macro") {
      inside = second == name;
      continue;
    }
    if (first == "%endmacro") inside = false;
    if (!inside || first.empty()) continue;
    std::string normal;
    std::istringstream all(code);
    for (std::string w; all >> w;) normal += (normal.empty() ? "" : " ") + w;
    out.push_back(normal);
  }
  return out;
}

TEST(CrossingCounters, TheCounterStampAddsOneInstructionOnEachSideOfItsRead) {
  // A timed direction runs from the first stamp's read (inclusive) to the second's (exclusive):
  // the instructions after a stamp's read and those before the next one's. The counter stamp is
  // TIMESTAMP with one XCHG before and one after, so each direction gains kCounterStampExtra.
  std::ifstream in(std::string(PTIBENCH_SOURCE_DIR) + "/bench/timestamp.inc");
  std::stringstream text;
  text << in.rdbuf();
  const auto tsc = macro_lines(text.str(), "TIMESTAMP");
  const auto pmc = macro_lines(text.str(), "COUNTER_STAMP");
  ASSERT_EQ(tsc,
            (std::vector<std::string>{"lfence", "rdtsc", "lfence", "shl rdx, 32", "or rax, rdx"}));
  ASSERT_EQ(pmc, (std::vector<std::string>{"xchg rcx, r10", "lfence", "%1", "lfence",
                                           "xchg rcx, r10", "shl rdx, 32", "or rax, rdx"}));
  auto split = [](const std::vector<std::string>& m, const std::string& read) {
    usize at = 0;
    while (at < m.size() && m[at] != read) ++at;
    return std::pair<usize, usize>{at, m.size() - at};  // before the read; from it on
  };
  const auto [tsc_before, tsc_from] = split(tsc, "rdtsc");
  const auto [pmc_before, pmc_from] = split(pmc, "%1");
  EXPECT_EQ((pmc_before - tsc_before) + (pmc_from - tsc_from), bench::kCounterStampExtra);
  EXPECT_EQ(bench::counter_pass_instructions(7), 7 + bench::kCounterStampExtra);
  // The two reads the passes use, and nothing else.
  EXPECT_EQ(macro_lines(text.str(), "PMC_STAMP"), std::vector<std::string>{"COUNTER_STAMP rdpmc"});
  EXPECT_EQ(macro_lines(text.str(), "FAKE_TSC_STAMP"),
            std::vector<std::string>{"COUNTER_STAMP rdtsc"});
}

}  // namespace
}  // namespace ptb
