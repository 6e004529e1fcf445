// The variant table's integrity: unique names of the contract's shape, features declared for
// every row that needs them, exact instruction counts where the method defines them, and the same
// rows (names and recorded identity fields) as the 0.1 kernel's real captures.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench/probe.h"
#include "bench/row.h"

namespace ptb::bench {
namespace {

using x86::EntryScheme;
using x86::Feature;

std::string name_of(const Row& r) {
  Text<kNameMax> t;
  put_name(t, r);
  EXPECT_FALSE(t.truncated());
  return t.c_str();
}

struct Table {
  std::vector<Row> rows = std::vector<Row>(kMaxRows);
  usize n = 0;
  std::map<std::string, const Row*> by_name;
};

Table build(u32 refill_max = 1024, bool quick = false, std::vector<u32> touch = {1, 8, 64}) {
  Table t;
  t.n = build_table(t.rows.data(), kMaxRows,
                    TableParams{refill_max, quick, touch.data(), touch.size()});
  for (usize i = 0; i < t.n; ++i) t.by_name[name_of(t.rows[i])] = &t.rows[i];
  return t;
}

bool needs(const Row& r, Feature f) { return (r.features >> static_cast<u32>(f)) & 1; }

TEST(VariantTable, NamesAreUniqueAndShapedLikeTheContract) {
  Table t = build();
  std::set<std::string> seen;
  const std::regex shape("[a-z0-9]+(\\.[a-z0-9]+)*");
  for (usize i = 0; i < t.n; ++i) {
    std::string name = name_of(t.rows[i]);
    EXPECT_TRUE(seen.insert(name).second) << "duplicate " << name;
    EXPECT_TRUE(std::regex_match(name, shape)) << name;
    EXPECT_EQ(name.substr(0, name.find('.')), group_name(t.rows[i].group)) << name;
    EXPECT_LT(name.size(), kNameMax) << name;
  }
}

TEST(VariantTable, NamesAreRenderedFromTheRowsIdentity) {
  Row refill{.group = Group::kTlb,
             .label = "refill",
             .flush = Flush::kInvpcidSingle,
             .global = true,
             .pages = 4095,
             .method = Method::kRefill};
  EXPECT_EQ(name_of(refill), "tlb.refill.global.invpcid.single.4095");
  Row crossing{.group = Group::kCrossing,
               .label = "pf",
               .scheme_suffix = true,
               .direction = Direction::kK2u,
               .method = Method::kCrossing,
               .env = {.scheme = EntryScheme::kPcid}};
  EXPECT_EQ(name_of(crossing), "crossing.pf.pti.pcid.k2u");
  Row touch{.group = Group::kSyscall, .label = "pti", .touch = 512};
  EXPECT_EQ(name_of(touch), "syscall.pti.touch.512");
  Row bare{.group = Group::kInvlpg, .label = ""};
  EXPECT_EQ(name_of(bare), "invlpg");
}

TEST(VariantTable, EveryNameTheIssuesPromiseIsThere) {
  Table t = build();
  for (const char* n : {"cr3.read",
                        "cr3.write.nopcid",
                        "cr3.write.pcid.flush",
                        "cr3.write.pcid.noflush",
                        "cr3.switch.nopcid",
                        "cr3.switch.pcid.flush",
                        "cr3.switch.pcid.noflush",
                        "invpcid.addr",
                        "invpcid.single",
                        "invpcid.all",
                        "invpcid.allnonglobal",
                        "invlpg",
                        "invlpg.unmapped",
                        "cr4.pge.toggle",
                        "syscall.direct",
                        "syscall.trampoline",
                        "syscall.pti",
                        "syscall.pti.pcid",
                        "syscall.pti.pcid.flush",
                        "syscall.pti.pcid.extra1",
                        "syscall.pti.pcid.extra2",
                        "fault.pf",
                        "fault.pf.pti",
                        "fault.pf.pti.pcid",
                        "trap.int3",
                        "trap.int3.pti",
                        "trap.int3.pti.pcid",
                        "int.soft",
                        "int.soft.pti",
                        "int.soft.pti.pcid"}) {
    EXPECT_TRUE(t.by_name.count(n)) << n;
  }
  for (const char* kind : {"syscall", "pf", "int3", "int"}) {
    for (const char* pti : {"", ".pti", ".pti.pcid"}) {
      for (const char* dir : {".u2k", ".k2u"}) {
        EXPECT_TRUE(t.by_name.count(std::string("crossing.") + kind + pti + dir))
            << kind << pti << dir;
      }
    }
  }
}

TEST(VariantTable, PcidStateIsNeverUsedWithoutDeclaringPcid) {
  // The environment sets CR4.PCIDE only for rows that declare it; a row that forgot the feature
  // would set a bit the CPU does not report (QEMU TCG hangs on CR3 bit 63).
  Table t = build();
  for (usize i = 0; i < t.n; ++i) {
    const Row& r = t.rows[i];
    std::string name = name_of(r);
    if (r.env.pcid_mode()) {
      EXPECT_TRUE(needs(r, Feature::kPcid)) << name;
    }
    if (name.find("invpcid") != std::string::npos) {
      EXPECT_TRUE(needs(r, Feature::kInvpcid)) << name;
    }
    if (name.find(".pcid") != std::string::npos || name.find(".noflush") != std::string::npos) {
      EXPECT_TRUE(needs(r, Feature::kPcid)) << name;
    }
    if (name.find(".global.") != std::string::npos || name == "cr4.pge.toggle") {
      EXPECT_TRUE(needs(r, Feature::kPge)) << name;
    }
    if (r.method == Method::kRing3Loop || r.method == Method::kCrossing) {
      EXPECT_TRUE(needs(r, Feature::kSyscall)) << name;
    }
  }
  // And nothing else asks for PCID: the non-PCID rows must run on a CPU without it.
  for (const char* n : {"cr3.read", "cr3.write.nopcid", "cr3.switch.nopcid", "invlpg",
                        "syscall.pti", "fault.pf.pti", "crossing.pf.pti.u2k"}) {
    EXPECT_FALSE(needs(*t.by_name.at(n), Feature::kPcid)) << n;
  }
}

TEST(VariantTable, Ring3RowsInstallAnEntryAndRing0RowsNone) {
  Table t = build();
  for (usize i = 0; i < t.n; ++i) {
    const Row& r = t.rows[i];
    std::string name = name_of(r);
    const bool ring3 = r.method == Method::kRing3Loop || r.method == Method::kCrossing;
    if (!ring3) {
      EXPECT_EQ(r.env.lstar, nullptr) << name;
      EXPECT_EQ(r.env.vector, 0u) << name;
      EXPECT_EQ(r.env.scheme, EntryScheme::kNone) << name;
      continue;
    }
    // Exactly one way in: a SYSCALL entry or an IDT gate (syscall rows keep the gates alone).
    EXPECT_NE(r.env.lstar != nullptr, r.env.vector != 0 && r.env.gate != nullptr) << name;
    // The faulting store is on every #PF path except the one-way exit (k2u).
    const bool store_on_path = r.env.vector == 14 && r.direction == Direction::kU2k;
    EXPECT_EQ(r.faulting != 0, store_on_path) << name;
  }
}

TEST(VariantTable, RowsHaveABodyAndCountTheirInstructions) {
  Table t = build();
  for (usize i = 0; i < t.n; ++i) {
    const Row& r = t.rows[i];
    std::string name = name_of(r);
    if (r.method == Method::kRefill) {
      EXPECT_EQ(r.instructions, 0u) << name;
      continue;
    }
    if (is_ipi(r) || r.method == Method::kShootdown) {  // across CPUs: no body, nothing counted
      EXPECT_EQ(r.body.begin, nullptr) << name;
      EXPECT_EQ(r.instructions, 0u) << name;
      continue;
    }
    if (r.method == Method::kProbe) {  // not timed: no body, no instruction count
      EXPECT_EQ(r.body.begin, nullptr) << name;
      EXPECT_EQ(r.instructions, 0u) << name;
      continue;
    }
    EXPECT_NE(r.body.begin, nullptr) << name;
    EXPECT_GT(r.body.size(), 0u) << name;
    EXPECT_GT(r.ops_per_body, 0u) << name;
    EXPECT_GT(r.instructions, 0u) << name;
    EXPECT_LE(r.faulting, r.instructions) << name;
  }
  // The issue's exactness relations hold by construction of the table.
  EXPECT_EQ(t.by_name.at("syscall.pti.pcid.extra1")->instructions,
            t.by_name.at("syscall.pti.pcid")->instructions + 1);
  EXPECT_EQ(t.by_name.at("syscall.pti.pcid.extra2")->instructions,
            t.by_name.at("syscall.pti.pcid.extra1")->instructions + 1);
  EXPECT_EQ(t.by_name.at("cr4.pge.toggle")->instructions, 2u);
  for (const char* n : {"cr3.read", "cr3.write.nopcid", "invpcid.single", "invlpg"}) {
    EXPECT_EQ(t.by_name.at(n)->instructions, 1u) << n;
  }
}

TEST(VariantTable, EveryFlushSayingWhatItRefillsAndTheGlobalSparingOnesHaveAPureTwin) {
  Table t = build();
  const std::map<std::string, std::string> refills = {{"cr3.read", "none"},
                                                      {"cr3.write.nopcid", "code"},
                                                      {"cr3.write.pcid.flush", "code"},
                                                      {"cr3.write.pcid.noflush", "none"},
                                                      {"cr3.switch.nopcid", "code"},
                                                      {"cr3.switch.pcid.flush", "code"},
                                                      {"cr3.switch.pcid.noflush", "none"},
                                                      {"invpcid.addr", "none"},
                                                      {"invpcid.single", "code+descriptor"},
                                                      {"invpcid.all", "code+descriptor"},
                                                      {"invpcid.allnonglobal", "code+descriptor"},
                                                      {"invlpg", "none"},
                                                      {"invlpg.unmapped", "none"},
                                                      {"cr4.read", "none"},
                                                      {"cr4.pge.toggle", "code"}};
  usize loops = 0;
  for (usize i = 0; i < t.n; ++i) {
    const Row& r = t.rows[i];
    if (r.method != Method::kLoop) {
      EXPECT_FALSE(r.pure) << name_of(r);
      continue;
    }
    ++loops;
    const std::string name = name_of(r);
    if (r.pure) continue;
    ASSERT_TRUE(refills.count(name)) << name;
    EXPECT_EQ(refills_name(r.refills), refills.at(name)) << name;
    // A twin exactly where the flush spares global translations and drops the code page.
    const bool drops_globals = name == "invpcid.all" || name == "cr4.pge.toggle";
    const std::string twin = name + ".pure";
    EXPECT_EQ(t.by_name.count(twin), (r.refills != kRefillNone && !drops_globals) ? 1u : 0u)
        << twin;
    if (!t.by_name.count(twin)) continue;
    const Row& p = *t.by_name.at(twin);
    EXPECT_TRUE(p.pure);
    EXPECT_EQ(p.refills, kRefillNone) << twin;
    EXPECT_EQ(p.features, r.features | need(Feature::kPge)) << twin;
    EXPECT_EQ(p.body.begin, r.body.begin) << twin;
    EXPECT_EQ(p.instructions, r.instructions) << twin;
    EXPECT_EQ(p.ops_per_body, r.ops_per_body) << twin;
    EXPECT_EQ(p.env.pcid, r.env.pcid) << twin;
    // Only the INVPCID twins need other registers: their descriptor in the global page.
    EXPECT_EQ(p.setup != r.setup, r.group == Group::kInvpcid) << twin;
  }
  EXPECT_EQ(loops, refills.size() + 6);  // six twins
  EXPECT_EQ(name_of(Row{.group = Group::kCr3, .label = "write.nopcid", .pure = true}),
            "cr3.write.nopcid.pure");
}

TEST(VariantTable, PtiRowsMapAsCurrentLinuxWithAFourFifteenTwin) {
  Table t = build();
  usize twins = 0;
  for (usize i = 0; i < t.n; ++i) {
    const Row& r = t.rows[i];
    const std::string name = name_of(r);
    if (!r.env.nonglobal) continue;
    ++twins;
    EXPECT_NE(r.env.scheme, EntryScheme::kNone) << name;
    EXPECT_EQ(r.env.globals(), x86::PtiGlobals::kNone) << name;
    // The same row without ".415": same path, count and scheme, current Linux's mapping.
    std::string current = name;
    current.erase(current.find(".415"), 4);
    ASSERT_TRUE(t.by_name.count(current)) << current;
    const Row& c = *t.by_name.at(current);
    EXPECT_FALSE(c.env.nonglobal);
    EXPECT_EQ(c.env.scheme, r.env.scheme) << name;
    EXPECT_EQ(c.env.lstar, r.env.lstar) << name;
    EXPECT_EQ(c.env.gate, r.env.gate) << name;
    EXPECT_EQ(c.body.begin, r.body.begin) << name;
    EXPECT_EQ(c.instructions, r.instructions) << name;
    EXPECT_EQ(c.faulting, r.faulting) << name;
    EXPECT_EQ(c.env.globals(), x86::uses_pcid(c.env.scheme) ? x86::PtiGlobals::kEntry
                                                            : x86::PtiGlobals::kEntryAndText)
        << current;
  }
  // syscall.pti{,.pcid}; fault.pf, trap.int3, int.soft x 2 schemes; 4 crossing kinds x 2 x 2.
  EXPECT_EQ(twins, 2u + 6u + 16u);
  for (const char* n :
       {"syscall.pti.415", "syscall.pti.pcid.415", "fault.pf.pti.415", "int.soft.pti.pcid.415",
        "crossing.pf.pti.415.u2k", "crossing.int3.pti.pcid.415.k2u"})
    EXPECT_TRUE(t.by_name.count(n)) << n;
}

TEST(VariantTable, PtiAndPtiPcidRoundTripsDifferOnlyByTheCr3Switch) {
  // TO_KERNEL_CR3 gains a BTS with PCID (1) and TO_USER_CR3 the lazy-flush test (9 instead of
  // 3): 7 instructions, the same for system calls, faults, traps and interrupts.
  Table t = build();
  for (const char* base : {"syscall.pti", "fault.pf.pti", "trap.int3.pti", "int.soft.pti"}) {
    const std::string pti = base, pcid = pti + ".pcid";
    EXPECT_EQ(t.by_name.at(pcid)->instructions - t.by_name.at(pti)->instructions, 7u) << base;
  }
  for (const char* kind : {"syscall", "pf", "int3", "int"}) {
    const std::string c = std::string("crossing.") + kind;
    EXPECT_EQ(t.by_name.at(c + ".pti.pcid.u2k")->instructions -
                  t.by_name.at(c + ".pti.u2k")->instructions,
              1u)
        << kind;
    EXPECT_EQ(t.by_name.at(c + ".pti.pcid.k2u")->instructions -
                  t.by_name.at(c + ".pti.k2u")->instructions,
              6u)
        << kind;
  }
}

TEST(VariantTable, EveryCrossingHasCounterPassesOfItsOwnKindAndScheme) {
  // The counter passes run the row's path again with counter stamps: a stub and driver per kind
  // and scheme and source, never the tick pass's own (which stays as it is), shared by the two
  // directions and the .415 twin (the same path), and by int3 and int (the same stub), as the
  // tick pass shares them.
  Table t = build();
  std::map<std::string, const CounterPassCode*> by_path;
  usize crossings = 0;
  for (usize i = 0; i < t.n; ++i) {
    const Row& r = t.rows[i];
    const std::string name = name_of(r);
    if (r.method != Method::kCrossing) {
      EXPECT_EQ(r.counter_code, nullptr) << name;
      continue;
    }
    ++crossings;
    ASSERT_NE(r.counter_code, nullptr) << name;
    const u8* tick_stub = r.env.lstar ? r.env.lstar : r.env.gate;
    const CounterPassCode& pmc = r.counter_code[kCounterPassRdpmc];
    const CounterPassCode& fake = r.counter_code[kCounterPassFakeTsc];
    for (const CounterPassCode* c : {&pmc, &fake}) {
      EXPECT_GT(c->driver.size(), 0u) << name;
      EXPECT_NE(c->driver.begin, r.body.begin) << name;
      EXPECT_NE(c->stub, tick_stub) << name;
      EXPECT_NE(c->stub, nullptr) << name;
    }
    EXPECT_NE(pmc.stub, fake.stub) << name;
    EXPECT_NE(pmc.driver.begin, fake.driver.begin) << name;
    const std::string path = std::string(cross_name(r.cross)) + scheme_suffix(r.env.scheme);
    auto [it, fresh] = by_path.emplace(path, r.counter_code);
    if (!fresh) {
      EXPECT_EQ(it->second, r.counter_code) << name;
    }
  }
  EXPECT_EQ(crossings, 4u * (3 + 2) * 2);
  ASSERT_EQ(by_path.size(), 12u);
  for (const char* pti : {"", ".pti", ".pti.pcid"}) {
    const std::string s = pti;
    const CounterPassCode* int3 = by_path.at("int3" + s);
    const CounterPassCode* soft = by_path.at("int" + s);
    const CounterPassCode* sys = by_path.at("syscall" + s);
    const CounterPassCode* pf = by_path.at("pf" + s);
    for (u32 src = 0; src < kCounterPassSources; ++src) {
      EXPECT_EQ(int3[src].stub, soft[src].stub) << pti;                  // the same trap stub ...
      EXPECT_NE(int3[src].driver.begin, soft[src].driver.begin) << pti;  // ... other drivers
      EXPECT_NE(sys[src].stub, pf[src].stub) << pti;
      EXPECT_NE(sys[src].stub, int3[src].stub) << pti;
      EXPECT_NE(pf[src].stub, int3[src].stub) << pti;
    }
  }
  // Each scheme its own stub, the kind its one driver.
  for (const char* kind : {"syscall", "pf", "int3", "int"}) {
    const std::string k = kind;
    const CounterPassCode *none = by_path.at(k), *pti = by_path.at(k + ".pti"),
                          *pcid = by_path.at(k + ".pti.pcid");
    for (u32 src = 0; src < kCounterPassSources; ++src) {
      EXPECT_NE(none[src].stub, pti[src].stub) << kind;
      EXPECT_NE(pti[src].stub, pcid[src].stub) << kind;
      EXPECT_NE(none[src].stub, pcid[src].stub) << kind;
      EXPECT_EQ(none[src].driver.begin, pti[src].driver.begin) << kind;
      EXPECT_EQ(pti[src].driver.begin, pcid[src].driver.begin) << kind;
    }
  }
}

TEST(VariantTable, OneProbeRowPerProbeNamedAfterIt) {
  Table t = build();
  usize n = 0;
  const ProbeSpec* specs = probe_specs(&n);
  ASSERT_GT(n, 0u);
  for (usize i = 0; i < n; ++i) {
    const std::string name = std::string("probe.") + specs[i].label;
    ASSERT_TRUE(t.by_name.count(name)) << name;
    const Row& r = *t.by_name.at(name);
    EXPECT_EQ(r.method, Method::kProbe);
    EXPECT_EQ(&specs[r.probe], &specs[i]) << name;
    EXPECT_EQ(r.env.pcid, specs[i].pcid) << name;
    EXPECT_EQ(r.features, specs[i].features) << name;  // PCID is already the spec's own
  }
  for (const char* name :
       {"probe.cr3.nopcid", "probe.cr3.pcid.noflush", "probe.invpcid.single.other",
        "probe.invlpg.global", "probe.cr4.pcide.off", "probe.pde.invlpg"})
    EXPECT_TRUE(t.by_name.count(name)) << name;
}

TEST(VariantTable, TouchRowsFollowTheTouchList) {
  Table t = build(1024, false, {2, 512});
  EXPECT_TRUE(t.by_name.count("syscall.pti.pcid.touch.2"));
  EXPECT_TRUE(t.by_name.count("syscall.pti.touch.512"));
  EXPECT_FALSE(t.by_name.count("syscall.pti.touch.8"));
  const Row& a = *t.by_name.at("syscall.direct.touch.2");
  const Row& b = *t.by_name.at("syscall.direct.touch.512");
  EXPECT_EQ(b.instructions - a.instructions, 4u * (512 - 2));  // 4 instructions a page
  EXPECT_EQ(a.touch, 2u);
  EXPECT_EQ(a.env.lstar, t.by_name.at("syscall.direct")->env.lstar);
}

TEST(VariantTable, RefillCurveCoversEveryFlushAndPowerOfTwo) {
  Table t = build(1024);
  for (const char* flush : {"none", "cr3", "cr3.noflush", "invpcid.single", "invlpg"}) {
    for (u32 k = 1; k <= 1024; k *= 2) {
      for (const char* g : {"", "global."}) {
        std::string name = std::string("tlb.refill.") + g + flush + "." + std::to_string(k);
        ASSERT_TRUE(t.by_name.count(name)) << name;
        const Row& r = *t.by_name.at(name);
        EXPECT_EQ(r.pages, k);
        EXPECT_EQ(r.global, *g != '\0');
        EXPECT_STREQ(flush_name(r.flush), flush);
      }
    }
  }
  Table q = build(1024, true);
  EXPECT_TRUE(q.by_name.count("tlb.refill.cr3.16"));
  EXPECT_TRUE(q.by_name.count("tlb.chase.cr3.16"));
  EXPECT_FALSE(q.by_name.count("tlb.refill.cr3.8"));
}

TEST(VariantTable, EveryRefillPointHasAPointerChaseTwin) {
  Table t = build(1024);
  usize refill = 0, chase = 0;
  for (usize i = 0; i < t.n; ++i) {
    const Row& r = t.rows[i];
    if (r.method != Method::kRefill) continue;
    std::string name = name_of(r);
    const bool is_chase = r.access == Access::kChase;
    EXPECT_EQ(name.rfind(is_chase ? "tlb.chase." : "tlb.refill.", 0), 0u) << name;
    (is_chase ? chase : refill)++;
    if (is_chase) continue;
    std::string twin = "tlb.chase." + name.substr(std::string("tlb.refill.").size());
    ASSERT_TRUE(t.by_name.count(twin)) << twin;
    const Row& c = *t.by_name.at(twin);
    EXPECT_EQ(c.access, Access::kChase);
    EXPECT_EQ(c.flush, r.flush) << twin;
    EXPECT_EQ(c.pages, r.pages) << twin;
    EXPECT_EQ(c.global, r.global) << twin;
    EXPECT_EQ(c.features, r.features) << twin;
    EXPECT_EQ(c.env.pcid, r.env.pcid) << twin;
  }
  EXPECT_EQ(refill, chase);
  EXPECT_EQ(refill, 2u * 5u * 11u);  // global or not, 5 flushes, K = 1 ... 1024
  EXPECT_STREQ(access_name(Access::kChase), "chase");
  EXPECT_STREQ(access_name(Access::kIndependent), "independent");
}

TEST(VariantTable, RefillCurveEndsAtRefillMaxEvenWhenItIsNoPowerOfTwo) {
  Table t = build(1000);
  EXPECT_TRUE(t.by_name.count("tlb.refill.cr3.512"));
  EXPECT_TRUE(t.by_name.count("tlb.refill.cr3.1000"));
  EXPECT_FALSE(t.by_name.count("tlb.refill.cr3.1024"));
  Table one = build(1);
  EXPECT_TRUE(one.by_name.count("tlb.refill.invlpg.1"));
  EXPECT_FALSE(one.by_name.count("tlb.refill.invlpg.2"));
}

TEST(VariantTable, LargestOptionsStillFitEveryRow) {
  // refill_max=4095 (13 powers of two and itself) and 16 touch values: nothing is cut off.
  std::vector<u32> touch;
  for (u32 k = 1; k <= 16; ++k) touch.push_back(k);
  Table t = build(4095, false, touch);
  EXPECT_TRUE(t.by_name.count("tlb.refill.global.invlpg.4095"));
  EXPECT_TRUE(t.by_name.count("tlb.refill.global.invlpg.2048"));
  EXPECT_TRUE(t.by_name.count("tlb.chase.global.invlpg.4095"));
  EXPECT_TRUE(t.by_name.count("syscall.pti.pcid.touch.16"));
  EXPECT_TRUE(t.by_name.count("crossing.int.pti.pcid.k2u"));
  EXPECT_LT(t.n, kMaxRows);
}

TEST(VariantTable, LargestOptionsOfEveryFamilyFitTogether) {
  // Every list option at its largest at once (bench/options.cpp: 16 touch values, 8 process
  // counts, 16 slot counts, 8 footprint values, 8 shootdown page counts) on 64 CPUs, with
  // refill_max=4095: the table must hold all of it, the last rows built included.
  std::vector<u32> touch, processes, slots, footprint, pages;
  for (u32 k = 1; k <= 16; ++k) touch.push_back(k);
  for (u32 p = 2; p < 10; ++p) processes.push_back(p);
  for (u32 s = 1; s <= 16; ++s) slots.push_back(s);
  for (u32 kk = 0; kk < 8; ++kk) footprint.push_back(kk);
  for (u32 n = 1; n <= 8; ++n) pages.push_back(n);
  std::vector<Row> rows(kMaxRows + 1);
  TableParams tp{
      .refill_max = 4095, .quick = false, .touch = touch.data(), .touch_count = touch.size()};
  tp.lab_processes = processes.data();
  tp.lab_processes_count = processes.size();
  tp.lab_slots = slots.data();
  tp.lab_slots_count = slots.size();
  tp.lab_kernel_pages = 8;
  tp.lab_footprint = footprint.data();
  tp.lab_footprint_count = footprint.size();
  tp.cpus = 64;
  tp.shootdown_pages = pages.data();
  tp.shootdown_page_count = pages.size();
  // One more slot than the table has: a build that fills kMaxRows may have cut rows off.
  const usize n = build_table(rows.data(), rows.size(), tp);
  EXPECT_LT(n, kMaxRows);
  usize lab = 0, shoot = 0;
  for (usize i = 0; i < n; ++i) {
    lab += rows[i].group == Group::kAspace;
    shoot += rows[i].group == Group::kShootdown;
  }
  EXPECT_GT(lab, 400u);
  EXPECT_EQ(shoot, (kTargetedShootSchemeCount * (kIpiMatrixMax - 1) + 1) * pages.size());
}

TEST(VariantTable, ACapacityTooSmallCutsRowsOffButNeverOverruns) {
  std::vector<Row> rows(11);
  const u32 touch[] = {1};
  EXPECT_EQ(build_table(rows.data(), 10, TableParams{1024, false, touch, 1}), 10u);
}

// ---- the same rows as the 0.1 kernel printed ------------------------------------------------

std::string read_fixture(const char* relative) {
  std::ifstream in(std::string(PTIBENCH_SOURCE_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in.good()) << relative;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// What a row's result record says about its identity, as "key=value;..." (the fields that
// do not depend on the CPU or the measurement).
std::string identity_of_record(const std::string& line) {
  std::string out;
  for (const char* key : {"group", "instructions", "faulting", "flush", "pages", "global", "pti",
                          "pcid", "kind", "direction"}) {
    std::smatch m;
    std::regex field(std::string("\"") + key + "\":(\"[^\"]*\"|[0-9a-z]+)");
    if (std::regex_search(line, m, field)) out += std::string(key) + "=" + m[1].str() + ";";
  }
  return out;
}

// What the paths gained since 0.1 (issue 10): every one-way crossing stamp is fenced on both
// sides (two more LFENCEs in each direction), and the PTI-without-PCID stubs SWAPGS and save RDX
// as their PCID twins do (a crossing: one SWAPGS each way; a round trip: SWAPGS, push, pop,
// SWAPGS).
u32 instructions_added_since_zero_one(const Row& r) {
  const bool pti = r.env.scheme == EntryScheme::kPti;
  if (r.method == Method::kCrossing) return 2 + (pti ? 1 : 0);
  if (r.method == Method::kRing3Loop && r.env.vector != 0 && pti) return 4;
  return 0;
}

std::string identity_of_zero_one_row(const Row& r) {
  std::string out = std::string("group=\"") + group_name(r.group) + "\";";
  out +=
      "instructions=" + std::to_string(r.instructions - instructions_added_since_zero_one(r)) + ";";
  if (r.faulting) out += "faulting=" + std::to_string(r.faulting) + ";";
  const bool ring3 = r.method == Method::kRing3Loop || r.method == Method::kCrossing;
  if (r.method == Method::kRefill) {
    out += std::string("flush=\"") + flush_name(r.flush) + "\";";
    out += "pages=" + std::to_string(r.pages) + ";";
    out += std::string("global=") + (r.global ? "true" : "false") + ";";
  }
  if (r.touch) out += "pages=" + std::to_string(r.touch) + ";";
  if (ring3) {
    out += std::string("pti=") + (r.env.scheme != EntryScheme::kNone ? "true" : "false") + ";";
    out += std::string("pcid=") + (x86::uses_pcid(r.env.scheme) ? "true" : "false") + ";";
  }
  if (r.method == Method::kCrossing) {
    out += std::string("kind=\"") + cross_name(r.cross) + "\";";
    out += std::string("direction=\"") + (r.direction == Direction::kU2k ? "u2k" : "k2u") + "\";";
  }
  return out;
}

// Every result the 0.1 kernel recorded (`ok` records carry the instruction count) is still a row
// of today's table, with the same identity: the output contract's names are never taken away.
void expect_same_rows_as(const char* fixture, const Table& t) {
  std::istringstream in(read_fixture(fixture));
  std::string line;
  const std::regex name_re("\"type\":\"result\",\"name\":\"([^\"]+)\"");
  std::set<std::string> recorded;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, name_re)) continue;
    const std::string name = m[1].str();
    recorded.insert(name);
    auto it = t.by_name.find(name);
    if (it == t.by_name.end()) {
      ADD_FAILURE() << fixture << ": " << name << " is no longer a row";
      continue;
    }
    if (line.find("\"status\":\"ok\"") == std::string::npos) continue;
    std::string want = identity_of_record(line), got = identity_of_zero_one_row(*it->second);
    EXPECT_EQ(got, want) << fixture << ": " << name;
  }
  // Rows added since (cr4.read, syscall.bare, the probes, ...) are not in the capture: names are
  // added, never taken away, so only this direction is checked.
  EXPECT_FALSE(recorded.empty()) << fixture;
}

TEST(VariantTable, TheFullSuiteHasTheRowsOfTheZeroOneCapture) {
  expect_same_rows_as("tests/report/fixtures/kernel/bochs-haswell-full.log", build());
}

TEST(VariantTable, TheQuickSuiteHasTheRowsOfTheZeroOneCapture) {
  expect_same_rows_as("tests/report/fixtures/kernel/tcg-max-quick.log", build(1024, true));
}

TEST(TouchList, ParsesValidValuesAndCountsTheRest) {
  u32 out[8];
  usize rejected = 99, repeated = 99;
  const char* s = "1,8,,x,600,0,64";
  usize n = parse_touch_list(s, std::strlen(s), out, 8, &rejected, &repeated);
  ASSERT_EQ(n, 3u);
  EXPECT_EQ(out[0], 1u);
  EXPECT_EQ(out[1], 8u);
  EXPECT_EQ(out[2], 64u);
  EXPECT_EQ(rejected, 3u);  // x, 600, 0
  EXPECT_EQ(repeated, 0u);
}

TEST(TouchList, RepeatedValuesGiveOneRowEach) {
  // touch=16,16 made two rows called syscall.direct.touch.16 in 0.1.
  u32 out[8];
  usize rejected = 99, repeated = 99;
  const char* s = "16,16,8,16";
  usize n = parse_touch_list(s, std::strlen(s), out, 8, &rejected, &repeated);
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(out[0], 16u);
  EXPECT_EQ(out[1], 8u);
  EXPECT_EQ(rejected, 0u);
  EXPECT_EQ(repeated, 2u);
  Table t = build(1024, false, std::vector<u32>(out, out + n));
  std::set<std::string> names;
  for (usize i = 0; i < t.n; ++i) EXPECT_TRUE(names.insert(name_of(t.rows[i])).second);
}

}  // namespace
}  // namespace ptb::bench
