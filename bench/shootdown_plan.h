// What a TLB shootdown does on each CPU, decided as Linux decides it (arch/x86/mm/tlb.c:
// flush_tlb_func, __flush_tlb_one_user, flush_tlb_local): up to a ceiling of pages
// (tlb_single_page_flush_ceiling, 33) one INVLPG each, above it one full flush of the current
// address space; with PTI and PCID the user PCID too, by INVPCID (type 0, one per page) where the
// CPU has it, else by the lazy flag that makes the next return to user space flush it (and always
// by the flag after a full flush). Pure: host-tested against a model TLB.
#pragma once

#include "lib/types.h"

namespace ptb::bench {

enum class ShootScheme : u8 { kNoPti, kPtiPcid, kInvlpgb };
constexpr const char* shoot_scheme_name(ShootScheme s) {
  return s == ShootScheme::kNoPti ? "nopti" : s == ShootScheme::kPtiPcid ? "pti.pcid" : "invlpgb";
}

inline constexpr u32 kFlushCeiling = 33;  // Linux's tlb_single_page_flush_ceiling (ceiling=)

enum class UserPcidFlush : u8 { kNone, kInvpcid, kLazy };
constexpr const char* user_pcid_flush_name(UserPcidFlush u) {
  return u == UserPcidFlush::kNone ? "none" : u == UserPcidFlush::kInvpcid ? "invpcid" : "lazy";
}

struct FlushPlan {
  bool full;           // one flush of the current address space instead of an INVLPG per page
  UserPcidFlush user;  // what happens to the user PCID's translations
  friend constexpr bool operator==(FlushPlan, FlushPlan) = default;
};

constexpr FlushPlan plan_flush(u32 pages, u32 ceiling, ShootScheme scheme, bool has_invpcid) {
  const bool full = pages > ceiling;
  if (scheme != ShootScheme::kPtiPcid) return {full, UserPcidFlush::kNone};
  return {full, full || !has_invpcid ? UserPcidFlush::kLazy : UserPcidFlush::kInvpcid};
}

static_assert(plan_flush(33, kFlushCeiling, ShootScheme::kNoPti, false) ==
              FlushPlan{false, UserPcidFlush::kNone});
static_assert(plan_flush(34, kFlushCeiling, ShootScheme::kPtiPcid, true) ==
              FlushPlan{true, UserPcidFlush::kLazy});

}  // namespace ptb::bench
