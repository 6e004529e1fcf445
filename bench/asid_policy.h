// The address-space switching lab's decision logic (issue 11): how a scheduler picks the PCID of
// the next process, when it flushes, the lazy flush of user PCIDs under PTI, and how a change to
// a kernel mapping every address space shares is invalidated. Pure: the kernel (bench/aspace.cpp)
// and the host tests run exactly this code; the slice driver is a template over the CPU it drives
// (the kernel's real one, or the host's PCID-tagged TLB model, bench/aspace_model.h).
//
// Number spaces as Linux names them (arch/x86/regs.h Asid): a slot ("ASID") 0..slots-1, the
// kernel PCID = ASID + 1, the user PCID = kernel PCID | 2048 (bit 11, PTI's user half).
//
// Policies:
//   nopcid     CR4.PCIDE = 0: every switch and every PTI crossing flushes non-global entries.
//   linux      Linux's per-CPU slot table (arch/x86/mm/tlb.c, TLB_NR_DYN_ASIDS = 6; here any
//              1..2047): a slot whose context id matches is reused (flushed only when its TLB
//              generation is behind the process's), otherwise the next slot round-robin, flushed;
//              the user PCID of a flushed slot is flushed lazily, on the next return to ring 3
//              (the user_pcid_flush mask); entry and exit otherwise switch with NOFLUSH.
//   perprocess a fixed PCID per process (ASID = process), flushed only at its first use or after
//              an invalidation (the pre-4.14 approach); needs P <= 2047.
//   deferred   linux's slots, but a switch that hits does not write the kernel CR3 at all: the
//              kernel runs on the previous process's kernel tables until the return to ring 3
//              writes the new process's user CR3 (and the next entry derives its kernel CR3 from
//              that). Correct only if, between the switch and that return, the kernel touches no
//              user memory: the previous process's user mappings are still live in the kernel
//              half. The lab's scheduler touches only kernel memory there (bench/aspace.cpp).
//              A switch that misses writes the kernel CR3 as linux does (its PCID must be flushed).
//
// Kernel flushes (a kernel mapping shared by every process changes; like Linux's entry-area
// addresses, its page is mapped, supervisor-only, in both halves of every pair, and the lab's
// system-call entry reads it on the user half before switching to the kernel half): nopcid
// INVLPGs it (the other address spaces have no PCID to keep it in); with INVPCID the PCID
// policies run type 0 on the page for the kernel and the user PCID of every slot that may hold it;
// without INVPCID they INVLPG it in the current (kernel) PCID, mark the current slot's user PCID
// for the lazy flush (Linux's flush_tlb_one_user: invalidate_user_asid) and every other slot
// stale, so each is flushed at its next use (Linux's invalidate_other). Rows may ask for the
// INVPCID-less path on a CPU that has INVPCID (Config::invpcid false), so one boot shows both.
#pragma once

#include "arch/x86/pmu.h"
#include "arch/x86/regs.h"
#include "bench/stats.h"
#include "lib/types.h"

