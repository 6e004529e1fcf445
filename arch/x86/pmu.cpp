#include "arch/x86/pmu.h"

#include "lib/format.h"

namespace ptb::x86::pmu {
namespace {

bool bit(u32 v, unsigned n) { return (v >> n) & 1; }

// ---- the architectural events ---------------------------------------------------------------
// Intel fixed counters 0-2 (SDM Vol.3B 20.2.2) and the same events on general counters for CPUs
// with fewer fixed counters (CPUID.0AH:EBX bit i: event i not available). AMD has no fixed
// counters: retired instructions and cycles not in halt on general counters (APM Vol.2 13.2.1,
// the PPRs' Core::X86::Pmc::Core events), and no reference-cycle event at all.
struct ArchEvent {
  const char* field;
  const char* intel_name;
  EventCode intel;  // the general-counter form
  u32 ebx_bit;      // CPUID.0AH:EBX
  const char* amd_name;
  EventCode amd;
};
constexpr ArchEvent kArch[] = {
    {"inst_retired", "INST_RETIRED.ANY", {0xc0, 0x00, 0}, 1, "ExRetInstr", {0xc0, 0x00, 0}},
    {"cycles", "CPU_CLK_UNHALTED.THREAD", {0x3c, 0x00, 0}, 0, "LsNotHaltedCyc", {0x76, 0x00, 0}},
    {"ref_cycles", "CPU_CLK_UNHALTED.REF_TSC", {0x3c, 0x01, 0}, 2, nullptr, {}},
};
constexpr u32 kArchCount = sizeof(kArch) / sizeof(kArch[0]);

// ---- the model-specific TLB events ----------------------------------------------------------
// Intel: the perfmon event lists (github.com/intel/perfmon, <uarch>/events/*_core.json; the models
// from its mapfile.csv): completed page walks of loads and of instruction fetches, and loads that
// missed the first-level DTLB but hit the STLB. Umask 0x0E is every page size (4K, 2M/4M, 1G).
// AMD: Linux's tools/perf/pmu-events/arch/x86/amdzen{1..5} (from the PPRs): L1 DTLB misses that
// missed the L2 DTLB (data page walks), L1 ITLB misses that missed the L2 ITLB (instruction page
// walks), and L1 DTLB misses that hit the L2 DTLB.
constexpr TlbEvent kSandyBridge[] = {
    {"dtlb_walks", "DTLB_LOAD_MISSES.WALK_COMPLETED", {0x08, 0x02, 0}},
    {"itlb_walks", "ITLB_MISSES.WALK_COMPLETED", {0x85, 0x02, 0}},
    {"stlb_hits", "DTLB_LOAD_MISSES.STLB_HIT", {0x08, 0x10, 0}},
};
constexpr TlbEvent kIvyBridge[] = {
    // bit 7 in the load-walk umask; STLB_HIT moved to 5FH
    {"dtlb_walks", "DTLB_LOAD_MISSES.WALK_COMPLETED", {0x08, 0x82, 0}},
    {"itlb_walks", "ITLB_MISSES.WALK_COMPLETED", {0x85, 0x02, 0}},
    {"stlb_hits", "DTLB_LOAD_MISSES.STLB_HIT", {0x5f, 0x04, 0}},
};
constexpr TlbEvent kHaswell[] = {
    // also Broadwell; STLB_HIT is 4K (0x20) + 2M (0x40)
    {"dtlb_walks", "DTLB_LOAD_MISSES.WALK_COMPLETED", {0x08, 0x0e, 0}},
    {"itlb_walks", "ITLB_MISSES.WALK_COMPLETED", {0x85, 0x0e, 0}},
    {"stlb_hits", "DTLB_LOAD_MISSES.STLB_HIT", {0x08, 0x60, 0}},
};
constexpr TlbEvent kSkylake[] = {
    // Skylake to Tiger Lake, Ice Lake and Cascade Lake included
    {"dtlb_walks", "DTLB_LOAD_MISSES.WALK_COMPLETED", {0x08, 0x0e, 0}},
    {"itlb_walks", "ITLB_MISSES.WALK_COMPLETED", {0x85, 0x0e, 0}},
    {"stlb_hits", "DTLB_LOAD_MISSES.STLB_HIT", {0x08, 0x20, 0}},
};
constexpr TlbEvent kGoldenCove[] = {
    // Alder/Raptor/Meteor Lake P-cores, Sapphire Rapids on
    {"dtlb_walks", "DTLB_LOAD_MISSES.WALK_COMPLETED", {0x12, 0x0e, 0}},
    {"itlb_walks", "ITLB_MISSES.WALK_COMPLETED", {0x11, 0x0e, 0}},
    {"stlb_hits", "DTLB_LOAD_MISSES.STLB_HIT", {0x12, 0x20, 0}},
};
constexpr TlbEvent kGracemont[] = {
    // hybrid E-cores: no STLB-hit event is listed
    {"dtlb_walks", "DTLB_LOAD_MISSES.WALK_COMPLETED", {0x08, 0x0e, 0}},
    {"itlb_walks", "ITLB_MISSES.WALK_COMPLETED", {0x85, 0x0e, 0}},
};
constexpr TlbEvent kZen[] = {
    // Zen 1-3 (families 17h, 19h models 00-0F and 20-5F)
    {"dtlb_walks", "LsL1DTlbMiss.AllL2Miss", {0x45, 0xf0, 0}},
    {"itlb_walks", "BpL1TlbMissL2TlbMiss", {0x85, 0x07, 0}},
    {"stlb_hits", "LsL1DTlbMiss.AllL2Hit", {0x45, 0x0f, 0}},
};
constexpr TlbEvent kZen4[] = {
    // Zen 4 and 5: the ITLB-walk umask gains coalesced pages (0x08)
    {"dtlb_walks", "LsL1DTlbMiss.AllL2Miss", {0x45, 0xf0, 0}},
    {"itlb_walks", "BpL1TlbMissL2TlbMiss", {0x85, 0x0f, 0}},
    {"stlb_hits", "LsL1DTlbMiss.AllL2Hit", {0x45, 0x0f, 0}},
};

template <usize N>
constexpr EventTable table_of(const char* name, const TlbEvent (&e)[N]) {
  return {name, e, static_cast<u32>(N)};
}
constexpr EventTable kTables[] = {
    table_of("sandybridge", kSandyBridge),
    table_of("ivybridge", kIvyBridge),
    table_of("haswell", kHaswell),
    table_of("skylake", kSkylake),
    table_of("goldencove", kGoldenCove),
    table_of("gracemont", kGracemont),
    table_of("zen", kZen),
    table_of("zen4", kZen4),
};
enum TableIndex : u32 { kSnb, kIvb, kHsw, kSkl, kGlc, kGrt, kZen1to3, kZen4on };

// Intel family 6 display models (intel/perfmon mapfile.csv; Linux's intel-family.h).
struct ModelTable {
  u32 model;
  TableIndex table;
};
constexpr ModelTable kIntelModels[] = {
    {0x2a, kSnb}, {0x2d, kSnb},                                            // Sandy Bridge, -EP
    {0x3a, kIvb}, {0x3e, kIvb},                                            // Ivy Bridge, -EP
    {0x3c, kHsw}, {0x3f, kHsw}, {0x45, kHsw}, {0x46, kHsw},                // Haswell
    {0x3d, kHsw}, {0x47, kHsw}, {0x4f, kHsw}, {0x56, kHsw},                // Broadwell
    {0x4e, kSkl}, {0x5e, kSkl}, {0x55, kSkl}, {0x8e, kSkl}, {0x9e, kSkl},  // Skylake to Coffee
    {0xa5, kSkl}, {0xa6, kSkl},                                            // Comet Lake
    {0x7d, kSkl}, {0x7e, kSkl}, {0x6a, kSkl}, {0x6c, kSkl}, {0xa7, kSkl},  // Ice, Rocket Lake
    {0x8c, kSkl}, {0x8d, kSkl},                                            // Tiger Lake
    {0x97, kGlc}, {0x9a, kGlc}, {0xb7, kGlc}, {0xba, kGlc}, {0xbf, kGlc},  // Alder, Raptor Lake
    {0xaa, kGlc}, {0xac, kGlc},                                            // Meteor Lake
    {0x8f, kGlc}, {0xcf, kGlc}, {0xad, kGlc}, {0xae, kGlc},                // SPR, EMR, GNR
    {0xbe, kGrt},                                                          // Alder Lake-N
};
// The hybrid models, whose cores differ: CPUID.1AH:EAX[31:24] says which kind this one is.
constexpr u32 kHybridModels[] = {0x97, 0x9a, 0xb7, 0xba, 0xbf, 0xaa, 0xac};
constexpr u32 kCoreTypeAtom = 0x20;

// r<umask><event> in hex, perf's raw form: "r0e08" is umask 0x0E, event 0x08. At most four
// digits: AMD's 12-bit event numbers cannot be given raw.
bool parse_raw(const char* s, usize len, EventCode& out) {
  if (len < 2 || len > 5 || s[0] != 'r') return false;
  u32 v = 0;
  for (usize i = 1; i < len; ++i) {
    const char c = s[i];
    u32 d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 16;
    if (d == 16) return false;
    v = v << 4 | d;
  }
  out = {static_cast<u16>(v & 0xff), static_cast<u8>(v >> 8), 0};
  return true;
}

struct Builder {
  const Caps& caps;
  Plan& p;

