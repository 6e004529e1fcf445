// The ring-3 rows of the variant table (see bench/ring3_table.cpp). Pure.
#pragma once

#include "bench/variant.h"
#include "lib/types.h"

namespace ptb::bench {

enum class Pti : u8 { kOff, kPti, kPcid, kPcidFlush };
enum class Cross : u8 { kNone, kSyscall, kPf, kInt3, kInt };

struct Ring3Spec {
  const char* name;
  Group group;
  Pti pti;
  const u8* lstar;   // SYSCALL entry for the variant, nullptr = leave the default
  Template body;     // ring-3 loop body (none for crossings)
  u32 instructions;  // per round trip, counted from syscall.asm and user.asm
  u8 vector;         // IDT override for the body's exception, 0 = none
  const u8* stub;    // its handler (for crossings via SYSCALL: the LSTAR stub)
  Cross cross;
  bool k2u;
  u32 touch;
  u32 faulting = 0;  // instructions on the path that fault instead of retiring (the store)
};

inline constexpr u32 kMaxTouch = 512;

// The CR3 values a PTI mode runs with: the kernel's while in the kernel, the user's in ring 3.
// Off: ring 3 stays on the kernel tables. PTI: the pair's user half (PGD + 4 KiB), PCID 0.
// PCID: kernel PCID 1 and user PCID 2049 (Linux's first ASID slot), user = kernel half flipped.
struct PtiCr3 {
  u64 kernel, user;
};
PtiCr3 pti_cr3(Pti mode, u64 kernel_root);

// Parses touch= ("1,8,64"): values 1..kMaxTouch, at most `cap`; the count of rejected entries
// goes to *rejected.
usize parse_touch_list(const char* s, usize len, u32* out, usize cap, usize* rejected);
// Builds the ring-3 rows (syscall.*.touch.K for each K in `touch`) and appends them to `out`.
usize ring3_rows(Variant* out, usize cap, const u32* touch, usize touch_count);
// The spec behind a row's ring3_kind (valid after ring3_rows).
const Ring3Spec& ring3_spec(u32 index);

}  // namespace ptb::bench
