// The performance-monitoring unit: what CPUID says it has, how its MSRs are encoded, which events
// measure what on which CPU family, and the plan of counters a run programs. Pure: the decoder
// takes the CPUID function as a parameter and everything else is arithmetic, so the host tests
// check the encodings and the plans against recorded CPUs. Programming and reading the counters is
// bench/counters.cpp.
//
// Intel: SDM Vol.3B ch. 20 (architectural performance monitoring, CPUID 0AH, the fixed counters,
// IA32_PERF_GLOBAL_CTRL) and the perfmon event lists for the model-specific TLB events.
// AMD: APM Vol.2 13.2 (PerfEvtSel/PerfCtr, the core extension of CPUID 8000_0001H:ECX[23],
// PerfMonV2 of CPUID 8000_0022H) and the PPRs' event lists.
#pragma once

#include "arch/x86/cpu_features.h"
#include "lib/types.h"

namespace ptb::x86::pmu {

// ---- MSRs -----------------------------------------------------------------------------------
inline constexpr u32 kIa32Pmc0 = 0xc1;                      // general counter i: 0xC1 + i
inline constexpr u32 kIa32PerfEvtSel0 = 0x186;              // its event select: 0x186 + i
inline constexpr u32 kIa32FixedCtr0 = 0x309;                // fixed counter i: 0x309 + i
inline constexpr u32 kIa32FixedCtrCtrl = 0x38d;             // 4 bits per fixed counter
inline constexpr u32 kIa32PerfGlobalCtrl = 0x38f;           // GP enables in 0..n-1, fixed in 32..34
inline constexpr u32 kIa32Mperf = 0xe7, kIa32Aperf = 0xe8;  // CPUID.06H:ECX[0]
inline constexpr u32 kMsrSmiCount = 0x34;  // Intel, from Nehalem on: SMIs since reset (32 bits)
inline constexpr u32 kAmdPerfEvtSelLegacy = 0xc0010000, kAmdPerfCtrLegacy = 0xc0010004;  // +i, 4
inline constexpr u32 kAmdPerfEvtSelCore = 0xc0010200, kAmdPerfCtrCore = 0xc0010201;      // +2i, 6
inline constexpr u32 kAmdPerfCntrGlobalCtl = 0xc0000301;  // PerfMonV2: one enable bit per counter

inline constexpr u32 kMaxCounters = 8;            // fields a result can carry (fixed + general)
inline constexpr u32 kRdpmcFixed = u32{1} << 30;  // RDPMC ECX for fixed counter i: bit 30 | i

// ---- what the CPU has (CPUID) ---------------------------------------------------------------
struct Caps {
  Vendor vendor = Vendor::kOther;
  u32 family = 0, model = 0;
  u32 version = 0;      // Intel CPUID.0AH:EAX[7:0]; AMD: 2 with PerfMonV2, 1 with counters, 0
  u32 gp_count = 0;     // general-purpose counters per logical CPU
  u32 gp_width = 0;     // their width in bits
  u32 fixed_count = 0;  // Intel fixed counters (version >= 2)
  u32 fixed_width = 0;
  u32 unavailable = 0;        // Intel CPUID.0AH:EBX: bit set = architectural event NOT available
  u32 events_len = 0;         // ... of CPUID.0AH:EAX[31:24] bits
  bool amd_core_ext = false;  // CPUID 8000_0001H:ECX[23]: six counters at 0xC0010200
  bool aperf_mperf = false;   // CPUID.06H:ECX[0]
  u32 core_type = 0;          // Intel hybrid: CPUID.1AH:EAX[31:24] (0x20 Atom, 0x40 Core)
};
Caps decode_caps(CpuidFn cpuid, const CpuInfo& cpu);

// ---- event encodings ------------------------------------------------------------------------
struct EventCode {
  u16 event = 0;  // Intel 8 bits; AMD 12 bits (EventSelect[11:8] goes to PerfEvtSel[35:32])
  u8 umask = 0;
  u8 cmask = 0;
};

// IA32_PERFEVTSELx (SDM Vol.3B 20.2.1.1): event 7:0, umask 15:8, USR 16, OS 17, EN 22, CMASK 31:24.
constexpr u64 intel_evtsel(EventCode e) {
  return u64{static_cast<u8>(e.event)} | u64{e.umask} << 8 | u64{1} << 16 | u64{1} << 17 |
         u64{1} << 22 | u64{e.cmask} << 24;
}
// AMD PerfEvtSel (APM Vol.2 13.2.1): the same low bits, EventSelect[11:8] at 35:32; Host/Guest-only
// (41/40) left clear: count in both.
constexpr u64 amd_evtsel(EventCode e) {
  return u64{e.event & 0xffu} | u64{e.umask} << 8 | u64{1} << 16 | u64{1} << 17 | u64{1} << 22 |
         u64{e.cmask} << 24 | u64{(e.event >> 8) & 0xfu} << 32;
}
// IA32_FIXED_CTR_CTRL: 4 bits per counter; bit 0 counts in ring 0, bit 1 in rings 1-3; no PMI.
constexpr u64 fixed_ctrl(u32 counters) {
  u64 v = 0;
  for (u32 i = 0; i < counters; ++i) v |= u64{0x3} << (4 * i);
  return v;
}
// IA32_PERF_GLOBAL_CTRL with `gp` general and `fixed` fixed counters enabled.
// Bits 0..n-1: the enables of the first n general counters (Intel's global control, AMD's
// PerfCntrGlobalCtl alike).
constexpr u64 gp_mask(u32 n) { return n >= 64 ? ~u64{0} : (u64{1} << n) - 1; }
constexpr u64 intel_global_ctrl(u32 gp, u32 fixed) { return gp_mask(gp) | gp_mask(fixed) << 32; }

// ---- the plan -------------------------------------------------------------------------------
enum class Slot : u8 { kFixed, kGeneral };

// One counter a run reads: the result field it feeds, the vendor's event name, where it counts.
struct Counter {
  const char* field = nullptr;  // "cycles", "ref_cycles", "inst_retired", "dtlb_walks", ...
  char raw[8] = {};             // ... or, for a raw event of pmu=, its name there ("r0e08")
  const char* event = "";       // the vendor's name: "INST_RETIRED.ANY", "LsL1DTlbMiss.L2Miss", ...
  Slot slot = Slot::kFixed;
  u32 index = 0;    // fixed or general counter number
  u64 evtsel = 0;   // the event-select value (general counters)
  u32 ctl_msr = 0;  // its event-select MSR (general counters)
  u32 ctr_msr = 0;  // the counter's MSR
  u32 rdpmc = 0;    // RDPMC's ECX for it
  u32 width = 0;    // bits: deltas are taken modulo 2^width