  bool amd() const { return caps.vendor == Vendor::kAmd; }

  void miss(const char* field, const char* reason, usize len = ~usize{0}) {
    add_missing(p, field, reason, len);
  }

  Counter* general(const char* field, const char* event, EventCode code) {
    if (p.count >= kMaxCounters || p.gp_used >= caps.gp_count) {
      miss(field ? field : "raw", "no general-purpose counter left");
      return nullptr;
    }
    Counter c;
    c.field = field;
    c.event = event;
    c.slot = Slot::kGeneral;
    c.index = c.rdpmc = p.gp_used;
    c.width = caps.gp_width;
    if (amd()) {
      c.evtsel = amd_evtsel(code);
      c.ctl_msr =
          caps.amd_core_ext ? kAmdPerfEvtSelCore + 2 * p.gp_used : kAmdPerfEvtSelLegacy + p.gp_used;
      c.ctr_msr =
          caps.amd_core_ext ? kAmdPerfCtrCore + 2 * p.gp_used : kAmdPerfCtrLegacy + p.gp_used;
    } else {
      c.evtsel = intel_evtsel(code);
      c.ctl_msr = kIa32PerfEvtSel0 + p.gp_used;
      c.ctr_msr = kIa32Pmc0 + p.gp_used;
    }
    ++p.gp_used;
    p.counters[p.count] = c;
    return &p.counters[p.count++];
  }

