// A benchmark variant is one Row of one table (bench/table.cpp): what it is (structured data
// from which its name is rendered), how it is measured, the environment it runs in, the CPU
// features it requires, and how many instructions one operation executes on the measured path
// (what an instruction-counting TSC must read, exactly). Pure: compiled into the host tests.
#pragma once

#include "arch/x86/cpu_features.h"
#include "arch/x86/pti.h"
#include "bench/jit.h"
#include "bench/shootdown_plan.h"
#include "lib/format.h"
#include "lib/types.h"

namespace ptb::bench {

// The first part of every name, and the record's "group".
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
  kCrossing,
  kProbe,
  kIpi,
  kShootdown
};
const char* group_name(Group g);

enum class Method : u8 {
  kLoop,    // ring 0: a body unrolled U and 2U times in a loop; the difference is U·iters bodies
  kRefill,  // ring 0: touch K pages after a flush, minus the same touches with no flush
  kRing3Loop,  // a ring-3 loop of round trips (system calls, faults, traps), unrolled U and 2U
  kCrossing,   // one-way crossings: ring 3 and the kernel stub stamp on either side
  kProbe,      // a TLB semantics probe (bench/probe.h): what an operation keeps; no timing
  kIpiFixed,   // CPU `source` pings CPU `target` by a fixed-vector IPI; the handler answers
  kIpiPoll,    // the same exchange through memory alone: `target` polls a mailbox
  kShootdown,  // CPU 0 changes `pages` PTEs and has `targets` CPUs invalidate them (`shoot`)
};

// What a refill row flushes between the warm pass and the timed one.
enum class Flush : u8 { kNone, kCr3, kCr3Noflush, kInvpcidSingle, kInvlpg };
const char* flush_name(Flush f);

// The crossing a one-way row times, and which way.
enum class Cross : u8 { kNone, kSyscall, kPf, kInt3, kInt };
const char* cross_name(Cross c);
enum class Direction : u8 { kU2k, kK2u };

// The CPU state a row runs in; bench/env.h applies it and restores the suite's state afterwards.
struct Env {
  x86::EntryScheme scheme = x86::EntryScheme::kNone;  // PTI pair and entry/exit CR3 switching
  bool pcid = false;  // ring 0 on CR4.PCIDE = 1 and the kernel PCID (implied by PCID schemes)
  const u8* lstar = nullptr;  // SYSCALL entry while the row runs; nullptr: syscall_entry_direct
  u8 vector = 0;              // an IDT gate replaced while the row runs (0: none) ...
  const u8* gate = nullptr;   // ... by this stub
  bool pcid_mode() const { return pcid || x86::uses_pcid(scheme); }
};

// Everything a body's registers may point at, prepared once per run (bench/suite.cpp).
struct Fixture {
  u64 kernel_cr3;     // the kernel root, PCID 0
  u64 pair_root;      // an 8 KiB-aligned pair of roots that both map the kernel (cr3.switch.*)
  u64 mapped_page;    // a 4 KiB page mapped non-global in the kernel tables
  u64 unmapped_page;  // a canonical address mapped nowhere
  u64 refill_base;    // refill_pages pages, non-global
  u64 refill_global;  // the same frames again, global
  u32 refill_pages;
  // The TLB probes' page X and its neighbour Y in one 2 MiB region of their own (bench/probe.h):
  // the PDE that maps the region, the page table it points at (X, Y -> frame A) and the second
  // table (X, Y -> frame B), all by physical (identity-mapped) address.
  u64 probe_x, probe_y;
  u64 probe_pde, probe_table_a, probe_table_b;
  u64 probe_frame_a, probe_frame_b;
  u64 cr4;  // CR4 as the suite runs it (PGE on where the CPU has it)
};

// Loads a loop body's registers (bench/bodies.asm says what each body expects).
using Setup = void (*)(JitContext& regs, const Fixture& fx);

constexpr u64 need(x86::Feature f) { return u64{1} << static_cast<u32>(f); }

