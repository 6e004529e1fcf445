// The TLB probes' programs and verdicts against the TLB model: each behaviour must give the
// observation predicted for every probe, and only the broken one a violation; AMD CPUs are judged
// by the APM's rule where the table cites the APM, everyone else by the SDM's.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "bench/probe.h"
#include "bench/row.h"
#include "bench/tlb_model.h"

namespace ptb::bench {
namespace {

using x86::Feature;
using x86::Vendor;

constexpr u32 kReads = 31;

// Per probe, what each behaviour keeps (K) or drops (D): SDM max-keep, Bochs, QEMU TCG.
// The broken model keeps everything.
const std::map<std::string, std::string> kExpected = {
    {"cr3.nopcid", "DDD"},
    {"cr3.nopcid.global", "KKD"},
    {"cr3.pcid", "DDD"},
    {"cr3.pcid.global", "KKD"},
    {"cr3.pcid.noflush", "KDD"},
    {"cr3.pcid.switch.noflush", "KDD"},
    {"invpcid.addr", "DDD"},
    {"invpcid.addr.global", "KKD"},
    {"invpcid.addr.other", "KDD"},
    {"invpcid.single", "DDD"},
    {"invpcid.single.global", "KKD"},
    {"invpcid.single.other", "KDD"},
    {"invpcid.all", "DDD"},
    {"invpcid.all.global", "DDD"},
    {"invpcid.allnonglobal", "DDD"},
    {"invpcid.allnonglobal.global", "KKD"},
    {"invlpg", "DDD"},
    {"invlpg.global", "DDD"},
    {"invlpg.other", "KDD"},
    {"cr4.pge.toggle", "DDD"},
    {"cr4.pge.toggle.global", "DDD"},
    {"cr4.pcide.off", "DDD"},
    {"cr4.pcide.off.global", "DDD"},
    {"pde.invlpg", "DDD"},
    {"pde.cr3.noflush", "KDD"},
    {"pde.invlpg.neighbour", "KKK"},
};

Observation observe(Behaviour b, const ProbeSpec& p) {
  TlbModel m(b);
  return run_probe(m, p, kReads);
}

bool needs(const ProbeSpec& p, Feature f) { return (p.features >> static_cast<u32>(f)) & 1; }

TEST(ProbeTable, EveryProbeHasAPredictionAndAReference) {
  usize n = 0;
  const ProbeSpec* specs = probe_specs(&n);
  std::set<std::string> labels;
  for (usize i = 0; i < n; ++i) {
    EXPECT_TRUE(labels.insert(specs[i].label).second) << specs[i].label;
    EXPECT_TRUE(kExpected.count(specs[i].label)) << specs[i].label;
    EXPECT_EQ(std::string(specs[i].reference).rfind("SDM Vol.", 0), 0u) << specs[i].label;
    EXPECT_EQ(find_probe(specs[i].label), &specs[i]);
  }
  EXPECT_EQ(labels.size(), kExpected.size());
  EXPECT_EQ(find_probe("no.such.probe"), nullptr);
}

TEST(ProbeTable, FeaturesCoverEveryStepAndMapping) {
  usize n = 0;
  const ProbeSpec* specs = probe_specs(&n);
  for (usize i = 0; i < n; ++i) {
    const ProbeSpec& p = specs[i];
    bool invpcid = false, pcid_only = false, pge = p.global, reads = false;
    for (Step s : p.steps) {
      invpcid |= s >= Step::kInvpcidAddr && s <= Step::kInvpcidAllNonGlobal;
      pcid_only |= s == Step::kCr3Noflush || s == Step::kToPcid1 || s == Step::kToPcid2 ||
                   s == Step::kToPcid0 || s == Step::kPcideOff;
      pge |= s == Step::kPgeToggle;
      reads |= s == Step::kReadX || s == Step::kReadY;
    }
    EXPECT_TRUE(reads) << p.label;
    EXPECT_EQ(needs(p, Feature::kPcid), p.pcid) << p.label;
    EXPECT_EQ(needs(p, Feature::kInvpcid), invpcid) << p.label;
    EXPECT_EQ(needs(p, Feature::kPge), pge) << p.label;
    // NOFLUSH (CR3 bit 63) must never be written without PCID: QEMU TCG hangs on it.
    if (pcid_only) {
      EXPECT_TRUE(p.pcid) << p.label;
    }
    // The name says global exactly when the page is.
    EXPECT_EQ(std::string(p.label).find(".global") != std::string::npos, p.global) << p.label;
  }
}

void expect_behaviour(Behaviour b, usize column) {
  usize n = 0;
  const ProbeSpec* specs = probe_specs(&n);
  for (usize i = 0; i < n; ++i) {
    const ProbeSpec& p = specs[i];
    const Observation o = observe(b, p);
    const Judgement j = judge(p, o);
    const bool kept = kExpected.at(p.label)[column] == 'K';
    EXPECT_EQ(o.reads, kReads);
    EXPECT_EQ(o.other, 0u) << p.label;
    EXPECT_FALSE(j.broken) << p.label;
    EXPECT_EQ(o.kept, kept ? kReads : 0u) << behaviour_name(b) << " " << p.label;
    EXPECT_STREQ(seen_name(j.seen), kept ? "kept" : "dropped")
        << behaviour_name(b) << " " << p.label;
    EXPECT_FALSE(j.violation) << behaviour_name(b) << " " << p.label;
  }
}

TEST(ProbeModel, SdmMaxKeepKeepsExactlyWhatTheManualAllows) {
  expect_behaviour(Behaviour::kSdmMaxKeep, 0);
  // It keeps every translation the manual allows it to keep, so each may-keep probe can see it.
  usize n = 0;
  const ProbeSpec* specs = probe_specs(&n);
  for (usize i = 0; i < n; ++i) {
    const Judgement j = judge(specs[i], observe(Behaviour::kSdmMaxKeep, specs[i]));
    EXPECT_EQ(j.seen == Seen::kKept, specs[i].rule == Rule::kMayKeep) << specs[i].label;
  }
}

TEST(ProbeModel, BochsOverFlushesWithoutViolation) { expect_behaviour(Behaviour::kBochs, 1); }

TEST(ProbeModel, QemuTcgDropsEverythingButANeighboursPage) {
  expect_behaviour(Behaviour::kQemuTcg, 2);
}

TEST(ProbeModel, TheBrokenModelIsAViolationOnEveryMustDropProbe) {
  usize n = 0, must = 0;
  const ProbeSpec* specs = probe_specs(&n);
  for (usize i = 0; i < n; ++i) {
    const ProbeSpec& p = specs[i];
    const Observation o = observe(Behaviour::kBroken, p);
    const Judgement j = judge(p, o);
    EXPECT_EQ(o.kept, kReads) << p.label;
    EXPECT_EQ(j.violation, p.rule == Rule::kMustDrop) << p.label;
    must += p.rule == Rule::kMustDrop;
  }
  EXPECT_GE(must, 12u);  // every family has a must-drop probe
}

// A CPU that keeps the old translation every other read, and one that reads garbage.
struct Flaky {
  TlbModel keep{Behaviour::kBroken}, drop{Behaviour::kSdmMaxKeep};
  u32 n = 0;
  bool garbage = false;
  TlbModel& m() { return n % 2 ? keep : drop; }
  void reset(const ProbeSpec& p) {
    ++n;
    keep.reset(p);
    drop.reset(p);
  }
  Magic read(Page page) {
    Magic got = m().read(page);
    return garbage ? Magic::kOther : got;
  }
  void retarget_pte() { m().retarget_pte(); }
  void retarget_pde() { m().retarget_pde(); }
  void write_cr3(u16 pcid, bool noflush) { m().write_cr3(pcid, noflush); }
  void invpcid(u32 type, u16 pcid, Page page) { m().invpcid(type, pcid, page); }
  void invlpg(Page page) { m().invlpg(page); }
  void toggle_pge() { m().toggle_pge(); }
  void pcide_off() { m().pcide_off(); }
};
static_assert(ProbeCpu<Flaky>);

TEST(ProbeVerdict, OneKeptReadOfAMustDropProbeIsAViolation) {
  Flaky f;
  const ProbeSpec& p = *find_probe("invlpg");
  const Observation o = run_probe(f, p, 7);
  EXPECT_EQ(o.kept, 4u);  // reads 1, 3, 5, 7
  const Judgement j = judge(p, o);
  EXPECT_EQ(j.seen, Seen::kMixed);
  EXPECT_TRUE(j.violation);
  EXPECT_FALSE(judge(p, Observation{7, 0, 0}).violation);
  EXPECT_TRUE(judge(p, Observation{7, 1, 0}).violation);
}

// The model CPU, with an NMI during chosen reads (counted from 1).
struct Disturbed : TlbModel {
  using TlbModel::TlbModel;
  u32 resets = 0;
  std::vector<u32> nmi_at;
  void reset(const ProbeSpec& p) {
    ++resets;
    TlbModel::reset(p);
  }
  bool disturbed() const {
    for (u32 n : nmi_at)
      if (n == resets) return true;
    return false;
  }
};
static_assert(ProbeCpu<Disturbed>);

TEST(ProbeDisturbance, ADisturbedReadIsMadeAgainAndNotCounted) {
  Disturbed d{Behaviour::kBroken};  // keeps everything: each counted read is "kept"
  d.nmi_at = {2, 3, 6};
  const ProbeSpec& p = *find_probe("invlpg");
  const Observation o = run_probe(d, p, 5);
  EXPECT_EQ(o.reads, 5u);
  EXPECT_EQ(o.kept, 5u);
  EXPECT_EQ(o.disturbed, 3u);
  EXPECT_EQ(d.resets, 8u);  // 5 counted, 3 made again
}

TEST(ProbeDisturbance, AStormGivesUpWithTheReadsItHas) {
  Disturbed d{Behaviour::kSdmMaxKeep};
  for (u32 i = 2; i < 100; ++i) d.nmi_at.push_back(i);  // every read after the first
  const ProbeSpec& p = *find_probe("cr3.nopcid");
  const Observation o = run_probe(d, p, 5);
  EXPECT_EQ(o.reads, 1u);
  EXPECT_EQ(o.disturbed, max_probe_disturbed(5) + 1);
}

TEST(ProbeVerdict, KeepingWhatMayBeKeptIsNoViolationMixedOrNot) {
  const ProbeSpec& p = *find_probe("cr3.pcid.noflush");
  for (u32 kept : {0u, 3u, 7u}) {
    const Judgement j = judge(p, Observation{7, kept, 0});
    EXPECT_FALSE(j.violation) << kept;
    EXPECT_EQ(j.seen, kept == 0 ? Seen::kDropped : kept == 7 ? Seen::kKept : Seen::kMixed);
  }
}

TEST(ProbeVerdict, AReadOfNeitherFrameMarksTheProbeBroken) {
  Flaky f;
  f.garbage = true;
  const ProbeSpec& p = *find_probe("cr3.nopcid");
  const Observation o = run_probe(f, p, 3);
  EXPECT_EQ(o.other, 3u);
  EXPECT_TRUE(judge(p, o).broken);
  EXPECT_TRUE(judge(p, Observation{}).broken);  // no reads prove nothing
  EXPECT_FALSE(judge(p, Observation{3, 0, 0}).broken);
}

// --- Intel and AMD: which manual judges -----------------------------------------------------

// The probes that cite the APM: a change to this list is a change to what AMD CPUs are judged by.
const std::set<std::string> kApmCited = {"cr3.pcid", "cr3.pcid.noflush", "cr3.pcid.switch.noflush"};

bool starts_with(const char* s, const char* prefix) {
  return s && std::string(s).rfind(prefix, 0) == 0;
}

TEST(ProbeManual, EveryAmdRuleCarriesAnApmCitation) {
  usize n = 0;
  const ProbeSpec* specs = probe_specs(&n);
  std::set<std::string> cited;
  for (usize i = 0; i < n; ++i) {
    const ProbeSpec& p = specs[i];
    const AppliedRule amd = applied_rule(p, Vendor::kAmd);
    if (p.apm.reference) {
      cited.insert(p.label);
      EXPECT_TRUE(starts_with(p.apm.reference, "APM Vol.")) << p.label;
      EXPECT_EQ(amd.manual, Manual::kApm) << p.label;
      EXPECT_STREQ(amd.reference, p.apm.reference) << p.label;
      EXPECT_EQ(amd.rule, p.apm.rule) << p.label;
    } else {
      // Not cited: AMD is judged by the SDM's rule and section, never by an uncited rule.
      EXPECT_FALSE(amd_differs(p)) << p.label;
      EXPECT_EQ(amd.manual, Manual::kSdm) << p.label;
      EXPECT_EQ(amd.rule, p.rule) << p.label;
      EXPECT_STREQ(amd.reference, p.reference) << p.label;
    }
    // Whatever AMD is judged by that is not the SDM's rule comes with an APM section.
    if (amd.rule != p.rule) {
      EXPECT_TRUE(starts_with(amd.reference, "APM Vol.")) << p.label;
    }
  }
  EXPECT_EQ(cited, kApmCited);
  EXPECT_STREQ(manual_name(Manual::kSdm), "SDM");
  EXPECT_STREQ(manual_name(Manual::kApm), "APM");
}

TEST(ProbeManual, IntelAndOtherVendorsAreJudgedByTheSdmAsBefore) {
  usize n = 0;
  const ProbeSpec* specs = probe_specs(&n);
  for (Vendor v : {Vendor::kIntel, Vendor::kOther}) {
    for (usize i = 0; i < n; ++i) {
      const ProbeSpec& p = specs[i];
      const AppliedRule r = applied_rule(p, v);
      EXPECT_EQ(r.manual, Manual::kSdm) << p.label;
      EXPECT_EQ(r.rule, p.rule) << p.label;
      EXPECT_STREQ(r.reference, p.reference) << p.label;
      for (Behaviour b : {Behaviour::kSdmMaxKeep, Behaviour::kBroken}) {
        Observation o = observe(b, p);
        o.vendor = v;
        const Judgement j = judge(p, o);
        EXPECT_EQ(j.violation, o.kept > 0 && p.rule == Rule::kMustDrop) << p.label;
        EXPECT_EQ(j.applied.manual, Manual::kSdm) << p.label;
      }
    }
  }
}

// AMD CPUs on the real table: the cited sections agree with the SDM, so the verdicts are Intel's;
// the model that keeps all the SDM allows breaks no APM rule either (were an APM rule stricter,
// this would fail and the model would need an APM behaviour), and the broken one still does.
TEST(ProbeManual, AmdIsJudgedByTheCitedApmRules) {
  usize n = 0;
  const ProbeSpec* specs = probe_specs(&n);
  for (usize i = 0; i < n; ++i) {
    const ProbeSpec& p = specs[i];
    for (Behaviour b :
         {Behaviour::kSdmMaxKeep, Behaviour::kBochs, Behaviour::kQemuTcg, Behaviour::kBroken}) {
      Observation o = observe(b, p);
      o.vendor = Vendor::kAmd;
      const Judgement j = judge(p, o);
      EXPECT_EQ(j.applied.manual, kApmCited.count(p.label) ? Manual::kApm : Manual::kSdm)
          << p.label;
      EXPECT_EQ(j.violation, b == Behaviour::kBroken && j.applied.rule == Rule::kMustDrop)
          << behaviour_name(b) << " " << p.label;
    }
  }
}

// Where the APM states another rule than the SDM, an AMD CPU is judged by the APM's and an Intel
// one by the SDM's, both ways: a test-only table entry, since no cited section differs today.
TEST(ProbeManual, WhereTheApmDiffersAmdIsJudgedByIt) {
  // SDM must-drop, APM (test-only) may-keep: a CPU that keeps breaks the SDM only.
  ProbeSpec looser = *find_probe("invlpg");
  looser.apm = {"APM Vol.2 test-only (looser)", Rule::kMayKeep};
  ASSERT_TRUE(amd_differs(looser));
  Observation kept = observe(Behaviour::kBroken, looser);
  ASSERT_EQ(kept.kept, kReads);
  kept.vendor = Vendor::kIntel;
  EXPECT_TRUE(judge(looser, kept).violation);
  EXPECT_EQ(judge(looser, kept).applied.manual, Manual::kSdm);
  kept.vendor = Vendor::kAmd;
  const Judgement amd = judge(looser, kept);
  EXPECT_FALSE(amd.violation);
  EXPECT_EQ(amd.applied.manual, Manual::kApm);
  EXPECT_EQ(amd.applied.rule, Rule::kMayKeep);
  EXPECT_STREQ(amd.applied.reference, "APM Vol.2 test-only (looser)");

  // SDM may-keep, APM (test-only) must-drop: keeping what the SDM allows is an AMD violation.
  ProbeSpec stricter = *find_probe("cr3.pcid.noflush");
  stricter.apm = {"APM Vol.2 test-only (stricter)", Rule::kMustDrop};
  Observation max = observe(Behaviour::kSdmMaxKeep, stricter);
  ASSERT_EQ(max.kept, kReads);
  max.vendor = Vendor::kIntel;
  EXPECT_FALSE(judge(stricter, max).violation);
  max.vendor = Vendor::kAmd;
  EXPECT_TRUE(judge(stricter, max).violation);
  EXPECT_STREQ(judge(stricter, max).applied.reference, "APM Vol.2 test-only (stricter)");
  // Dropped reads prove nothing either way: no violation under either manual.
  Observation dropped = observe(Behaviour::kBochs, stricter);
  ASSERT_EQ(dropped.kept, 0u);
  dropped.vendor = Vendor::kAmd;
  EXPECT_FALSE(judge(stricter, dropped).violation);
  // A vendor other than AMD never applies the APM's rule.
  max.vendor = Vendor::kOther;
  EXPECT_FALSE(judge(stricter, max).violation);
}

TEST(ProbeVerdict, RuleAndSeenNamesAreTheRecordsWords) {
  EXPECT_STREQ(rule_name(Rule::kMustDrop), "must-drop");
  EXPECT_STREQ(rule_name(Rule::kMayKeep), "may-keep");
  EXPECT_STREQ(seen_name(Seen::kKept), "kept");
  EXPECT_STREQ(seen_name(Seen::kDropped), "dropped");
  EXPECT_STREQ(seen_name(Seen::kMixed), "mixed");
}

}  // namespace
}  // namespace ptb::bench
