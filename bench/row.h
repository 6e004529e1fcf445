// A benchmark variant is one Row of one table (bench/table.cpp): what it is (structured data
// from which its name is rendered), how it is measured, the environment it runs in, the CPU
// features it requires, and how many instructions one operation executes on the measured path
// (what an instruction-counting TSC must read, exactly). Pure: compiled into the host tests.
#pragma once

#include "arch/x86/cpu_features.h"
#include "arch/x86/pti.h"
#include "bench/asid_policy.h"
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
  kAspace,
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
  kAspace,     // the address-space switching lab (bench/aspace.h): slices of P processes
  kIpiFixed,   // CPU `source` pings CPU `target` by a fixed-vector IPI; the handler answers
  kIpiPoll,    // the same exchange through memory alone: `target` polls a mailbox
  kShootdown,  // CPU 0 changes `pages` PTEs and has `targets` CPUs invalidate them (`shoot`)
};

// An aspace row: the policy and the lab's parameters that are part of its name (the working set
// W, the calls per slice k and the flush period M come from the command line, as fields).
struct AspaceSpec {
  aspace::Policy policy = aspace::Policy::kNopcid;
  aspace::Schedule schedule = aspace::Schedule::kRoundRobin;
  u16 slots = 0;            // linux, deferred
  u16 processes = 0;        // P
  u16 kernel_pages = 0;     // Kk, each system call; global or not: Row::global
  bool no_invpcid = false;  // kernel flushes without INVPCID on a CPU that has it (.noinvpcid)
};

// What a refill row flushes between the warm pass and the timed one.
enum class Flush : u8 { kNone, kCr3, kCr3Noflush, kInvpcidSingle, kInvlpg };
const char* flush_name(Flush f);

// How a refill pass touches its pages (bench/refill.h): independent loads (throughput: the
// refills overlap as far as the core allows) or a dependent pointer chase (latency: one at a time).
enum class Access : u8 { kIndependent, kChase };
const char* access_name(Access a);

// What a ring-0 loop's operation forces to be refilled each time, besides what it is named for
// (docs/output-format.md, "refills"): its own code page (an instruction-TLB refill: the flush
// dropped the loop's translation) and INVPCID's descriptor page (a data-TLB refill). A bit mask.
enum Refill : u8 { kRefillNone = 0, kRefillCode = 1, kRefillDescriptor = 2 };
// "none", "code", "descriptor" or "code+descriptor".
const char* refills_name(u8 refills);

// The crossing a one-way row times, and which way.
enum class Cross : u8 { kNone, kSyscall, kPf, kInt3, kInt };
const char* cross_name(Cross c);
enum class Direction : u8 { kU2k, kK2u };

// The CPU state a row runs in; bench/env.h applies it and restores the suite's state afterwards.
struct Env {
  x86::EntryScheme scheme = x86::EntryScheme::kNone;  // PTI pair and entry/exit CR3 switching
  bool pcid = false;  // ring 0 on CR4.PCIDE = 1 and the kernel PCID (implied by PCID schemes)
  // Under PTI, map the kernel as Linux 4.15 did (nothing global; the ".415" rows) instead
  // of as current Linux does (x86::pti_globals: the entry area global, and without PCID the
  // kernel text too).
  bool nonglobal = false;
  const u8* lstar = nullptr;  // SYSCALL entry while the row runs; nullptr: syscall_entry_direct
  u8 vector = 0;              // an IDT gate replaced while the row runs (0: none) ...
  const u8* gate = nullptr;   // ... by this stub
  bool pcid_mode() const { return pcid || x86::uses_pcid(scheme); }
  x86::PtiGlobals globals() const { return x86::pti_globals(scheme, nonglobal); }
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
  // The ".pure" rows: the JIT area (jit_base, identity) mapped again, global and read-only, at
  // jit_global; and a global, writable page for their INVPCID descriptor.
  u64 jit_base, jit_global, jit_size;
  u64 global_data;
};

