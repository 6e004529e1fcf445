// SMP bring-up's pure parts: the local APIC's layouts (ICR encodings, IA32_APIC_BASE, the mode
// choice), the trampoline's placement below 1 MiB, which MADT CPUs are started, and the IPI
// matrix rows of the table.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "arch/x86/apic.h"
#include "bench/row.h"
#include "kernel/smp_plan.h"

namespace ptb {
namespace {

using x86::apic::ApicBase;
using x86::apic::Delivery;
using x86::apic::Icr;
using x86::apic::Mode;

// SDM Vol.3 Figure 11-12, bit by bit.
TEST(Apic, IcrEncodingsAreTheManualsBits) {
  const Icr f = Icr::fixed(0xf1, 5);
  EXPECT_EQ(f.low & 0xff, 0xf1u);       // vector
  EXPECT_EQ((f.low >> 8) & 7, 0u);      // fixed
  EXPECT_EQ((f.low >> 11) & 1, 0u);     // physical destination
  EXPECT_EQ((f.low >> 15) & 1, 0u);     // edge
  EXPECT_EQ((f.low >> 18) & 3, 0u);     // no shorthand
  EXPECT_EQ(f.xapic_high(), 5u << 24);  // xAPIC: destination in bits 63:56
  EXPECT_EQ(f.x2apic_value(), (u64{5} << 32) | f.low);

  const Icr init = Icr::init(0x12);
  EXPECT_EQ(init.delivery(), Delivery::kInit);
  EXPECT_EQ((init.low >> 8) & 7, 5u);
  EXPECT_EQ((init.low >> 14) & 3, 3u);  // level-triggered assert
  EXPECT_EQ(init.low & 0xff, 0u);

  const Icr sipi = Icr::startup(7, 0x8000);
  EXPECT_EQ((sipi.low >> 8) & 7, 6u);
  EXPECT_EQ(sipi.vector(), 0x08);       // the page number: CS = 0x0800, IP = 0
  EXPECT_EQ((sipi.low >> 15) & 1, 0u);  // STARTUP is edge-triggered
  EXPECT_EQ(Icr::startup(7, 0x9f000).vector(), 0x9f);

  // An x2APIC destination keeps all 32 bits; an xAPIC one only 8 (which addressable() guards).
  EXPECT_EQ(Icr::fixed(0xf0, 0x1234).x2apic_value() >> 32, 0x1234u);
  EXPECT_EQ(Icr::fixed(0xf0, 0x1234).xapic_high(), 0x34u << 24);
}

TEST(Apic, X2apicRegistersAreMsr800PlusOffsetBy16) {
  EXPECT_EQ(x86::apic::x2apic_msr(x86::apic::Reg::kIcrLow), 0x830u);
  EXPECT_EQ(x86::apic::x2apic_msr(x86::apic::Reg::kEoi), 0x80bu);
  EXPECT_EQ(x86::apic::x2apic_msr(x86::apic::Reg::kSvr), 0x80fu);
  EXPECT_EQ(x86::apic::x2apic_msr(x86::apic::Reg::kLvtTimer), 0x832u);
  EXPECT_EQ(x86::apic::id_from_register(Mode::kXapic, 0x0300'0000), 3u);
  EXPECT_EQ(x86::apic::id_from_register(Mode::kX2apic, 0x0300'0000), 0x0300'0000u);
}

TEST(Apic, LvtAndSvrBits) {
  EXPECT_EQ(x86::apic::kLvtNmi, 0x400u);       // delivery mode 100b in bits 10:8, not masked
  EXPECT_EQ(x86::apic::kLvtMasked, 0x10000u);  // bit 16
  EXPECT_EQ(x86::apic::kSvrEnable, 0x100u);    // bit 8: APIC software enable
}

TEST(Apic, BaseMsrEnablesAndSwitchesMode) {
  const ApicBase reset{0xfee0'0900};  // BSP, enabled, xAPIC, at the default base
  EXPECT_EQ(reset.base(), 0xfee0'0000u);
  EXPECT_TRUE(reset.bsp());
  EXPECT_FALSE(reset.x2apic());
  EXPECT_EQ(reset.enabled(Mode::kX2apic).raw, 0xfee0'0d00u);
  EXPECT_TRUE(reset.enabled(Mode::kX2apic).x2apic());
  EXPECT_EQ(ApicBase{0xfee0'0000}.enabled(Mode::kXapic).raw, 0xfee0'0800u);
  EXPECT_FALSE(ApicBase{0xfee0'0400}.x2apic());  // EXTD without EN is not x2APIC mode
}

TEST(Apic, ModeIsX2apicWhereTheCpuHasItOrFirmwareChoseIt) {
  EXPECT_EQ(x86::apic::choose_mode(true, true, false), Mode::kX2apic);
  EXPECT_EQ(x86::apic::choose_mode(true, false, false), Mode::kXapic);
  EXPECT_EQ(x86::apic::choose_mode(false, false, false), Mode::kNone);
  EXPECT_EQ(x86::apic::choose_mode(true, false, true), Mode::kX2apic);
  EXPECT_TRUE(x86::apic::addressable(Mode::kXapic, 254));
  EXPECT_FALSE(x86::apic::addressable(Mode::kXapic, 255));  // the broadcast ID
  EXPECT_FALSE(x86::apic::addressable(Mode::kXapic, 300));
  EXPECT_TRUE(x86::apic::addressable(Mode::kX2apic, 300));
  EXPECT_FALSE(x86::apic::addressable(Mode::kNone, 1));
}

TEST(Apic, TrampolineMustBeAPageBelowOneMib) {
  EXPECT_TRUE(x86::apic::valid_trampoline(0x8000));
  EXPECT_TRUE(x86::apic::valid_trampoline(0xff000));
  EXPECT_FALSE(x86::apic::valid_trampoline(0));
  EXPECT_FALSE(x86::apic::valid_trampoline(0x8800));
  EXPECT_FALSE(x86::apic::valid_trampoline(0x100000));
}

// ---- the trampoline's frame ----
constexpr u32 kAvail = mb2::kMemoryAvailable, kReserved = 2;

u64 place(std::vector<mb2::MemoryRegion> map, std::vector<PhysRange> avoid = {}) {
  return smp::choose_trampoline(map.data(), map.size(), avoid.data(), avoid.size());
}

TEST(Trampoline, HighestFreePageOfConventionalMemory) {
  // SeaBIOS-like: 0 - 639 KiB available, the EBDA reserved above it, RAM from 1 MiB.
  EXPECT_EQ(place({{0, 0x9fc00, kAvail},
                   {0x9fc00, 0x400, kReserved},
                   {0xf0000, 0x10000, kReserved},
                   {0x100000, 0x7f00000, kAvail}}),
            0x9e000u);  // 0x9f000 would reach into the EBDA
}

TEST(Trampoline, NeverPageZeroNorAtOrAboveOneMib) {
  EXPECT_EQ(place({{0, 0x1000, kAvail}}), 0u);
  EXPECT_EQ(place({{0x100000, 0x100000, kAvail}}), 0u);
  EXPECT_EQ(place({{0, 0x200000, kAvail}}), 0xff000u);
  EXPECT_EQ(place({}), 0u);
}

TEST(Trampoline, AReservedEntryOverlappingAvailableRamWins) {
  EXPECT_EQ(place({{0x1000, 0x9f000, kAvail}, {0x90000, 0x20000, kReserved}}), 0x8f000u);
}

TEST(Trampoline, BootInformationAndModulesAreAvoided) {
  EXPECT_EQ(place({{0x1000, 0x9e000, kAvail}}, {{0x9d800, 0x9e100}}), 0x9c000u);
  EXPECT_EQ(place({{0x1000, 0x2000, kAvail}}, {{0x1000, 0x3000}}), 0u);
}

TEST(Trampoline, PartialPagesAndWrappingLengthsAreSafe) {
  EXPECT_EQ(place({{0x1800, 0x1000, kAvail}}), 0u);         // no whole page inside
  EXPECT_EQ(place({{0x1000, ~u64{0}, kAvail}}), 0xff000u);  // base + length wraps
}

// ---- which CPUs are started ----
acpi::Madt madt_of(std::vector<acpi::Cpu> cpus) {
  static acpi::Madt m;  // large: not on the stack
  m = acpi::Madt{};
  m.present = true;
  for (const auto& c : cpus) m.cpus[m.cpu_count++] = c;
  return m;
}

TEST(CpuPlan, EveryEnabledOrOnlineCapableApButTheBootCpu) {
  const acpi::Madt m = madt_of({{0, 0, true, false, false},
                                {1, 1, true, false, false},
                                {2, 2, false, false, false},   // disabled
                                {3, 3, false, true, false}});  // online-capable
  const smp::Plan p = smp::plan_cpus(m, 0, Mode::kXapic);
  EXPECT_EQ(p.found, 3u);
  ASSERT_EQ(p.ap_count, 2u);
  EXPECT_EQ(p.ap_ids[0], 1u);
  EXPECT_EQ(p.ap_ids[1], 3u);
}

TEST(CpuPlan, TheBootCpuIsFoundEvenWhenTheMadtOmitsIt) {
  const smp::Plan p = smp::plan_cpus(madt_of({{4, 0, true, false, false}}), 9, Mode::kXapic);
  EXPECT_EQ(p.found, 2u);
  EXPECT_EQ(p.ap_count, 1u);
  EXPECT_EQ(smp::plan_cpus(madt_of({}), 0, Mode::kXapic).found, 1u);
}

TEST(CpuPlan, DuplicateIdsAreStartedOnce) {
  const smp::Plan p = smp::plan_cpus(
      madt_of({{0, 0, true, false, false}, {1, 1, true, false, false}, {1, 2, true, false, true}}),
      0, Mode::kX2apic);
  EXPECT_EQ(p.found, 2u);
  EXPECT_EQ(p.ap_count, 1u);
}

TEST(CpuPlan, IdsXapicCannotNameAreCountedNotStarted) {
  const acpi::Madt m = madt_of({{0, 0, true, false, false},
                                {255, 1, true, false, true},
                                {300, 2, true, false, true},
                                {5, 3, true, false, false}});
  const smp::Plan x = smp::plan_cpus(m, 0, Mode::kXapic);
  EXPECT_EQ(x.found, 4u);
  EXPECT_EQ(x.unreachable, 2u);
  ASSERT_EQ(x.ap_count, 1u);
  EXPECT_EQ(x.ap_ids[0], 5u);
  const smp::Plan y = smp::plan_cpus(m, 0, Mode::kX2apic);
  EXPECT_EQ(y.unreachable, 0u);
  EXPECT_EQ(y.ap_count, 3u);
}

TEST(CpuPlan, MoreCpusThanSupportedAreLeftHalted) {
  std::vector<acpi::Cpu> cpus;
  for (u32 i = 0; i < smp::kMaxCpus + 10; ++i) cpus.push_back({i, i, true, false, true});
  const smp::Plan p = smp::plan_cpus(madt_of(cpus), 0, Mode::kX2apic);
  EXPECT_EQ(p.found, smp::kMaxCpus + 10);
  EXPECT_EQ(p.ap_count, smp::kMaxCpus - 1);
  EXPECT_EQ(p.beyond, 10u);
}

// ---- the IPI matrix in the table ----
std::vector<std::string> ipi_names(u32 cpus) {
  std::vector<bench::Row> rows(bench::kMaxRows);
  const u32 touch[] = {1, 8, 64, 512};
  const usize n = bench::build_table(
      rows.data(), rows.size(),
      bench::TableParams{
          .refill_max = 4096, .quick = false, .touch = touch, .touch_count = 4, .cpus = cpus});
  std::vector<std::string> out;
  for (usize i = 0; i < n; ++i) {
    if (rows[i].group != bench::Group::kIpi) continue;
    Text<bench::kNameMax> t;
    bench::put_name(t, rows[i]);
    out.push_back(t.c_str());
  }
  return out;
}

TEST(IpiRows, OneCpuStillHasTheFirstPairToSkip) {
  EXPECT_EQ(ipi_names(1), (std::vector<std::string>{"ipi.fixed.0.1", "ipi.fixed.1.0",
                                                    "ipi.poll.0.1", "ipi.poll.1.0"}));
}

TEST(IpiRows, EveryOrderedPairOnceByEachMechanism) {
  const auto names = ipi_names(4);
  EXPECT_EQ(names.size(), 2u * 4 * 3);
  const std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(unique.size(), names.size());
  for (const char* kind : {"fixed", "poll"})
    for (int s = 0; s < 4; ++s)
      for (int t = 0; t < 4; ++t) {
        const std::string n =
            std::string("ipi.") + kind + "." + std::to_string(s) + "." + std::to_string(t);
        EXPECT_EQ(unique.count(n), s == t ? 0u : 1u) << n;
      }
}

TEST(IpiRows, TheMatrixIsCappedAndFitsTheTable) {
  const u32 m = bench::kIpiMatrixMax;
  EXPECT_EQ(ipi_names(smp::kMaxCpus).size(), 2u * m * (m - 1));
  EXPECT_EQ(ipi_names(m + 1).size(), 2u * m * (m - 1));  // not silently cut by kMaxRows
}

}  // namespace
}  // namespace ptb

namespace ptb::bench {
namespace {

// ---- the shootdown decision against a model TLB ----
// A target's TLB holds (PCID, page, global) entries for n changed pages, under the kernel PCID
// and, when the targets run on the PTI pair, the user PCID. Applying the plan must leave no
// kernel-PCID entry of a changed page (the target reads through it at once), and the target's
// next return to user space (user_return) must find no user-PCID entry of one: flushed by
// INVPCID, by the lazy flag's CR3 write, or by PTI-without-PCID's CR3 write. INVLPGB operations
// are applied to every CPU's model as the APM describes their matching.
constexpr u16 kKernelPcid = 1, kUserPcid = 0x801;
struct Entry {
  u16 pcid;
  u32 page;
  bool global;
  friend bool operator<(const Entry& a, const Entry& b) {
    return std::tie(a.pcid, a.page, a.global) < std::tie(b.pcid, b.page, b.global);
  }
};
struct ModelTlb {
  std::set<Entry> entries;
  bool lazy = false;
  u32 invlpgs = 0, invpcids = 0, full_flushes = 0;

  void cache(u32 pages, bool user, u16 kernel_pcid = kKernelPcid, bool global = false) {
    for (u32 i = 0; i < pages; ++i) {
      entries.insert({kernel_pcid, i, global});
      if (user) entries.insert({kUserPcid, i, global});
    }
  }
  // The target's part under IPIs (bench/shootdown.cpp invalidate()), on kernel PCID `current`.
  void apply(const FlushPlan& plan, u32 pages, u16 current = kKernelPcid) {
    if (plan.full) {
      ++full_flushes;  // a CR3 write: the current PCID's non-global entries
      std::erase_if(entries, [&](const Entry& e) { return e.pcid == current && !e.global; });
    } else {
      for (u32 i = 0; i < pages; ++i, ++invlpgs)  // INVLPG: the current PCID, and globals
        std::erase_if(entries, [&](const Entry& e) {
          return e.page == i && (e.pcid == current || e.global);
        });
    }
    if (plan.user == UserPcidFlush::kInvpcid)
      for (u32 i = 0; i < pages; ++i, ++invpcids)
        std::erase_if(entries, [&](const Entry& e) { return e.page == i && e.pcid == kUserPcid; });
    if (plan.user == UserPcidFlush::kLazy) lazy = true;
  }
  // AMD APM Vol.3 INVLPGB: an entry goes when it matches every component marked valid (the VA
  // range, the PCID) and is not global unless globals are included. ASID 0 is the host's.
  void apply(const x86::Invlpgb& op) {
    const u32 first = static_cast<u32>((op.va() - kVa) / 4096);
    std::erase_if(entries, [&](const Entry& e) {
      if ((op.rax & x86::Invlpgb::kVa) && (e.page < first || e.page >= first + op.pages()))
        return false;
      if ((op.rax & x86::Invlpgb::kPcid) && e.pcid != op.pcid()) return false;
      return !e.global || (op.rax & x86::Invlpgb::kIncludeGlobal);
    });
  }
  // The next return to user space: what is left of the user PCID then.
  bool stale_after_return_to_user(UserReturn r) {
    if (r == UserReturn::kFlushAll)
      std::erase_if(entries, [](const Entry& e) { return !e.global; });
    if (r == UserReturn::kFlushUserPcid) {
      EXPECT_TRUE(lazy) << "a flushing return without the lazy flag";
      std::erase_if(entries, [](const Entry& e) { return e.pcid == kUserPcid && !e.global; });
    }
    if (r == UserReturn::kNoflush) {
      EXPECT_FALSE(lazy) << "the flag would have flushed";
    }
    return std::any_of(entries.begin(), entries.end(),
                       [](const Entry& e) { return e.pcid == kUserPcid; });
  }
  bool stale_in_kernel(u16 current = kKernelPcid) const {
    return std::any_of(entries.begin(), entries.end(),
                       [&](const Entry& e) { return e.pcid == current; });
  }
  static constexpr u64 kVa = 0x7f81'0000'0000;
};

TEST(ShootdownPlan, EveryPathLeavesNoStaleTranslationInTheModel) {
  for (ShootScheme s : {ShootScheme::kNoPti, ShootScheme::kPtiPcid, ShootScheme::kPti}) {
    for (bool invpcid : {false, true}) {
      for (u32 n : {1u, 8u, 32u, 33u, 34u, 64u, 512u}) {
        SCOPED_TRACE(std::string(shoot_scheme_name(s)) + " n=" + std::to_string(n));
        ModelTlb tlb;
        // Without PCID everything is PCID 0; the user half's entries are PCID 0 too, and only
        // PTI's CR3 write at the return removes what INVLPG did not (it has nothing to do).
        const u16 current = targets_pcid(s) ? kKernelPcid : 0;
        tlb.cache(n, targets_pcid(s), current);
        const FlushPlan plan = plan_flush(n, kFlushCeiling, s, invpcid);
        tlb.apply(plan, n, current);
        EXPECT_FALSE(tlb.stale_in_kernel(current));
        EXPECT_FALSE(tlb.stale_after_return_to_user(user_return(s, plan)));
        // Linux's costs: INVLPG per page up to the ceiling, one full flush above it.
        EXPECT_EQ(tlb.invlpgs, n <= kFlushCeiling ? n : 0u);
        EXPECT_EQ(tlb.full_flushes, n <= kFlushCeiling ? 0u : 1u);
        EXPECT_EQ(tlb.invpcids,
                  s == ShootScheme::kPtiPcid && invpcid && n <= kFlushCeiling ? n : 0u);
      }
    }
  }
}

// What a wrong plan leaves behind, so that the model above can fail: the user PCID untouched
// with no lazy flag, and a CR3 write under PCID, which keeps the other PCIDs.
TEST(ShootdownPlan, TheModelCatchesAForgottenUserPcid) {
  ModelTlb tlb;
  tlb.cache(8, true);
  tlb.apply(FlushPlan{false, UserPcidFlush::kNone}, 8);
  EXPECT_FALSE(tlb.stale_in_kernel());
  EXPECT_TRUE(tlb.stale_after_return_to_user(UserReturn::kNoflush));
  ModelTlb full;
  full.cache(64, true);
  full.apply(FlushPlan{true, UserPcidFlush::kNone}, 64);
  EXPECT_TRUE(full.stale_after_return_to_user(UserReturn::kNoflush));
}

TEST(ShootdownPlan, PtiWithoutPcidReturnsToUserThroughAFlushingCr3Write) {
  for (u32 n : {1u, 64u}) {
    const FlushPlan plan = plan_flush(n, kFlushCeiling, ShootScheme::kPti, true);
    EXPECT_EQ(plan.user, UserPcidFlush::kNone);
    EXPECT_EQ(user_return(ShootScheme::kPti, plan), UserReturn::kFlushAll);
  }
  EXPECT_EQ(user_return(ShootScheme::kNoPti, plan_flush(8, 33, ShootScheme::kNoPti, true)),
            UserReturn::kNone);
  EXPECT_EQ(user_return(ShootScheme::kPtiPcid, plan_flush(8, 33, ShootScheme::kPtiPcid, true)),
            UserReturn::kNoflush);
  EXPECT_EQ(user_return(ShootScheme::kPtiPcid, plan_flush(64, 33, ShootScheme::kPtiPcid, true)),
            UserReturn::kFlushUserPcid);
  EXPECT_EQ(
      user_return(ShootScheme::kInvlpgbPcid, plan_flush(64, 33, ShootScheme::kInvlpgbPcid, true)),
      UserReturn::kNoflush);  // INVLPGB flushed the user PCID on every CPU already
}

// ---- INVLPGB: the register encoding and Linux's forms ----
TEST(Invlpgb, RegistersAreTheApmsAndLinuxsLayout) {
  using x86::Invlpgb;
  // RAX: VA | flags with the ASID bit always (ASID 0: the host); ECX: stride | (count - 1);
  // EDX: PCID << 16 | ASID.
  const Invlpgb op =
      x86::invlpgb_op(0x7f81'0000'3000, 33, Invlpgb::kVa | Invlpgb::kPcid, x86::Pcid{0x801});
  EXPECT_EQ(op.rax, 0x7f81'0000'3000u | 1u | 2u | 4u);
  EXPECT_EQ(op.ecx, 32u);
  EXPECT_EQ(op.edx, 0x801u << 16);
  EXPECT_EQ(op.va(), 0x7f81'0000'3000u);
  EXPECT_EQ(op.pages(), 33u);
  EXPECT_EQ(op.pcid(), 0x801u);
  EXPECT_EQ(Invlpgb::kIncludeGlobal, 8u);
  EXPECT_EQ(Invlpgb::kFinalOnly, 16u);
  EXPECT_EQ(Invlpgb::kPmdStride, 0x8000'0000u);
  // The VA's low bits never leak into the flags; the count is clamped to 1 .. 65536.
  EXPECT_EQ(x86::invlpgb_op(0x1fff, 1, 0).rax, 0x1000u | Invlpgb::kAsid);
  EXPECT_EQ(x86::invlpgb_op(0, 0, 0).ecx, 0u);
  EXPECT_EQ(x86::invlpgb_op(0, 0x1'0000, 0).ecx, 0xffffu);
  EXPECT_EQ(x86::invlpgb_op(0, 0x1'0001, 0).ecx, 0xffffu);
  // PCIDs are 12 bits.
  EXPECT_EQ(x86::invlpgb_op(0, 1, Invlpgb::kPcid, x86::Pcid{0x1801}).edx, 0x801u << 16);
}

std::vector<x86::Invlpgb> invlpgb_plan(u32 n, u32 max_pages, ShootScheme s,
                                       u32 ceiling = kFlushCeiling) {
  std::vector<x86::Invlpgb> ops(2 * kMaxShootdownPages + 2);
  const usize k = plan_invlpgb(ModelTlb::kVa, n, ceiling, max_pages, s, x86::Pcid{kKernelPcid},
                               x86::Pcid{kUserPcid}, ops.data(), ops.size());
  EXPECT_LE(k, ops.size());
  ops.resize(k);
  return ops;
}

TEST(Invlpgb, RangesAreSplitIntoRunsOfTheCpusMaximum) {
  for (u32 max : {1u, 2u, 8u, 33u, 65536u}) {
    for (u32 n : {1u, 7u, 8u, 9u, 33u}) {
      SCOPED_TRACE("max=" + std::to_string(max) + " n=" + std::to_string(n));
      const auto ops = invlpgb_plan(n, max, ShootScheme::kInvlpgb);
      ASSERT_EQ(ops.size(), (n + max - 1) / max);
      u64 next = ModelTlb::kVa;
      u32 covered = 0;
      for (const x86::Invlpgb& op : ops) {
        EXPECT_EQ(op.va(), next);  // contiguous, in order, no page twice
        EXPECT_LE(op.pages(), max);
        EXPECT_EQ(
            op.rax & 0xfff,
            x86::Invlpgb::kVa | x86::Invlpgb::kIncludeGlobal |
                x86::Invlpgb::kAsid);  // flush_addr_nosync, with the VA bit of Linux's 2025 fix
        next += u64{op.pages()} * 4096;
        covered += op.pages();
      }
      EXPECT_EQ(covered, n);
    }
  }
  EXPECT_EQ(invlpgb_plan(9, 0, ShootScheme::kInvlpgb).size(), 9u);  // no count reported: 1
  EXPECT_TRUE(invlpgb_plan(9, 8, ShootScheme::kNoPti).empty());     // not a broadcast scheme
}

TEST(Invlpgb, PtiPcidFlushesTheKernelAndTheUserPcidOfEachRun) {
  const auto ops = invlpgb_plan(20, 8, ShootScheme::kInvlpgbPcid);
  ASSERT_EQ(ops.size(), 6u);  // runs of 8, 8, 4; each for PCID 1, then PCID 0x801
  for (usize i = 0; i < ops.size(); ++i) {
    EXPECT_EQ(ops[i].pcid(), i % 2 ? kUserPcid : kKernelPcid);
    // Linux's invlpgb_flush_user_nr_nosync: VA and PCID (and the ASID bit), no FINAL_ONLY.
    EXPECT_EQ(ops[i].rax & 0xfff, x86::Invlpgb::kVa | x86::Invlpgb::kPcid | x86::Invlpgb::kAsid);
    EXPECT_EQ(ops[i].pages(), i < 4 ? 8u : 4u);
  }
  // Above the ceiling: the whole of each PCID (no VA), as invlpgb_flush_single_pcid_nosync.
  const auto full = invlpgb_plan(34, 8, ShootScheme::kInvlpgbPcid);
  ASSERT_EQ(full.size(), 2u);
  EXPECT_EQ(full[0].rax, x86::Invlpgb::kPcid | x86::Invlpgb::kAsid);
  EXPECT_EQ(full[0].pcid(), kKernelPcid);
  EXPECT_EQ(full[1].pcid(), kUserPcid);
  // The kernel form above the ceiling: invlpgb_flush_all, globals included.
  const auto all = invlpgb_plan(34, 8, ShootScheme::kInvlpgb);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].rax, x86::Invlpgb::kIncludeGlobal | x86::Invlpgb::kAsid);
}

TEST(Invlpgb, EveryBroadcastPlanLeavesNoStaleEntryOnAnyCpu) {
  for (ShootScheme s : {ShootScheme::kInvlpgb, ShootScheme::kInvlpgbPcid}) {
    for (u32 max : {1u, 8u, 65536u}) {
      for (u32 n : {1u, 8u, 33u, 34u, 512u}) {
        SCOPED_TRACE(std::string(shoot_scheme_name(s)) + " max=" + std::to_string(max) +
                     " n=" + std::to_string(n));
        // Three CPUs: the initiator and two targets, each with the pages cached (the kernel
        // form's targets run without PTI on PCID 0), and one unrelated page that must stay.
        for (int cpu = 0; cpu < 3; ++cpu) {
          ModelTlb tlb;
          const bool pcid = targets_pcid(s);
          tlb.cache(n, pcid, pcid ? kKernelPcid : 0);
          tlb.entries.insert({pcid ? kKernelPcid : u16{0}, n + 600, false});
          for (const x86::Invlpgb& op : invlpgb_plan(n, max, s)) tlb.apply(op);
          const FlushPlan plan = plan_flush(n, kFlushCeiling, s, true);
          EXPECT_EQ(plan.full, n > kFlushCeiling);
          std::erase_if(tlb.entries, [&](const Entry& e) { return e.page == n + 600; });
          EXPECT_FALSE(tlb.stale_in_kernel(pcid ? kKernelPcid : 0));
          EXPECT_FALSE(tlb.stale_after_return_to_user(user_return(s, plan)));
        }
      }
    }
  }
}

TEST(Invlpgb, TheRangeFormKeepsPagesOutsideIt) {
  ModelTlb tlb;
  tlb.cache(16, true);
  for (const x86::Invlpgb& op : invlpgb_plan(8, 8, ShootScheme::kInvlpgbPcid)) tlb.apply(op);
  EXPECT_EQ(tlb.entries.size(), 16u);  // pages 8..15 under both PCIDs: nothing over-flushed
  EXPECT_EQ(tlb.entries.begin()->page, 8u);
}

TEST(ShootdownPlan, TheCeilingIsInclusiveAndThePcidPathsAreLinuxs) {
  EXPECT_EQ(kFlushCeiling, 33u);
  EXPECT_FALSE(plan_flush(33, 33, ShootScheme::kNoPti, true).full);
  EXPECT_TRUE(plan_flush(34, 33, ShootScheme::kNoPti, true).full);
  EXPECT_EQ(plan_flush(8, 33, ShootScheme::kNoPti, true).user, UserPcidFlush::kNone);
  EXPECT_EQ(plan_flush(8, 33, ShootScheme::kPtiPcid, true).user, UserPcidFlush::kInvpcid);
  EXPECT_EQ(plan_flush(8, 33, ShootScheme::kPtiPcid, false).user, UserPcidFlush::kLazy);
  EXPECT_EQ(plan_flush(64, 33, ShootScheme::kPtiPcid, true).user, UserPcidFlush::kLazy);
  EXPECT_STREQ(user_pcid_flush_name(UserPcidFlush::kInvpcid), "invpcid");
  EXPECT_STREQ(shoot_scheme_name(ShootScheme::kPtiPcid), "pti.pcid");
  EXPECT_STREQ(shoot_scheme_name(ShootScheme::kPti), "pti");
  EXPECT_STREQ(shoot_scheme_name(ShootScheme::kInvlpgbPcid), "invlpgb.pcid");
  EXPECT_EQ(plan_flush(8, 33, ShootScheme::kInvlpgbPcid, false).user, UserPcidFlush::kInvlpgb);
  EXPECT_STREQ(user_pcid_flush_name(UserPcidFlush::kInvlpgb), "invlpgb");
}

std::vector<Row> shootdown_rows_of(u32 cpus) {
  std::vector<Row> rows(kMaxRows);
  const u32 touch[] = {1, 8, 64, 512};
  rows.resize(build_table(
      rows.data(), rows.size(),
      TableParams{
          .refill_max = 4096, .quick = false, .touch = touch, .touch_count = 4, .cpus = cpus}));
  std::erase_if(rows, [](const Row& r) { return r.group != Group::kShootdown; });
  return rows;
}

std::string name(const Row& r) {
  Text<kNameMax> t;
  put_name(t, r);
  return t.c_str();
}

TEST(ShootdownRows, TargetsOneToCpusMinusOneAndTheDefaultPages) {
  const auto rows = shootdown_rows_of(4);
  EXPECT_EQ(rows.size(), 4u * 3 * 5 + 5);
  std::set<std::string> names;
  for (const Row& r : rows) names.insert(name(r));
  for (const char* n :
       {"shootdown.nopti.t1.p1", "shootdown.nopti.t3.p512", "shootdown.pti.pcid.t2.p33",
        "shootdown.invlpgb.p64", "shootdown.pti.t3.p1", "shootdown.invlpgb.pcid.t1.p8"})
    EXPECT_EQ(names.count(n), 1u) << n;
  EXPECT_EQ(names.count("shootdown.nopti.t4.p1"), 0u);
  for (const Row& r : rows)  // the PCID schemes run CPU 0 on PCIDE and need PCID
    EXPECT_EQ(r.env.pcid, r.shoot == ShootScheme::kPtiPcid || r.shoot == ShootScheme::kInvlpgbPcid)
        << name(r);
}

TEST(ShootdownRows, ThePageCountsComeFromTheParams) {
  const u32 touch[] = {1};
  const u32 pages[] = {2, 100};
  std::vector<Row> rows(kMaxRows);
  rows.resize(build_table(rows.data(), rows.size(),
                          TableParams{.refill_max = 64,
                                      .quick = false,
                                      .touch = touch,
                                      .touch_count = 1,
                                      .cpus = 2,
                                      .shootdown_pages = pages,
                                      .shootdown_page_count = 2}));
  std::set<std::string> names;
  for (const Row& r : rows)
    if (r.group == Group::kShootdown) names.insert(name(r));
  EXPECT_EQ(names,
            (std::set<std::string>{"shootdown.nopti.t1.p2", "shootdown.nopti.t1.p100",
                                   "shootdown.pti.pcid.t1.p2", "shootdown.pti.pcid.t1.p100",
                                   "shootdown.pti.t1.p2", "shootdown.pti.t1.p100",
                                   "shootdown.invlpgb.pcid.t1.p2", "shootdown.invlpgb.pcid.t1.p100",
                                   "shootdown.invlpgb.p2", "shootdown.invlpgb.p100"}));
  u32 out[8];
  usize rejected = 0, repeated = 0;
  const char* list = "8,600,8,0,x,512";
  EXPECT_EQ(
      parse_u32_list(list, std::strlen(list), 1, kMaxShootdownPages, out, 8, &rejected, &repeated),
      2u);
  EXPECT_EQ(out[0], 8u);
  EXPECT_EQ(out[1], 512u);
  EXPECT_EQ(rejected, 3u);  // 600, 0 and x
  EXPECT_EQ(repeated, 1u);
}

TEST(ShootdownRows, OneCpuHasOneTargetRowsThatSkipAndTheTableHoldsTheMost) {
  EXPECT_EQ(shootdown_rows_of(1).size(), 4u * 5 + 5);
  EXPECT_EQ(shootdown_rows_of(smp::kMaxCpus).size(), 4u * (kIpiMatrixMax - 1) * 5 + 5);
  // The most rows the table can be asked for still fit it.
  const u32 touch[] = {1, 8, 64, 512};
  const u32 many[kMaxShootdownPageCounts] = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<Row> rows(kMaxRows);
  const usize n = build_table(rows.data(), rows.size(),
                              TableParams{.refill_max = 4096,
                                          .quick = false,
                                          .touch = touch,
                                          .touch_count = 4,
                                          .cpus = smp::kMaxCpus,
                                          .shootdown_pages = many,
                                          .shootdown_page_count = 8});
  EXPECT_LT(n, kMaxRows);
}

}  // namespace
}  // namespace ptb::bench