  const char* name() const { return field ? field : raw; }
};

// Why a field the run would have liked is absent.
struct Missing {
  char field[16] = {};  // the result field, or the pmu= entry that named nothing
  const char* reason = "";
};

enum class Mode : u8 { kOff, kAuto, kList };

// pmu=off|auto|<list>: the list names result fields ("cycles,dtlb_walks") or raw events as
// perf spells them, r<umask><event> in hex ("r0e08": umask 0x0E, event 0x08).
struct Request {
  Mode mode = Mode::kAuto;
  const char* list = nullptr;
  usize len = 0;
};

inline constexpr u32 kMaxMissing = 8, kMaxRaw = 4;
struct Plan {
  Counter counters[kMaxCounters];
  u32 count = 0;
  Missing missing[kMaxMissing];
  u32 missing_count = 0;
  const char* table = "";   // the model-specific event table used ("skylake", "zen3", ...), or ""
  const char* reason = "";  // no counters at all: why
  u32 fixed_used = 0, gp_used = 0;  // how many of each the plan programs
  bool amd_global = false;          // PerfMonV2: PerfCntrGlobalCtl must enable them
};

// Plans the counters for this CPU and request: the fixed counters (instructions retired, core
// cycles, reference cycles; on AMD retired instructions and cycles not in halt on general
// counters), then the family's TLB events as far as general counters remain. Pure.
Plan plan(const Caps& caps, const Request& req);

// Records why `field` is absent (at most kMaxMissing; the first `len` characters of it).
void add_missing(Plan& p, const char* field, const char* reason, usize len = ~usize{0});
// Takes the counter feeding `field` out of the plan (the rest keep their order) and records why;
// false when the plan has none. The counters it programmed keep their slots.
bool drop_counter(Plan& p, const char* field, const char* reason);

// The model-specific TLB events of a CPU, or nullptr when the table lacks its family (then only
// the architectural events are counted, and the plan says so).
struct TlbEvent {
  const char* field;
  const char* event;
  EventCode code;
};
struct EventTable {
  const char* name;  // "skylake"
  const TlbEvent* events;
  u32 count;
};
const EventTable* tlb_events(const Caps& caps);

// The counter's increase from `before` to `after`, modulo its width (it may have wrapped once).
constexpr u64 counter_delta(u64 before, u64 after, u32 width) {
  const u64 mask = width >= 64 ? ~u64{0} : (u64{1} << width) - 1;
  return (after - before) & mask;
}

}  // namespace ptb::x86::pmu