struct Row {
  // ---- identity: the name is rendered from these (put_name) ----
  Group group = Group::kCr3;
  const char* label = "";      // after the group: "write.nopcid", "refill", "direct", "pf", ...
  bool scheme_suffix = false;  // append the entry scheme: "" / ".pti" / ".pti.pcid"
  Flush flush = Flush::kNone;  // refill: the flush, whether the pages are global, and K
  bool global = false;
  u32 pages = 0;
  u32 touch = 0;  // syscall.*.touch.K: user pages touched after each call
  Cross cross = Cross::kNone;
  Direction direction = Direction::kU2k;
  u8 probe = 0;  // kProbe: the index of its ProbeSpec (probe_specs()); its label is the spec's
  u8 source = 0, target = 0;  // kIpi*: the CPUs (kernel/smp.h numbering), ".<source>.<target>"
  ShootScheme shoot = ShootScheme::kNoPti;  // kShootdown: label = its name, ".t<targets>.p<pages>"
  u8 targets = 0;                           // (the INVLPGB rows have no targets: ".p<pages>")

  // ---- how it is measured ----
  Method method = Method::kLoop;
  Env env{};
  u64 features = 0;  // bit per x86::Feature, all required
  Template body{};   // kLoop, kRing3Loop: the body; kCrossing: the ring-3 driver
  u32 ops_per_body = 1;
  Setup setup = nullptr;  // kLoop: the body's registers

  // ---- what an instruction-counting TSC must read per operation ----
  u32 instructions = 0;  // retired instructions on the measured path
  u32 faulting = 0;      // of which fault instead of retiring (Bochs ticks its TSC for them)
};

constexpr bool is_ipi(const Row& r) {
  return r.method == Method::kIpiFixed || r.method == Method::kIpiPoll;
}

// The row's name (part of the output contract): group, label, then the generated parts.
void put_name(TextBuf& out, const Row& row);
inline constexpr usize kNameMax = 64;

// ".pti", ".pti.pcid" or "" as the names spell the entry schemes (kPcidFlush: ".pti.pcid.flush").
const char* scheme_suffix(x86::EntryScheme s);

// The shootdown rows: T = 1 ... CPUs - 1 (at most kIpiMatrixMax - 1), n pages from
// shootdown_pages= (at most kMaxShootdownPageCounts values of 1..kMaxShootdownPages).
inline constexpr u32 kShootdownPages[] = {1, 8, 33, 64, 512};
inline constexpr u32 kShootdownPageCounts = sizeof(kShootdownPages) / sizeof(kShootdownPages[0]);
inline constexpr u32 kMaxShootdownPages = 512, kMaxShootdownPageCounts = 8;

struct TableParams {
  u32 refill_max;    // largest K of the refill curve
  bool quick;        // suite=quick: fewer refill points
  const u32* touch;  // K values of the syscall.*.touch.K rows (distinct)
  usize touch_count;
  u32 cpus = 1;  // CPUs the SMP rows use (kernel/smp.h); the IPI matrix covers the first
                 // kIpiMatrixMax of them, and at least the pair 0 -> 1 (which skips on one CPU)
  const u32* shootdown_pages = kShootdownPages;  // n of the shootdown rows (distinct)
  usize shootdown_page_count = kShootdownPageCounts;
};
inline constexpr u32 kIpiMatrixMax = 16;
// The table: the ring-0 rows, the ring-3 rows and the generated TLB refill curve (K = 1, 2, 4,
// ... refill_max) and the IPI matrix. Returns the number of rows written to `out` (at most `capacity`).
usize build_table(Row* out, usize capacity, const TableParams& params);
inline constexpr usize kMaxRows = 320 + 2 * kIpiMatrixMax * (kIpiMatrixMax - 1) +
                                  (2 * (kIpiMatrixMax - 1) + 1) * kMaxShootdownPageCounts;

inline constexpr u32 kMaxTouch = 512;
// Parses touch= ("1,8,64"): values 1..kMaxTouch, at most `cap`, each once. Entries out of range
// or malformed are counted in *rejected, repeated values in *repeated.
// The same for any list of values 1..max (shootdown_pages=).
usize parse_value_list(const char* s, usize len, u32 max, u32* out, usize cap, usize* rejected,
                       usize* repeated);
usize parse_touch_list(const char* s, usize len, u32* out, usize cap, usize* rejected,
                       usize* repeated);

}  // namespace ptb::bench
