// The address-space lab's rows (bench/row.h aspace_rows): pure.
//
// The main matrix: for each schedule and each P, every policy (nopcid, linux with each slot
// count, perprocess, deferred with Linux's 6 slots) at the main Kk, non-global. The footprint
// rows: nopcid and linux.6, round-robin, the largest P, each footprint Kk global and non-global
// (the one the main matrix has already left out). The noinvpcid rows: linux.6, perprocess and
// deferred, round-robin, the largest P, the main Kk, with the INVPCID-less kernel flushes on a CPU
// that has INVPCID. suite=quick thins the main matrix.
#include "bench/row.h"
#include "bench/symbols.h"

namespace ptb::bench {
namespace {

using aspace::Policy;
using aspace::Schedule;
using x86::Feature;

struct Sink : RowSink {
  void add(Policy policy, u32 slots, Schedule s, u32 processes, u32 kk, bool global,
           bool no_invpcid = false) {
    const bool pcid = policy != Policy::kNopcid;
    RowSink::add({.group = Group::kAspace,
                  .global = global,
                  .lab = {policy, s, static_cast<u16>(slots), static_cast<u16>(processes),
                          static_cast<u16>(kk), no_invpcid},
                  .method = Method::kAspace,
                  .env = {.scheme = pcid ? x86::EntryScheme::kPcid : x86::EntryScheme::kPti,
                          .lstar = pcid ? aspace_syscall_pcid : aspace_syscall_pti},
                  .features = (global ? need(Feature::kPge) : 0) |
                              (no_invpcid ? need(Feature::kInvpcid) : 0),
                  .body = TEMPLATE_OF(aspace_slice)});
  }
};

}  // namespace

usize aspace_rows(Row* out, usize cap, const TableParams& tp) {
  Sink b{{out, cap}};
  u32 largest = 0;
  for (usize i = 0; i < tp.lab_processes_count; ++i)
    largest = tp.lab_processes[i] > largest ? tp.lab_processes[i] : largest;
  if (largest == 0) return 0;
  const u32 kk = tp.lab_kernel_pages;
  // suite=quick: the first and last P, and of the slot counts the first, Linux's 6 and the last.
  const usize last_p = tp.lab_processes_count - 1, last_slots = tp.lab_slots_count - 1;
  auto keep_p = [&](usize i) { return !tp.quick || i == 0 || i == last_p; };
  auto keep_slots = [&](usize j) {
    return !tp.quick || j == 0 || j == last_slots || tp.lab_slots[j] == aspace::kLinuxSlots;
  };
  for (u32 s = 0; s < aspace::kScheduleCount; ++s) {
    const Schedule sched = static_cast<Schedule>(s);
    for (usize i = 0; i < tp.lab_processes_count; ++i) {
      if (!keep_p(i)) continue;
      const u32 p = tp.lab_processes[i];
      b.add(Policy::kNopcid, 0, sched, p, kk, false);
      for (usize j = 0; j < tp.lab_slots_count; ++j)
        if (keep_slots(j)) b.add(Policy::kLinux, tp.lab_slots[j], sched, p, kk, false);
      b.add(Policy::kPerProcess, 0, sched, p, kk, false);
      b.add(Policy::kDeferred, aspace::kLinuxSlots, sched, p, kk, false);
    }
  }
  bool main_has_linux6 = false;
  for (usize j = 0; j < tp.lab_slots_count; ++j)
    main_has_linux6 = main_has_linux6 || tp.lab_slots[j] == aspace::kLinuxSlots;
  constexpr Policy kFootprint[] = {Policy::kNopcid, Policy::kLinux};
  for (Policy pol : kFootprint) {
    const u32 slots = pol == Policy::kLinux ? aspace::kLinuxSlots : 0;
    for (usize i = 0; i < tp.lab_footprint_count; ++i) {
      for (u32 g = 0; g < 2; ++g) {
        const bool global = g == 1;
        const u32 f = tp.lab_footprint[i];
        const bool in_main = pol == Policy::kNopcid || main_has_linux6;
        if (f == kk && !global && in_main) continue;  // the main matrix's row
        b.add(pol, slots, Schedule::kRoundRobin, largest, f, global);
      }
    }
  }
  // The INVPCID-less kernel flushes on a CPU that has INVPCID (the row needs it: elsewhere the
  // main rows already take that path), beside the main rows that use it: round-robin, the
  // largest P, the main Kk, for each PCID policy.
  b.add(Policy::kLinux, aspace::kLinuxSlots, Schedule::kRoundRobin, largest, kk, false, true);
  b.add(Policy::kPerProcess, 0, Schedule::kRoundRobin, largest, kk, false, true);
  b.add(Policy::kDeferred, aspace::kLinuxSlots, Schedule::kRoundRobin, largest, kk, false, true);
  return b.n;
}

}  // namespace ptb::bench
