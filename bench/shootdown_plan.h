// What a TLB shootdown does on each CPU, decided as Linux decides it (arch/x86/mm/tlb.c:
// flush_tlb_func, __flush_tlb_one_user, flush_tlb_local): up to a ceiling of pages
// (tlb_single_page_flush_ceiling, 33) one INVLPG each, above it one full flush of the current
// address space; with PTI and PCID the user PCID too, by INVPCID (type 0, one per page) where the
// CPU has it, else by the lazy flag that makes the next return to user space flush it (and always
// by the flag after a full flush). With PTI but no PCID the user half needs nothing: the CR3 write
// of the next return to user space flushes every non-global translation anyway. With INVLPGB
// (Linux >= 6.15) the initiator invalidates on every CPU at once, no IPI: plan_invlpgb. Pure:
// host-tested against a model TLB (tests/host/test_smp.cpp).
#pragma once

#include "arch/x86/invlpgb.h"
#include "arch/x86/regs.h"
#include "lib/types.h"

namespace ptb::bench {

// The schemes (row names shootdown.<name>.…): IPIs to targets without PTI, with PTI and PCID,
// with PTI without PCID; INVLPGB's kernel-address form (every PCID, targets without PTI) and its
// PTI+PCID form (one address space's kernel and user PCIDs, targets on the PTI pair).
enum class ShootScheme : u8 { kNoPti, kPtiPcid, kInvlpgb, kPti, kInvlpgbPcid };
constexpr const char* shoot_scheme_name(ShootScheme s) {
  switch (s) {
    case ShootScheme::kNoPti:
      return "nopti";
    case ShootScheme::kPtiPcid:
      return "pti.pcid";
    case ShootScheme::kInvlpgb:
      return "invlpgb";
    case ShootScheme::kPti:
      return "pti";
    case ShootScheme::kInvlpgbPcid:
      return "invlpgb.pcid";
  }
  return "?";
}
constexpr bool broadcast(ShootScheme s) {
  return s == ShootScheme::kInvlpgb || s == ShootScheme::kInvlpgbPcid;
}
// The targets run on the PTI pair (and so return to user space through its user half) ...
constexpr bool targets_pti(ShootScheme s) {
  return s == ShootScheme::kPtiPcid || s == ShootScheme::kPti || s == ShootScheme::kInvlpgbPcid;
}
// ... with CR4.PCIDE = 1, kernel PCID 1 and user PCID 0x801 (Linux's first ASID slot).
constexpr bool targets_pcid(ShootScheme s) {
  return s == ShootScheme::kPtiPcid || s == ShootScheme::kInvlpgbPcid;
}

inline constexpr u32 kFlushCeiling = 33;  // Linux's tlb_single_page_flush_ceiling (ceiling=)

enum class UserPcidFlush : u8 { kNone, kInvpcid, kLazy, kInvlpgb };
constexpr const char* user_pcid_flush_name(UserPcidFlush u) {
  return u == UserPcidFlush::kNone      ? "none"
         : u == UserPcidFlush::kInvpcid ? "invpcid"
         : u == UserPcidFlush::kLazy    ? "lazy"
                                        : "invlpgb";
}

struct FlushPlan {
  bool full;           // one flush of the current address space instead of an INVLPG per page
  UserPcidFlush user;  // what happens to the user PCID's translations
  friend constexpr bool operator==(FlushPlan, FlushPlan) = default;
};

// For the broadcast schemes `full` is INVLPGB's whole-PCID (or whole-TLB) form and the targets
// themselves do nothing.
constexpr FlushPlan plan_flush(u32 pages, u32 ceiling, ShootScheme scheme, bool has_invpcid) {
  const bool full = pages > ceiling;
  if (scheme == ShootScheme::kInvlpgbPcid) return {full, UserPcidFlush::kInvlpgb};
  if (scheme != ShootScheme::kPtiPcid) return {full, UserPcidFlush::kNone};
  return {full, full || !has_invpcid ? UserPcidFlush::kLazy : UserPcidFlush::kInvpcid};
}

static_assert(plan_flush(33, kFlushCeiling, ShootScheme::kNoPti, false) ==
              FlushPlan{false, UserPcidFlush::kNone});
static_assert(plan_flush(34, kFlushCeiling, ShootScheme::kPtiPcid, true) ==
              FlushPlan{true, UserPcidFlush::kLazy});

// The target's next return to user space after a shootdown (the PTI exit's CR3 switch, arch/x86/
// pti.inc TO_USER_CR3): none without PTI; with PTI but no PCID the CR3 write flushes every
// non-global translation; with PCID it flushes the user PCID when the lazy flag is set and keeps
// it (NOFLUSH) otherwise.
enum class UserReturn : u8 { kNone, kFlushAll, kFlushUserPcid, kNoflush };
constexpr UserReturn user_return(ShootScheme s, FlushPlan p) {
  if (!targets_pti(s)) return UserReturn::kNone;
  if (!targets_pcid(s)) return UserReturn::kFlushAll;
  return p.user == UserPcidFlush::kLazy ? UserReturn::kFlushUserPcid : UserReturn::kNoflush;
}

// The INVLPGB operations of one broadcast shootdown of `pages` 4 KiB pages from `va`, as Linux
// issues them (each followed by one TLBSYNC):
//   kInvlpgb      flush_tlb_kernel_range: up to the ceiling invlpgb_flush_addr_nosync, the VA
//                 with global entries, every PCID, in runs of at most `max_pages` (with the VA
//                 bit, as since Jann Horn's 2025 fix "x86/mm: Fix overbroad INVLPGB": 6.15 as
//                 first merged left it out, which makes the instruction match every address);
//                 above it invlpgb_flush_all (everything, globals included);
//   kInvlpgbPcid  broadcast_tlb_flush for an address space on PCIDs `kernel` and `user` (PTI):
//                 up to the ceiling invlpgb_flush_user_nr_nosync for each run, kernel PCID then
//                 user PCID (VA and PCID; Linux sets no FINAL_ONLY, so paging-structure caches
//                 for the range go too); above it
//                 invlpgb_flush_single_pcid_nosync for each PCID (its non-global entries).
// Writes at most `cap` to `out`; returns how many there are (more than cap: the caller's array
// was too small). max_pages 0 is taken as 1. Other schemes have none.
constexpr usize plan_invlpgb(u64 va, u32 pages, u32 ceiling, u32 max_pages, ShootScheme s,
                             x86::Pcid kernel, x86::Pcid user, x86::Invlpgb* out, usize cap) {
  using x86::Invlpgb;
  usize n = 0;
  auto put = [&](const Invlpgb& op) {
    if (n < cap) out[n] = op;
    ++n;
  };
  if (!broadcast(s)) return 0;
  const u32 most = max_pages == 0                   ? 1
                   : max_pages > Invlpgb::kMaxPages ? Invlpgb::kMaxPages
                                                    : max_pages;
  if (pages > ceiling) {
    if (s == ShootScheme::kInvlpgb) {
      put(x86::invlpgb_op(0, 1, Invlpgb::kIncludeGlobal));
    } else {
      put(x86::invlpgb_op(0, 1, Invlpgb::kPcid, kernel));
      put(x86::invlpgb_op(0, 1, Invlpgb::kPcid, user));
    }
    return n;
  }
  for (u32 done = 0; done < pages;) {
    const u32 run = pages - done < most ? pages - done : most;
    const u64 at = va + u64{done} * 4096;
    if (s == ShootScheme::kInvlpgb) {
      put(x86::invlpgb_op(at, run, Invlpgb::kVa | Invlpgb::kIncludeGlobal));
    } else {
      constexpr u64 kUserForm = Invlpgb::kVa | Invlpgb::kPcid;
      put(x86::invlpgb_op(at, run, kUserForm, kernel));
      put(x86::invlpgb_op(at, run, kUserForm, user));
    }
    done += run;
  }
  return n;
}

}  // namespace ptb::bench