// A one-way crossing's counter pass (docs/method.md, "Counters of the one-way crossings"): the
// row's ring-3 driver and kernel stub again, with every stamp reading a performance counter
// (bench/timestamp.inc, COUNTER_STAMP). A crossing row has one per source: RDPMC, and the
// test-only fake that reads the TSC there (bench/crossing_counters.h).
struct CounterPassCode {
  Template driver;
  const u8* stub;  // LSTAR or the gate (the row's Env says which) while the pass runs
};
enum : u8 { kCounterPassRdpmc, kCounterPassFakeTsc, kCounterPassSources };

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
  Access access = Access::kIndependent;  // refill: the label says it too ("refill" / "chase")
  u32 touch = 0;                         // syscall.*.touch.K: user pages touched after each call
  Cross cross = Cross::kNone;
  Direction direction = Direction::kU2k;
  u8 probe = 0;  // kProbe: the index of its ProbeSpec (probe_specs()); its label is the spec's
  // kLoop: the "pure" twin (".pure"): the loop runs from a global alias of the JIT area and its
  // data (INVPCID's descriptor) lies in a global page, so a flush that spares global
  // translations leaves the loop nothing to refill.
  bool pure = false;
  AspaceSpec lab{};           // kAspace
  u8 source = 0, target = 0;  // kIpi*: the CPUs (kernel/smp.h numbering), ".<source>.<target>"
  ShootScheme shoot = ShootScheme::kNoPti;  // kShootdown: label = its name, ".t<targets>.p<pages>"
  u8 targets = 0;                           // (the INVLPGB rows have no targets: ".p<pages>")

  // ---- how it is measured ----
  Method method = Method::kLoop;
  Env env{};
  u64 features = 0;  // bit per x86::Feature, all required
  Template body{};   // kLoop, kRing3Loop: the body; kCrossing: the ring-3 driver
  u32 ops_per_body = 1;
  Setup setup = nullptr;     // kLoop: the body's registers
  u8 refills = kRefillNone;  // kLoop: what each operation forces to be refilled (Refill bits)
  // kCrossing: its counter passes' code, kCounterPassSources of them (nullptr: none).
  const CounterPassCode* counter_code = nullptr;

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
// The schemes with T targets in their names (shootdown.<scheme>.t<T>.p<n>), in table order;
// shootdown.invlpgb.p<n> comes after them.
inline constexpr ShootScheme kTargetedShootSchemes[] = {
    ShootScheme::kNoPti, ShootScheme::kPtiPcid, ShootScheme::kPti, ShootScheme::kInvlpgbPcid};
inline constexpr u32 kTargetedShootSchemeCount =
    sizeof(kTargetedShootSchemes) / sizeof(kTargetedShootSchemes[0]);

struct TableParams {
  u32 refill_max;    // largest K of the refill curve
  bool quick;        // suite=quick: fewer refill points
  const u32* touch;  // K values of the syscall.*.touch.K rows (distinct)
  usize touch_count;
  // The address-space lab (aspace.*): P values, the linux policy's slot counts, the Kk of the
  // main matrix, and the Kk values of the footprint rows (each global and not). None: no rows.
  const u32* lab_processes = nullptr;
  usize lab_processes_count = 0;
  const u32* lab_slots = nullptr;
  usize lab_slots_count = 0;
  u32 lab_kernel_pages = 0;
  const u32* lab_footprint = nullptr;
  usize lab_footprint_count = 0;
  u32 cpus = 1;  // CPUs the SMP rows use (kernel/smp.h); the IPI matrix covers the first
                 // kIpiMatrixMax of them, and at least the pair 0 -> 1 (which skips on one CPU)
  const u32* shootdown_pages = kShootdownPages;  // n of the shootdown rows (distinct)
  usize shootdown_page_count = kShootdownPageCounts;
};
inline constexpr u32 kIpiMatrixMax = 16;
// The table: the ring-0 rows, the ring-3 rows and the generated TLB refill curve (K = 1, 2, 4,
// ... refill_max) and the IPI matrix. Returns the number of rows written to `out` (at most
// `capacity`).
usize build_table(Row* out, usize capacity, const TableParams& params);
// Room for every row with every list option at its largest (tests/host/test_table.cpp,
// LargestOptionsOfEveryFamilyFitTogether): about 440 single-CPU rows, 491 of the lab, and the
// IPI matrix and the shootdowns below.
inline constexpr usize kMaxRows =
    1024 + 2 * kIpiMatrixMax * (kIpiMatrixMax - 1) +
    (kTargetedShootSchemeCount * (kIpiMatrixMax - 1) + 1) * kMaxShootdownPageCounts;

inline constexpr u32 kMaxTouch = 512;
// Parses touch= ("1,8,64"): values 1..kMaxTouch, at most `cap`, each once. Entries out of range
// or malformed are counted in *rejected, repeated values in *repeated.
usize parse_touch_list(const char* s, usize len, u32* out, usize cap, usize* rejected,
                       usize* repeated);
// The same for any list of values lo..hi (shootdown_pages=, the lab's lists).
usize parse_u32_list(const char* s, usize len, u32 lo, u32 hi, u32* out, usize cap, usize* rejected,
                     usize* repeated);
// Where the table's builders (bench/table.cpp, bench/aspace_table.cpp) put rows, with the
// features every row's structure implies added: PCID where the row runs with CR4.PCIDE set (it
// is set only for rows that need PCID), SYSCALL where it enters ring 3 (entered and left through
// the SYSCALL MSRs). Rows beyond `cap` are dropped (build_table's caller warns when it is full).
struct RowSink {
  Row* out;
  usize cap;
  usize n = 0;
  void add(Row r) {
    if (r.env.pcid_mode()) r.features |= need(x86::Feature::kPcid);
    if (r.method == Method::kRing3Loop || r.method == Method::kCrossing ||
        r.method == Method::kAspace)
      r.features |= need(x86::Feature::kSyscall);
    if (n < cap) out[n++] = r;
  }
};
// The address-space lab's rows (bench/aspace_table.cpp), appended to the table by build_table;
// returns how many were written to `out` (at most `cap`).
usize aspace_rows(Row* out, usize cap, const TableParams& tp);

}  // namespace ptb::bench
