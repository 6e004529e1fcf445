// A benchmark variant is one row of a table: its name (part of the output contract), family,
// how it is measured, the CPU features it requires, the state it runs in, and how many
// instructions one operation executes on the measured path (what an instruction-counting TSC
// must read, exactly).
#pragma once

#include "arch/x86/cpu_features.h"
#include "bench/jit.h"
#include "lib/types.h"

namespace ptb::bench {

enum class Group : u8 {
  kCr3,
  kInvpcid,
  kInvlpg,
  kCr4,
  kTlb,
  kSyscall,
  kFault,
  kTrap,
  kInt,
  kCrossing
};
const char* group_name(Group g);

enum class Method : u8 {
  kLoop,    // a body unrolled U and 2U times in a loop; the difference is U·iters bodies
  kRefill,  // touch K pages after a flush, minus the same touches with no flush
  kRing3,   // a ring-3 driver loop of crossings, unrolled U and 2U times (bench/ring3.cpp)
};

// The CPU state a variant runs in; the runner applies it before and undoes it after.
enum Env : u32 {
  kEnvNone = 0,
  kEnvPcid = 1u << 0,  // CR4.PCIDE = 1, CR3 = the kernel root with the kernel PCID
  kEnvPti = 1u << 1,   // ring-3 variants: user code runs on the PTI user page tables
};

constexpr u64 need(x86::Feature f) { return u64{1} << static_cast<u32>(f); }

// Everything a body's registers may point at, prepared once per run.
struct Fixture {
  u64 kernel_cr3;     // the kernel root, PCID 0
  u64 pair_root;      // an 8 KiB-aligned pair of roots that both map the kernel (cr3.switch.*)
  u64 mapped_page;    // a 4 KiB page mapped non-global in the kernel tables
  u64 unmapped_page;  // a canonical address mapped nowhere
  u64 refill_base;    // refill_pages pages, non-global
  u64 refill_global;  // the same frames again, global
  u32 refill_pages;
  u64 cr4;  // CR4 as the suite runs it (PGE on where the CPU has it)
};

enum class Flush : u8 { kNone, kCr3, kCr3Noflush, kInvpcidSingle, kInvlpg };
const char* flush_name(Flush f);

struct Variant {
  const char* name;
  Group group;
  Method method;
  u64 features;      // bit per x86::Feature, all required
  u32 env;           // Env bits
  u32 instructions;  // per operation on the measured path (retired instructions)
  u32 faulting;      // of which fault instead of retiring: Bochs ticks its TSC for them, QEMU not
  // kLoop
  Template body;
  u32 ops_per_body;
  void (*setup)(JitContext& regs, const Fixture& fx);
  // kRefill
  Flush flush;
  u32 pages;
  bool global;
  // kRing3 (and crossings): which driver; see bench/ring3.h
  u32 ring3_kind;
};

struct TableParams {
  u32 refill_max;    // largest K of the refill curve
  bool quick;        // suite=quick: fewer refill points
  const u32* touch;  // K values of the syscall.*.touch.K rows
  usize touch_count;
};
// The table: the fixed rows, the ring-3 rows and the generated TLB refill curve (K = 1, 2, 4,
// ... refill_max). Returns the number of rows written to `out`.
usize build_table(Variant* out, usize capacity, const TableParams& params);

}  // namespace ptb::bench