  void arch(u32 i) {
    const ArchEvent& e = kArch[i];
    if (amd()) {
      if (!e.amd_name) {
        miss(e.field,
             "AMD has no reference-cycle counter (aperf_mperf gives the core/reference "
             "ratio)");
        return;
      }
      general(e.field, e.amd_name, e.amd);
      return;
    }
    // Fixed counter i counts event i of kArch in the order the SDM numbers them:
    // 0 instructions retired, 1 core cycles, 2 reference cycles.
    if (i < caps.fixed_count && caps.version >= 2) {
      if (p.count >= kMaxCounters) return miss(e.field, "no counter left");
      Counter c;
      c.field = e.field;
      c.event = e.intel_name;
      c.index = i;
      c.ctr_msr = kIa32FixedCtr0 + i;
      c.rdpmc = kRdpmcFixed | i;
      c.width = caps.fixed_width;
      p.counters[p.count++] = c;
      if (i + 1 > p.fixed_used) p.fixed_used = i + 1;
      return;
    }
    if (e.ebx_bit < caps.events_len && bit(caps.unavailable, e.ebx_bit)) {
      miss(e.field, "CPUID.0AH:EBX says the CPU lacks this architectural event");
      return;
    }
    if (e.ebx_bit >= caps.events_len) {
      miss(e.field, "CPUID.0AH:EAX[31:24] does not list this architectural event");
      return;
    }
    general(e.field, e.intel_name, e.intel);
  }
};

}  // namespace

Caps decode_caps(CpuidFn cpuid, const CpuInfo& cpu) {
  Caps c;
  c.vendor = cpu.vendor_kind;
  c.family = cpu.family;
  c.model = cpu.model;
  if (cpu.max_leaf >= 6) c.aperf_mperf = bit(cpuid(6, 0).ecx, 0);
  if (cpu.max_leaf >= 0x1a) c.core_type = cpuid(0x1a, 0).eax >> 24;
  if (c.vendor == Vendor::kIntel && cpu.max_leaf >= 0xa) {
    const CpuidResult a = cpuid(0xa, 0);
    c.version = a.eax & 0xff;
    c.gp_count = (a.eax >> 8) & 0xff;
    c.gp_width = (a.eax >> 16) & 0xff;
    c.events_len = a.eax >> 24;
    c.unavailable = a.ebx;
    if (c.version >= 2) {
      c.fixed_count = a.edx & 0x1f;
      c.fixed_width = (a.edx >> 5) & 0xff;
    }
  } else if (c.vendor == Vendor::kAmd) {
    // Every AMD64 CPU has the four legacy counters (APM Vol.2 13.2); the core extension has six.
    c.version = 1;
    c.gp_count = 4;
    c.gp_width = 48;
    if (cpu.max_ext_leaf >= 0x80000001 && bit(cpuid(0x80000001, 0).ecx, 23)) {
      c.amd_core_ext = true;
      c.gp_count = 6;
    }
    if (cpu.max_ext_leaf >= 0x80000022) {
      const CpuidResult v2 = cpuid(0x80000022, 0);
      if (bit(v2.eax, 0)) {
        c.version = 2;
        c.gp_count = v2.ebx & 0xf;
      }
    }
  }
  if (c.gp_count > 8) c.gp_count = 8;        // IA32_PMC0..7 / the six AMD core counters are enough
  if (c.fixed_count > 3) c.fixed_count = 3;  // fixed counters 0-2 are the architectural ones
  return c;
}

void add_missing(Plan& p, const char* field, const char* reason, usize len) {
  if (p.missing_count >= kMaxMissing) return;
  Missing& m = p.missing[p.missing_count++];
  for (usize i = 0; i < len && field[i] && i + 1 < sizeof(m.field); ++i) m.field[i] = field[i];
  m.reason = reason;
}

bool drop_counter(Plan& p, const char* field, const char* reason) {
  for (u32 i = 0; i < p.count; ++i) {
    if (!p.counters[i].field || !str_eq(p.counters[i].field, field)) continue;
    for (u32 k = i; k + 1 < p.count; ++k) p.counters[k] = p.counters[k + 1];
    --p.count;
    add_missing(p, field, reason);
    return true;
  }
  return false;
}

const EventTable* tlb_events(const Caps& caps) {
  if (caps.vendor == Vendor::kIntel && caps.family == 6) {
    for (u32 m : kHybridModels)
      if (m == caps.model && caps.core_type == kCoreTypeAtom) return &kTables[kGrt];
    for (const ModelTable& m : kIntelModels)
      if (m.model == caps.model) return &kTables[m.table];
    return nullptr;
  }
  if (caps.vendor == Vendor::kAmd) {
    if (caps.family == 0x17) return &kTables[kZen1to3];
    const bool zen3 = caps.model <= 0x0f || (caps.model >= 0x20 && caps.model <= 0x5f);
    if (caps.family == 0x19) return &kTables[zen3 ? kZen1to3 : kZen4on];
    if (caps.family == 0x1a) return &kTables[kZen4on];
  }
  return nullptr;
}

Plan plan(const Caps& caps, const Request& req) {
  Plan p;
  if (req.mode == Mode::kOff) {
    p.reason = "pmu=off";
    return p;
  }
  if (caps.version == 0 || (caps.gp_count == 0 && caps.fixed_count == 0)) {
    p.reason = caps.vendor == Vendor::kIntel
                   ? "CPUID.0AH advertises no architectural performance monitoring"
               : caps.vendor == Vendor::kAmd ? "no AMD performance counters advertised"
                                             : "no performance counters known for this vendor";
    return p;
  }
  p.amd_global = caps.vendor == Vendor::kAmd && caps.version >= 2;
  Builder b{caps, p};
  const EventTable* table = tlb_events(caps);
  if (table) p.table = table->name;

  if (req.mode == Mode::kAuto) {
    for (u32 i = 0; i < kArchCount; ++i) b.arch(i);
    if (!table) {
      b.miss("tlb", "this CPU family is not in the TLB event table: fixed counters only");
    } else {
      for (u32 i = 0; i < table->count; ++i)
        b.general(table->events[i].field, table->events[i].event, table->events[i].code);
    }
    return p;
  }

  // An explicit list, in the order given.
  u32 raw = 0;
  usize start = 0;
  for (usize i = 0; i <= req.len; ++i) {
    if (i < req.len && req.list[i] != ',') continue;
    const char* name = req.list + start;
    const usize n = i - start;
    start = i + 1;
    if (n == 0) continue;
    bool done = false;
    for (u32 a = 0; a < kArchCount && !done; ++a) {
      if (str_eq(name, n, kArch[a].field)) {
        b.arch(a);
        done = true;
      }
    }
    for (u32 t = 0; table && t < table->count && !done; ++t) {
      if (str_eq(name, n, table->events[t].field)) {
        b.general(table->events[t].field, table->events[t].event, table->events[t].code);
        done = true;
      }
    }
    EventCode code;
    if (!done && raw < kMaxRaw && parse_raw(name, n, code)) {
      if (Counter* c = b.general(nullptr, "raw", code)) {
        for (usize k = 0; k < n && k + 1 < sizeof(c->raw); ++k) c->raw[k] = name[k];
      }
      ++raw;
      done = true;
    }
    if (!done) b.miss(name, "names no counter this CPU's table knows, nor a raw event", n);
  }
  if (p.count == 0 && !p.reason[0]) p.reason = "pmu= selected no counter this CPU has";
  return p;
}

}  // namespace ptb::x86::pmu
