// The variant table's integrity: unique names of the contract's shape, features declared for
// every variant that needs them, exact instruction counts where the method defines them.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "bench/ring3_table.h"
#include "bench/variant.h"

// The table names assembly templates and entry points; on the host any distinct bytes will do.
#define FAKE(name) extern "C" const ptb::u8 name[4] = {0x90, 0x90, 0x90, 0x90}
#define FAKE_TEMPLATE(name) \
  FAKE(name);               \
  FAKE(name##_end)
FAKE_TEMPLATE(body_cr3_read);
FAKE_TEMPLATE(body_cr3_write);
FAKE_TEMPLATE(body_cr3_switch);
FAKE_TEMPLATE(body_invpcid);
FAKE_TEMPLATE(body_invlpg);
FAKE_TEMPLATE(body_cr4_toggle);
FAKE_TEMPLATE(body_syscall);
FAKE_TEMPLATE(body_store_fault);
FAKE_TEMPLATE(body_int3);
FAKE_TEMPLATE(body_int_soft);
FAKE_TEMPLATE(body_syscall_touch);
FAKE(syscall_entry_direct);
FAKE(syscall_entry_trampoline);
FAKE(syscall_entry_pti);
FAKE(syscall_entry_pti_pcid);
FAKE(syscall_entry_pti_pcid_flush);
FAKE(syscall_entry_pti_pcid_extra1);
FAKE(syscall_entry_pti_pcid_extra2);
FAKE(exception_stub_pf);
FAKE(exception_stub_pf_pti);
FAKE(exception_stub_pf_pti_pcid);
FAKE(exception_stub_trap);
FAKE(exception_stub_trap_pti);
FAKE(exception_stub_trap_pti_pcid);
FAKE(crossing_stub_syscall);
FAKE(crossing_stub_syscall_pti);
FAKE(crossing_stub_syscall_pti_pcid);
FAKE(crossing_stub_pf);
FAKE(crossing_stub_pf_pti);
FAKE(crossing_stub_pf_pti_pcid);
FAKE(crossing_stub_trap);
FAKE(crossing_stub_trap_pti);
FAKE(crossing_stub_trap_pti_pcid);

namespace ptb::bench {
namespace {

using x86::Feature;

struct Table {
  Variant rows[320];  // as bench/suite.cpp's table
  usize n = 0;
  std::map<std::string, const Variant*> by_name;
};

Table build(u32 refill_max = 1024, bool quick = false, std::vector<u32> touch = {1, 8, 64}) {
  Table t;
  t.n = build_table(t.rows, 320, TableParams{refill_max, quick, touch.data(), touch.size()});
  for (usize i = 0; i < t.n; ++i) t.by_name[t.rows[i].name] = &t.rows[i];
  return t;
}

bool needs(const Variant& v, Feature f) { return (v.features >> static_cast<u32>(f)) & 1; }

TEST(VariantTable, NamesAreUniqueAndShapedLikeTheContract) {
  Table t = build();
  std::set<std::string> seen;
  const std::regex shape("[a-z0-9]+(\\.[a-z0-9]+)*");
  for (usize i = 0; i < t.n; ++i) {
    std::string name = t.rows[i].name;
    EXPECT_TRUE(seen.insert(name).second) << "duplicate " << name;
    EXPECT_TRUE(std::regex_match(name, shape)) << name;
    EXPECT_EQ(name.substr(0, name.find('.')), group_name(t.rows[i].group)) << name;
  }
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
                        "trap.int3",
                        "trap.int3.pti",
                        "int.soft",
                        "int.soft.pti"}) {
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
  // The runner sets CR4.PCIDE only for rows that declare it; a row that forgot the feature would
  // set a bit the CPU does not report (QEMU TCG hangs on CR3 bit 63).
  Table t = build();
  for (usize i = 0; i < t.n; ++i) {
    const Variant& v = t.rows[i];
    std::string name = v.name;
    bool pcid_env = v.env & kEnvPcid;
    bool pcid_ring3 =
        v.method == Method::kRing3 && (ring3_spec(v.ring3_kind).pti == Pti::kPcid ||
                                       ring3_spec(v.ring3_kind).pti == Pti::kPcidFlush);
    if (pcid_env || pcid_ring3) {
      EXPECT_TRUE(needs(v, Feature::kPcid)) << name;
    }
    if (name.find("invpcid") != std::string::npos) {
      EXPECT_TRUE(needs(v, Feature::kInvpcid)) << name;
    }
    if (name.find(".pcid") != std::string::npos || name.find(".noflush") != std::string::npos) {
      EXPECT_TRUE(needs(v, Feature::kPcid)) << name;
    }
    if (name.find(".global.") != std::string::npos || name == "cr4.pge.toggle") {
      EXPECT_TRUE(needs(v, Feature::kPge)) << name;
    }
    if (v.method == Method::kRing3) {
      EXPECT_TRUE(needs(v, Feature::kSyscall)) << name;
    }
  }
  // And nothing else asks for PCID: the non-PCID rows must run on a CPU without it.
  for (const char* n : {"cr3.read", "cr3.write.nopcid", "cr3.switch.nopcid", "invlpg",
                        "syscall.pti", "fault.pf.pti"}) {
    EXPECT_FALSE(needs(*t.by_name.at(n), Feature::kPcid)) << n;
  }
}

TEST(VariantTable, LoopRowsHaveABodyAndCountTheirInstructions) {
  Table t = build();
  for (usize i = 0; i < t.n; ++i) {
    const Variant& v = t.rows[i];
    if (v.method == Method::kRefill) {
      EXPECT_EQ(v.instructions, 0u) << v.name;
      continue;
    }
    bool crossing = v.group == Group::kCrossing;
    if (!crossing) {
      EXPECT_NE(v.body.begin, nullptr) << v.name;
      EXPECT_GT(v.ops_per_body, 0u) << v.name;
    }
    EXPECT_GT(v.instructions, 0u) << v.name;
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

TEST(VariantTable, TouchRowsFollowTheTouchList) {
  Table t = build(1024, false, {2, 512});
  EXPECT_TRUE(t.by_name.count("syscall.pti.pcid.touch.2"));
  EXPECT_TRUE(t.by_name.count("syscall.pti.touch.512"));
  EXPECT_FALSE(t.by_name.count("syscall.pti.touch.8"));
  const Variant& a = *t.by_name.at("syscall.direct.touch.2");
  const Variant& b = *t.by_name.at("syscall.direct.touch.512");
  EXPECT_EQ(b.instructions - a.instructions, 4u * (512 - 2));  // 4 instructions a page
  EXPECT_EQ(ring3_spec(a.ring3_kind).touch, 2u);
}

TEST(VariantTable, RefillCurveCoversEveryFlushAndPowerOfTwo) {
  Table t = build(1024);
  for (const char* flush : {"none", "cr3", "cr3.noflush", "invpcid.single", "invlpg"}) {
    for (u32 k = 1; k <= 1024; k *= 2) {
      for (const char* g : {"", "global."}) {
        std::string name = std::string("tlb.refill.") + g + flush + "." + std::to_string(k);
        ASSERT_TRUE(t.by_name.count(name)) << name;
        const Variant& v = *t.by_name.at(name);
        EXPECT_EQ(v.pages, k);
        EXPECT_EQ(v.global, *g != '\0');
        EXPECT_STREQ(flush_name(v.flush), flush);
      }
    }
  }
  Table q = build(1024, true);
  EXPECT_TRUE(q.by_name.count("tlb.refill.cr3.16"));
  EXPECT_FALSE(q.by_name.count("tlb.refill.cr3.8"));
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
  EXPECT_TRUE(t.by_name.count("syscall.pti.pcid.touch.16"));
  EXPECT_TRUE(t.by_name.count("crossing.int.pti.pcid.k2u"));
  EXPECT_LT(t.n, 320u);
}

TEST(TouchList, ParsesValidValuesAndCountsTheRest) {
  u32 out[8];
  usize rejected = 99;
  const char* s = "1,8,,x,600,0,64";
  usize n = parse_touch_list(s, std::strlen(s), out, 8, &rejected);
  ASSERT_EQ(n, 3u);
  EXPECT_EQ(out[0], 1u);
  EXPECT_EQ(out[1], 8u);
  EXPECT_EQ(out[2], 64u);
  EXPECT_EQ(rejected, 3u);  // x, 600, 0
}

}  // namespace
}  // namespace ptb::bench