namespace ptb::bench::aspace {

enum class Policy : u8 { kNopcid, kLinux, kPerProcess, kDeferred };
const char* policy_name(Policy p);
enum class Schedule : u8 { kRoundRobin, kRandom, kHotPair };
const char* schedule_name(Schedule s);
inline constexpr u32 kScheduleCount = 3;

inline constexpr u32 kLinuxSlots = 6;   // TLB_NR_DYN_ASIDS
inline constexpr u32 kMaxSlots = 2047;  // kernel PCIDs 1..2047: bit 11 marks the user half
inline constexpr u32 kMaxProcesses = 64;
inline constexpr u32 kMaxPages = 64;         // W
inline constexpr u32 kMaxKernelPages = 512;  // Kk
inline constexpr u32 kMaskWords = 32;  // the lazy user-flush mask: one bit per kernel PCID (2048)

struct Config {
  Policy policy = Policy::kLinux;
  u32 slots = kLinuxSlots;  // linux, deferred (perprocess: P; nopcid: 1)
  u32 processes = 2;        // P
  bool invpcid = false;     // the CPU has INVPCID (kernel flushes use it)
};

// What the scheduler does to switch to a process.
struct SwitchPlan {
  u16 asid = 0;           // nopcid: 0 and PCID 0 (PCIDE = 0)
  bool hit = false;       // the slot still held this process's context
  bool flush = false;     // the kernel PCID is loaded without NOFLUSH
  bool write_cr3 = true;  // false: deferred hit, the kernel CR3 is not written at all
};

// The decision counts a record reports (docs/output-format.md, group aspace).
struct Counts {
  u64 switches = 0;
  u64 hits = 0, misses = 0;   // nopcid: every switch misses
  u64 flushes = 0;            // kernel-PCID (nopcid: whole-TLB) flushes at switch time
  u64 user_flushes = 0;       // lazy user-PCID flushes on the way back to ring 3
  u64 skipped_cr3 = 0;        // deferred: kernel CR3 writes left out
  u64 kernel_flushes = 0;     // kernel-mapping changes invalidated
  u64 invpcids = 0;           // INVPCID type-0 instructions those cost (kernel and user PCIDs)
  u64 invalidate_others = 0;  // of them, handled by marking the other slots stale (no INVPCID)
  friend bool operator==(const Counts&, const Counts&) = default;
};

constexpr x86::Pcid kernel_pcid_of(Policy p, u16 asid) {
  return p == Policy::kNopcid ? x86::Pcid{0} : x86::kernel_pcid(x86::Asid{asid});
}
constexpr x86::Pcid user_pcid_of(Policy p, u16 asid) {
  return p == Policy::kNopcid ? x86::Pcid{0} : x86::user_pcid(x86::Asid{asid});
}

// The per-CPU state of a policy: the slot table, the round-robin cursor, the lazy user-flush mask
// (storage of kMaskWords words, which the kernel's exit stubs read; the caller owns it).
class AsidState {
 public:
  // Returns nullptr, or why `c` cannot run (too many processes or slots).
  static const char* invalid(const Config& c);
  void reset(const Config& c, u64* user_flush_mask);

  SwitchPlan switch_to(u32 process);
  // The return to ring 3 on `asid`'s user PCID: whether it must be flushed (the lazy bit, which
  // this clears). The kernel's own exit stubs test and clear the same bit.
  bool take_user_flush(u16 asid);
  // A process's page tables changed (Linux's inc_mm_tlb_gen): its slots are stale from now on.
  // `process` must not be the current one (the lab only changes others').
  void mm_changed(u32 process) { ++mm_gen_[process]; }

  // A shared kernel mapping changed. With INVPCID the PCID policies call invpcid(pcid) for the
  // kernel and the user PCID of every slot that may cache it; otherwise invlpg() runs in the
  // current PCID, its user PCID is flushed lazily and the other slots are marked stale.
  template <typename Invpcid, typename Invlpg>
  void kernel_flush(Invpcid invpcid, Invlpg invlpg);

  const Counts& counts() const { return counts_; }
  const Config& config() const { return cfg_; }

 private:
  static constexpr u32 kNone = ~0u;
  static constexpr u64 kKernelCtx = 1;  // the kernel's own context, in slot 0 at reset
  static u64 ctx_of(u32 process) { return process + 2; }  // 0: an empty slot
  void mark_user_flush(u16 asid);
  void forget_others(u32 n);
  void choose_linux(u32 process, SwitchPlan& plan);

