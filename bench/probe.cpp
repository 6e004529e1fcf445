// The probe programs and their verdicts: pure data and logic (host-tested against
// bench/tlb_model.h).
#include "bench/probe.h"

#include "arch/x86/cpu_features.h"
#include "bench/row.h"
#include "lib/format.h"

namespace ptb::bench {
namespace {

using x86::Feature;
using S = Step;

constexpr u64 kPcid = need(Feature::kPcid);
constexpr u64 kInvpcid = need(Feature::kPcid) | need(Feature::kInvpcid);
constexpr u64 kPge = need(Feature::kPge);
constexpr Rule kMust = Rule::kMustDrop, kMay = Rule::kMayKeep;

// SDM Vol.3 4.10.4.1 lists what each operation invalidates; anything it does not list the CPU may
// keep (4.10.2.2: a processor may retain an entry until it is invalidated), never must.
constexpr const char* kCr3Ref = "SDM Vol.3 4.10.4.1 (MOV to CR3)";
constexpr const char* kCr3GlobalRef =
    "SDM Vol.3 4.10.2.4, 4.10.4.1 (MOV to CR3 spares global pages)";
constexpr const char* kNoflushRef = "SDM Vol.3 4.10.4.1 (MOV to CR3 with bit 63 set)";
constexpr const char* kSwitchRef = "SDM Vol.3 4.10.1, 4.10.4.1 (entries are per PCID)";
constexpr const char* kInvpcidRef = "SDM Vol.2 INVPCID; Vol.3 4.10.4.1";
constexpr const char* kInvlpgRef = "SDM Vol.3 4.10.4.1 (INVLPG: current PCID and global entries)";
constexpr const char* kPgeRef = "SDM Vol.3 4.10.4.1 (MOV to CR4 changing PGE)";
constexpr const char* kPcideRef = "SDM Vol.3 4.10.4.1 (MOV to CR4 clearing PCIDE)";
constexpr const char* kPscRef =
    "SDM Vol.3 4.10.3, 4.10.4.1 (INVLPG: all paging-structure caches of the PCID)";
constexpr const char* kPscNoflushRef =
    "SDM Vol.3 4.10.3, 4.10.4.1 (bit 63 set: no paging-structure cache invalidated)";
constexpr const char* kNeighbourRef =
    "SDM Vol.3 4.10.4.1 (INVLPG invalidates TLB entries for its page only)";

// AMD's APM, cited only where a section could be confirmed (docs/method.md, "Intel and AMD"): APM
// Vol.2 5.5.1 states the PCID form of MOV to CR3 as the SDM does, bit 63 clear invalidating the
// new PCID's entries and bit 63 set invalidating none. Every other probe cites no APM section, so
// AMD CPUs are judged by the SDM's rule there. An AMD rule that differs from the SDM's goes here
// with its APM section, never without one (the static_assert below and tests/host/test_probe.cpp).
constexpr ApmRule kApmCr3 = {"APM Vol.2 5.5.1 (MOV to CR3 with CR4.PCIDE = 1, bit 63 clear)",
                             kMust};
constexpr ApmRule kApmNoflush = {"APM Vol.2 5.5.1 (MOV to CR3 with bit 63 set)", kMay};

// Cache X, rewrite its PTE, the operation, read X.
#define PTE_PROBE(...) \
  { S::kReadX, S::kRetargetPte, __VA_ARGS__, S::kReadX }

// clang-format off
constexpr ProbeSpec kProbes[] = {
    {"cr3.nopcid",              false, false, 0,              kMust, kCr3Ref,       PTE_PROBE(S::kCr3)},
    {"cr3.nopcid.global",       true,  false, kPge,           kMay,  kCr3GlobalRef, PTE_PROBE(S::kCr3)},
    {"cr3.pcid",                false, true,  kPcid,          kMust, kCr3Ref,       PTE_PROBE(S::kCr3), kApmCr3},
    {"cr3.pcid.global",         true,  true,  kPcid | kPge,   kMay,  kCr3GlobalRef, PTE_PROBE(S::kCr3)},
    {"cr3.pcid.noflush",        false, true,  kPcid,          kMay,  kNoflushRef,   PTE_PROBE(S::kCr3Noflush), kApmNoflush},
    // Are PCID 1's entries kept while PCID 2 ran?
    {"cr3.pcid.switch.noflush", false, true,  kPcid,          kMay,  kSwitchRef,    PTE_PROBE(S::kToPcid2, S::kToPcid1), kApmNoflush},
    {"invpcid.addr",            false, true,  kInvpcid,       kMust, kInvpcidRef,   PTE_PROBE(S::kInvpcidAddr)},
    {"invpcid.addr.global",     true,  true,  kInvpcid | kPge, kMay, kInvpcidRef,   PTE_PROBE(S::kInvpcidAddr)},
    // Type 0 for X in another PCID: is the current PCID's entry kept?
    {"invpcid.addr.other",      false, true,  kInvpcid,       kMay,  kInvpcidRef,   PTE_PROBE(S::kInvpcidAddr2)},
    {"invpcid.single",          false, true,  kInvpcid,       kMust, kInvpcidRef,   PTE_PROBE(S::kInvpcidSingle)},
    {"invpcid.single.global",   true,  true,  kInvpcid | kPge, kMay, kInvpcidRef,   PTE_PROBE(S::kInvpcidSingle)},
    {"invpcid.single.other",    false, true,  kInvpcid,       kMay,  kInvpcidRef,   PTE_PROBE(S::kInvpcidSingle2)},
    {"invpcid.all",             false, true,  kInvpcid,       kMust, kInvpcidRef,   PTE_PROBE(S::kInvpcidAll)},
    {"invpcid.all.global",      true,  true,  kInvpcid | kPge, kMust, kInvpcidRef,  PTE_PROBE(S::kInvpcidAll)},
    {"invpcid.allnonglobal",    false, true,  kInvpcid,       kMust, kInvpcidRef,   PTE_PROBE(S::kInvpcidAllNonGlobal)},
    {"invpcid.allnonglobal.global", true, true, kInvpcid | kPge, kMay, kInvpcidRef, PTE_PROBE(S::kInvpcidAllNonGlobal)},
    {"invlpg",                  false, false, 0,              kMust, kInvlpgRef,    PTE_PROBE(S::kInvlpgX)},
    {"invlpg.global",           true,  false, kPge,           kMust, kInvlpgRef,    PTE_PROBE(S::kInvlpgX)},
    // X cached in PCID 2, INVLPG in PCID 1, read in PCID 2.
    {"invlpg.other",            false, true,  kPcid,          kMay,  kInvlpgRef,
     {S::kToPcid2, S::kReadX, S::kToPcid1, S::kRetargetPte, S::kInvlpgX, S::kToPcid2, S::kReadX}},
    {"cr4.pge.toggle",          false, false, kPge,           kMust, kPgeRef,       PTE_PROBE(S::kPgeToggle)},
    {"cr4.pge.toggle.global",   true,  false, kPge,           kMust, kPgeRef,       PTE_PROBE(S::kPgeToggle)},
    // X cached in PCID 0, the PCID that runs once PCIDE is clear: only there can a stale entry be
    // used afterwards.
    {"cr4.pcide.off",           false, true,  kPcid,          kMust, kPcideRef,     {S::kToPcid0, S::kReadX, S::kRetargetPte, S::kPcideOff, S::kReadX}},
    {"cr4.pcide.off.global",    true,  true,  kPcid | kPge,   kMust, kPcideRef,     {S::kToPcid0, S::kReadX, S::kRetargetPte, S::kPcideOff, S::kReadX}},
    // Paging-structure caches: X read walks the region's PDE; the PDE is pointed at another table;
    // Y (never read) is then walked, through the old table only if a PDE-cache entry survived.
    {"pde.invlpg",              false, false, 0,              kMust, kPscRef,
     {S::kReadX, S::kRetargetPde, S::kInvlpgX, S::kReadY}},
    {"pde.cr3.noflush",         false, true,  kPcid,          kMay,  kPscNoflushRef,
     {S::kReadX, S::kRetargetPde, S::kCr3Noflush, S::kReadY}},
    // X itself after INVLPG of Y, a neighbour in the same 2 MiB region.
    {"pde.invlpg.neighbour",    false, false, 0,              kMay,  kNeighbourRef,
     {S::kReadX, S::kRetargetPde, S::kInvlpgY, S::kReadX}},
};
// clang-format on
#undef PTE_PROBE

constexpr bool starts_with(const char* s, const char* prefix) {
  for (; *prefix; ++s, ++prefix)
    if (*s != *prefix) return false;
  return true;
}
constexpr bool cites_manuals() {
  for (const ProbeSpec& p : kProbes) {
    if (!p.reference || !starts_with(p.reference, "SDM Vol.")) return false;
    if (p.apm.reference && !starts_with(p.apm.reference, "APM Vol.")) return false;
  }
  return true;
}
static_assert(cites_manuals(), "every probe cites an SDM section, every APM rule an APM section");

}  // namespace

const char* rule_name(Rule r) { return r == Rule::kMustDrop ? "must-drop" : "may-keep"; }

const char* seen_name(Seen s) {
  switch (s) {
    case Seen::kKept:
      return "kept";
    case Seen::kDropped:
      return "dropped";
    case Seen::kMixed:
      break;
  }
  return "mixed";
}

const char* manual_name(Manual m) { return m == Manual::kApm ? "APM" : "SDM"; }

AppliedRule applied_rule(const ProbeSpec& p, x86::Vendor vendor) {
  if (vendor == x86::Vendor::kAmd && p.apm.reference)
    return {Manual::kApm, p.apm.rule, p.apm.reference};
  return {Manual::kSdm, p.rule, p.reference};
}

bool amd_differs(const ProbeSpec& p) { return p.apm.reference && p.apm.rule != p.rule; }

const ProbeSpec* probe_specs(usize* count) {
  *count = sizeof(kProbes) / sizeof(kProbes[0]);
  return kProbes;
}

const ProbeSpec* find_probe(const char* label) {
  for (const ProbeSpec& p : kProbes)
    if (str_eq(p.label, label)) return &p;
  return nullptr;
}

Judgement judge(const ProbeSpec& p, const Observation& o) {
  Judgement j{};
  j.applied = applied_rule(p, o.vendor);
  j.seen = o.kept == 0 ? Seen::kDropped : o.kept == o.reads ? Seen::kKept : Seen::kMixed;
  // One kept read is proof of retention; dropped reads prove nothing (eviction, re-walks).
  j.violation = j.applied.rule == Rule::kMustDrop && o.kept > 0;
  j.broken = o.other > 0 || o.reads == 0;
  return j;
}

}  // namespace ptb::bench