  Config cfg_{};
  u64* mask_ = nullptr;
  struct Slot {
    u64 ctx, gen;
  };
  Slot slot_[kMaxSlots]{};  // linux, deferred: by ASID; perprocess: by process
  u64 mm_gen_[kMaxProcesses]{};
  u32 next_asid_ = 0;
  u16 loaded_ = 0;  // the ASID whose kernel PCID the kernel runs on
  bool invalidate_other_ = false;
  Counts counts_{};
};

template <typename Invpcid, typename Invlpg>
void AsidState::kernel_flush(Invpcid invpcid, Invlpg invlpg) {
  ++counts_.kernel_flushes;
  if (cfg_.policy == Policy::kNopcid) {
    invlpg();
    return;
  }
  const u32 n = cfg_.policy == Policy::kPerProcess ? cfg_.processes : cfg_.slots;
  if (cfg_.invpcid) {
    for (u32 a = 0; a < n; ++a) {
      if (slot_[a].ctx == 0) continue;  // empty: flushed at its first use anyway
      invpcid(kernel_pcid_of(cfg_.policy, static_cast<u16>(a)));
      invpcid(user_pcid_of(cfg_.policy, static_cast<u16>(a)));
      counts_.invpcids += 2;
    }
    return;
  }
  invlpg();
  mark_user_flush(loaded_);
  invalidate_other_ = true;
  ++counts_.invalidate_others;
}

// The CPU a slice drives (the kernel's, or the host's model):
//   load_kernel(process, pcid, noflush): write the process's kernel CR3;
//   run_user(process, user_pcid, noflush, kernel_pcid): return to ring 3 on the process's user
//     CR3, touch its pages, make the system calls, come back to the kernel on `kernel_pcid`;
//   invpcid_addr(pcid), invlpg(): invalidate the shared kernel page;
//   remap_kernel_page(): point the shared kernel page at its other frame.
template <typename C>
concept LabCpu = requires(C c, u32 p, x86::Pcid id, bool b) {
  c.load_kernel(p, id, b);
  c.run_user(p, id, b, id);
  c.invpcid_addr(id);
  c.invlpg();
  c.remap_kernel_page();
};

// One slice's steps, for any policy state with AsidState's interface (the host tests wrap it in
// deliberately broken ones).
template <typename State, LabCpu Cpu>
void kernel_flush(State& st, Cpu& cpu) {
  cpu.remap_kernel_page();
  st.kernel_flush([&cpu](x86::Pcid p) { cpu.invpcid_addr(p); }, [&cpu] { cpu.invlpg(); });
}
template <typename State, LabCpu Cpu>
SwitchPlan switch_to(State& st, Cpu& cpu, u32 process) {
  const SwitchPlan plan = st.switch_to(process);
  const Policy pol = st.config().policy;
  if (plan.write_cr3)
    cpu.load_kernel(process, kernel_pcid_of(pol, plan.asid), !plan.flush && pol != Policy::kNopcid);
  return plan;
}
template <typename State, LabCpu Cpu>
void return_to_user(State& st, Cpu& cpu, u32 process, const SwitchPlan& plan) {
  const Policy pol = st.config().policy;
  const bool flush_user = st.take_user_flush(plan.asid);
  cpu.run_user(process, user_pcid_of(pol, plan.asid), !flush_user && pol != Policy::kNopcid,
               kernel_pcid_of(pol, plan.asid));
}

// What the ring-3 half of a slice (bench/aspace.asm aspace_slice) reads and writes, in the user
// data pages: it reads page i of the working set at base + i * 4 KiB and expects magic + i there,
// then makes `calls` null system calls.
struct UserContext {
  u64 base, pages, magic, calls;
  u64 stale;      // out: reads that saw another magic
  u64 bad_page;   // out: the first such page ...
  u64 bad_value;  // ... and what it held
};
static_assert(sizeof(UserContext) == 56);

// What the kernel's slice pieces (bench/aspace.asm aspace_piece) read and write. The policy's
// C++ decides a slice's work first (bench/aspace.cpp); each piece then does its part of it in
// fixed-length assembly between two stamps, so that under an instruction-counting TSC its ticks
// are the declared length of the path the decision took (bench/aspace_paths.h).
struct SliceOps {
  u64 desc;                                   // the INVPCID type-0 descriptors (16 bytes each) ...
  u64 invpcids;                               // ... and how many the flush runs
  u64 invlpg;                                 // 0, or the address the flush INVLPGs
  u64 write_cr3;                              // 0: the switch writes no CR3 (a deferred hit)
  u64 cr3;                                    // the kernel CR3 it writes
  u64 user_rip, user_rsp, user_arg, user_fn;  // ring3_enter's arguments (the ring-3 part)
  u64 t0, t1;                                 // out: the last piece's stamps
};
static_assert(sizeof(SliceOps) == 88);
enum class Piece : u32 { kFlush, kSwitch, kUser, kNone };

// The magic of page `page` of process `process` (and of the shared kernel page's two frames).
constexpr u64 page_magic(u32 process, u32 page) {
  return 0x4153'5000'0000'0000ull | u64{process} << 16 | page;
}
constexpr u64 kernel_page_magic(u32 frame) { return 0x4b46'4c00'0000'0000ull | frame; }

// The schedules: which process runs in slice i. Round-robin 0, 1, ... P-1; random: a fixed-seed
// xorshift, never the same process twice in a row; hot pair: 0 and 1 alternate, every 8th slice
// one of the others in turn (P >= 2 for all of them).
class Scheduler {
 public:
  Scheduler(Schedule s, u32 processes) : s_(s), p_(processes) {}
  u32 next();

 private:
  Schedule s_;
  u32 p_;
  u32 i_ = 0, prev_ = ~0u, rng_ = 0x2545f491u;
};

// What a lab record reports besides its per-slice statistics (bench/output.cpp writes it).
struct Figures {
  Counts counts;
  Summary per_switch;  // ticks of the switch piece: the kernel CR3 written (if it is)
  Summary per_flush;   // ticks of the kernel flushes (n = 0: none in the timed slices)
  // What an instruction-counting TSC must read (bench/aspace_paths.h, from each decision): per
  // slice, per switch, per kernel flush; and the slices whose pieces' ticks read anything else.
  Summary instructions, switch_instructions, flush_instructions;
  u32 tick_mismatches;
  // With inst_retired counting: the slices whose count is not the declared one less the stamps'
  // share (counted_instructions: what it must count).
  bool inst_checked;
  u32 inst_mismatches;
  Summary counted_instructions;
  // The counters over the switch piece alone (counters::plan() order).
  u32 switch_counter_count;
  Summary switch_counters[x86::pmu::kMaxCounters];
  u32 pages, calls, flush_every, slices;
  bool invpcid;
  u64 stale_user, stale_kernel;
  // The first stale read: the process that ran, its page (kernel: the shared page) and the value.
  u32 bad_process, bad_page;
  bool bad_in_kernel;
  u64 bad_value;
};

// One record's run: `slices` slices in the schedule's order (the first P are the warm-up round,
// not timed), a kernel flush before every M-th (flush_every; 0: none). stamp(i, step) is called
// before the flush (step 0), before the switch (1), after it (2) and after the ring-3 part (3).
struct RunSpec {
  Config cfg;
  Schedule schedule;
  u32 slices;
  u32 flush_every;
};
constexpr u32 warmup_slices(u32 processes) { return processes; }
constexpr u32 run_slices(u32 processes, u32 reps) { return warmup_slices(processes) + reps; }
constexpr bool flush_due(u32 slice, u32 flush_every) {
  return flush_every != 0 && slice % flush_every == flush_every - 1;
}

template <typename State, LabCpu Cpu, typename Stamp>
void run(State& st, Cpu& cpu, const RunSpec& spec, u64* user_flush_mask, Stamp stamp) {
  st.reset(spec.cfg, user_flush_mask);
  Scheduler sched(spec.schedule, spec.cfg.processes);
  for (u32 i = 0; i < spec.slices; ++i) {
    const u32 p = sched.next();
    stamp(i, 0);
    if (flush_due(i, spec.flush_every)) kernel_flush(st, cpu);
    stamp(i, 1);
    const SwitchPlan plan = switch_to(st, cpu, p);
    stamp(i, 2);
    return_to_user(st, cpu, p, plan);
    stamp(i, 3);
  }
}

}  // namespace ptb::bench::aspace
