// The table of benchmark variants: one row per variant or per generated family. Adding a variant
// is adding a row (docs/benchmarks.md, "Adding a variant"). Pure: the host tests build the same
// table against fakes of the assembly symbols.
#include "arch/x86/layout.h"
#include "arch/x86/regs.h"
#include "bench/probe.h"
#include "bench/row.h"
#include "bench/symbols.h"

namespace ptb::bench {
namespace {

using x86::Cr3;
using x86::EntryScheme;
using x86::Feature;
using x86::Pcid;

constexpr Pcid kKernelPcid = x86::kernel_pcid(x86::Asid{0});  // 1, as Linux's first ASID slot
constexpr u64 kInvpcid = need(Feature::kInvpcid);
constexpr u64 kPge = need(Feature::kPge);

// ---- register setups: what each ring-0 body's registers hold -----------------------------
void set_cr3_nopcid(JitContext& r, const Fixture& f) { r.rax = f.kernel_cr3; }
void set_cr3_pcid_flush(JitContext& r, const Fixture& f) {
  r.rax = Cr3{f.kernel_cr3}.with_pcid(kKernelPcid).raw;
}
void set_cr3_pcid_noflush(JitContext& r, const Fixture& f) {
  r.rax = Cr3{f.kernel_cr3}.with_pcid(kKernelPcid).with_noflush(true).raw;
}
// The PTI pair: "user" root = kernel root + 4 KiB, user PCID = kernel PCID | 2048.
void set_switch_nopcid(JitContext& r, const Fixture& f) {
  r.rax = Cr3::root(f.pair_root).user_half().with_pcid(Pcid{0}).raw;
  r.rbx = Cr3::root(f.pair_root).raw;
}
void set_switch_pcid_flush(JitContext& r, const Fixture& f) {
  Cr3 k = Cr3::root(f.pair_root).with_pcid(kKernelPcid);
  r.rax = k.user_half().raw;
  r.rbx = k.raw;
}
void set_switch_pcid_noflush(JitContext& r, const Fixture& f) {
  Cr3 k = Cr3::root(f.pair_root).with_pcid(kKernelPcid).with_noflush(true);
  r.rax = k.user_half().raw;
  r.rbx = k.raw;
}

// INVPCID descriptors (SDM Vol.2 INVPCID): 16 bytes, 16-aligned to be safe.
alignas(16) u64 desc_addr[2];
alignas(16) u64 desc_pcid[2];
void set_invpcid(JitContext& r, u64 type, u64* desc, u64 addr) {
  desc[0] = kKernelPcid.value;
  desc[1] = addr;
  r.rax = type;
  r.rdx = reinterpret_cast<u64>(desc);
}
void set_invpcid_addr(JitContext& r, const Fixture& f) {
  set_invpcid(r, 0, desc_addr, f.mapped_page);
}
void set_invpcid_single(JitContext& r, const Fixture&) { set_invpcid(r, 1, desc_pcid, 0); }
void set_invpcid_allnonglobal(JitContext& r, const Fixture&) { set_invpcid(r, 3, desc_pcid, 0); }
void set_invpcid_all(JitContext& r, const Fixture&) { set_invpcid(r, 2, desc_pcid, 0); }
// The .pure twins: the descriptor in the fixture's global page, which the flush spares.
void set_invpcid_single_pure(JitContext& r, const Fixture& f) {
  set_invpcid(r, 1, reinterpret_cast<u64*>(f.global_data), 0);
}
void set_invpcid_allnonglobal_pure(JitContext& r, const Fixture& f) {
  set_invpcid(r, 3, reinterpret_cast<u64*>(f.global_data), 0);
}
void set_invlpg_mapped(JitContext& r, const Fixture& f) { r.rsi = f.mapped_page; }
void set_invlpg_unmapped(JitContext& r, const Fixture& f) { r.rsi = f.unmapped_page; }
void set_cr4_toggle(JitContext& r, const Fixture& f) {
  r.rax = f.cr4 & ~x86::Cr4::kPge;
  r.rbx = f.cr4 | x86::Cr4::kPge;
}

// ---- instruction counts of the ring-3 paths (bench/entries.asm, bench/user.asm) ----------
// Ring-3 `syscall` + kernel instructions up to and including SYSRET:
//  direct: swapgs, 2 stack moves, 2 pushes, xor, 2 pops, rsp, swapgs, sysret;
//  trampoline: 8 on entry + 3 in stage 2 + 5 on exit;
//  pti: + 3 on entry (mov/and/mov cr3) + 3 on exit (mov/or/mov cr3);
//  pti.pcid: + 4 on entry (bts for NOFLUSH) + 9 on exit (the lazy-flush test).
constexpr u32 kSyscallDirect = 1 + 11;
constexpr u32 kSyscallTrampoline = 1 + 16;
constexpr u32 kSyscallPti = 1 + 22;
constexpr u32 kSyscallPtiPcid = 1 + 29;
constexpr u32 kTouchBody = 2, kTouchPerPage = 4;  // body_syscall_touch: 2 moves, then 4 a page

// One-way crossings, every stamp the fenced TIMESTAMP (lfence, rdtsc, lfence, shl, or): in,
// ring 3's stamp from its rdtsc on (4), its `mov r12, rax`, the crossing instruction (none
// retires for the faulting store) and the kernel stamp's leading lfence; back, the kernel
// stamp from its rdtsc on (4), `mov r9, rax`, SYSRET or IRETQ and ring 3's leading lfence. The
// entry/exit work per scheme: nothing; SWAPGS and the 3-instruction CR3 switch in, the same out;
// with PCID, SWAPGS and the 4-instruction switch in, the 9-instruction lazy-flush switch and
// SWAPGS out.
constexpr u32 kCrossIn = 4 + 1 + 1, kCrossOut = 4 + 1 + 1 + 1;
struct CrossingWork {
  EntryScheme scheme;
  u32 in, out;
};
constexpr CrossingWork kCrossingWork[] = {
    {EntryScheme::kNone, 0, 0}, {EntryScheme::kPti, 4, 4}, {EntryScheme::kPcid, 5, 10}};

// Appends rows (RowSink, bench/row.h: what every row's environment implies, never past `cap`).
struct Builder : RowSink {
  // A PTI row as current Linux maps the kernel, then its ".415" twin as Linux 4.15 did:
  // the same path and count, nothing global (x86::pti_globals).
  void add_with_nonglobal_twin(Row r) {
    add(r);
    r.env.nonglobal = true;
    add(r);
  }
};

// A flush row and its ".pure" twin: the same body and count, run from a global alias of the JIT
// area (and with `pure_setup`'s registers, when its data must lie in a global page too), so the
// twin's figure is the instruction alone and the row's is the instruction plus its refills.
void add_with_pure_twin(Builder& b, Row row, Setup pure_setup = nullptr) {
  b.add(row);
  row.pure = true;
  row.features |= kPge;  // without global pages there is no twin to measure
  row.refills = kRefillNone;
  if (pure_setup) row.setup = pure_setup;
  b.add(row);
}

void ring0_rows(Builder& b) {
  constexpr Group kCr3 = Group::kCr3;
  constexpr Group kInv = Group::kInvpcid;
  const Env kPcidEnv{.pcid = true};
  // What each flush drops besides what it is named for (Row::refills): a CR3 write that flushes
  // the current PCID, a switch to a flushed PCID, INVPCID types 1-3 and the PGE toggle all drop
  // the loop's own code translation; INVPCID's also its descriptor's. Only the flushes that spare
  // global translations have a .pure twin: INVPCID type 2 and the PGE toggle drop globals too.
  constexpr u8 kCode = kRefillCode, kCodeDesc = kRefillCode | kRefillDescriptor;
  // clang-format off
  b.add({.group = kCr3, .label = "read",                                   .body = TEMPLATE_OF(body_cr3_read),                    .instructions = 1});
  add_with_pure_twin(b, {.group = kCr3, .label = "write.nopcid",                         .body = TEMPLATE_OF(body_cr3_write),   .setup = set_cr3_nopcid,         .refills = kCode, .instructions = 1});
  add_with_pure_twin(b, {.group = kCr3, .label = "write.pcid.flush",  .env = kPcidEnv,   .body = TEMPLATE_OF(body_cr3_write),   .setup = set_cr3_pcid_flush,     .refills = kCode, .instructions = 1});
  b.add({.group = kCr3, .label = "write.pcid.noflush",  .env = kPcidEnv,   .body = TEMPLATE_OF(body_cr3_write),   .setup = set_cr3_pcid_noflush,   .instructions = 1});
  add_with_pure_twin(b, {.group = kCr3, .label = "switch.nopcid",                        .body = TEMPLATE_OF(body_cr3_switch),  .ops_per_body = 2, .setup = set_switch_nopcid,       .refills = kCode, .instructions = 1});
  add_with_pure_twin(b, {.group = kCr3, .label = "switch.pcid.flush", .env = kPcidEnv,   .body = TEMPLATE_OF(body_cr3_switch),  .ops_per_body = 2, .setup = set_switch_pcid_flush,   .refills = kCode, .instructions = 1});
  b.add({.group = kCr3, .label = "switch.pcid.noflush", .env = kPcidEnv,   .body = TEMPLATE_OF(body_cr3_switch),  .ops_per_body = 2, .setup = set_switch_pcid_noflush, .instructions = 1});
  b.add({.group = kInv, .label = "addr",         .env = kPcidEnv, .features = kInvpcid, .body = TEMPLATE_OF(body_invpcid), .setup = set_invpcid_addr,         .instructions = 1});
  add_with_pure_twin(b, {.group = kInv, .label = "single",       .env = kPcidEnv, .features = kInvpcid, .body = TEMPLATE_OF(body_invpcid), .setup = set_invpcid_single,       .refills = kCodeDesc, .instructions = 1}, set_invpcid_single_pure);
  b.add({.group = kInv, .label = "all",          .env = kPcidEnv, .features = kInvpcid, .body = TEMPLATE_OF(body_invpcid), .setup = set_invpcid_all,          .refills = kCodeDesc, .instructions = 1});
  add_with_pure_twin(b, {.group = kInv, .label = "allnonglobal", .env = kPcidEnv, .features = kInvpcid, .body = TEMPLATE_OF(body_invpcid), .setup = set_invpcid_allnonglobal, .refills = kCodeDesc, .instructions = 1}, set_invpcid_allnonglobal_pure);
  b.add({.group = Group::kInvlpg, .label = "",         .body = TEMPLATE_OF(body_invlpg), .setup = set_invlpg_mapped,   .instructions = 1});
  b.add({.group = Group::kInvlpg, .label = "unmapped", .body = TEMPLATE_OF(body_invlpg), .setup = set_invlpg_unmapped, .instructions = 1});
  b.add({.group = Group::kCr4, .label = "read", .body = TEMPLATE_OF(body_cr4_read), .instructions = 1});
  b.add({.group = Group::kCr4, .label = "pge.toggle", .features = kPge, .body = TEMPLATE_OF(body_cr4_toggle), .setup = set_cr4_toggle, .refills = kCode, .instructions = 2});
  // clang-format on
}

void syscall_rows(Builder& b, const u32* touch, usize touch_count) {
  const Template sys = TEMPLATE_OF(body_syscall);
  // The null system call through each entry scheme (LSTAR at the scheme's entry).
  struct Entry {
    const char* label;
    EntryScheme scheme;
    const u8* lstar;
    u32 instructions;
  };
  const Entry entries[] = {
      {"bare", EntryScheme::kNone, syscall_entry_bare, 1 + 1},
      {"direct", EntryScheme::kNone, syscall_entry_direct, kSyscallDirect},
      {"trampoline", EntryScheme::kNone, syscall_entry_trampoline, kSyscallTrampoline},
      {"pti", EntryScheme::kPti, syscall_entry_pti, kSyscallPti},
      {"pti.pcid", EntryScheme::kPcid, syscall_entry_pti_pcid, kSyscallPtiPcid},
      {"pti.pcid.flush", EntryScheme::kPcidFlush, syscall_entry_pti_pcid_flush, kSyscallPti},
      {"pti.pcid.extra1", EntryScheme::kPcid, syscall_entry_pti_pcid_extra1, kSyscallPtiPcid + 1},
      {"pti.pcid.extra2", EntryScheme::kPcid, syscall_entry_pti_pcid_extra2, kSyscallPtiPcid + 2},
  };
  for (const Entry& e : entries) {
    const Row row{.group = Group::kSyscall,
                  .label = e.label,
                  .method = Method::kRing3Loop,
                  .env = {.scheme = e.scheme, .lstar = e.lstar},
                  .body = sys,
                  .instructions = e.instructions};
    // The two schemes as such get the 4.15 mapping beside; the variations on them do not.
    if (e.lstar == syscall_entry_pti || e.lstar == syscall_entry_pti_pcid) {
      b.add_with_nonglobal_twin(row);
    } else {
      b.add(row);
    }
  }
  // A system call and then K user pages touched: without PCID every return to ring 3 has
  // flushed them; with PCID and NOFLUSH they survive.
  const Entry touchers[] = {entries[1], entries[3], entries[4]};  // direct, pti, pti.pcid
  for (const Entry& e : touchers) {
    for (usize i = 0; i < touch_count; ++i) {
      b.add({.group = Group::kSyscall,
             .label = e.label,
             .touch = touch[i],
             .method = Method::kRing3Loop,
             .env = {.scheme = e.scheme, .lstar = e.lstar},
             .body = TEMPLATE_OF(body_syscall_touch),
             .instructions = e.instructions + kTouchBody + kTouchPerPage * touch[i]});
    }
  }
}

// Exceptions and software interrupts: PTI off (the round trip, and for #PF the skip and the error
// code), on (+ SWAPGS, RDX and RAX saved and restored, the 3-instruction CR3 switch each way: 12),
// and on with Linux's PCID scheme (the same, with the 4-instruction switch in and the
// 9-instruction one out: +7 more). The faulting store does not retire; INT3 and INT n do.
void exception_rows(Builder& b) {
  const EntryScheme kOff = EntryScheme::kNone, kPti = EntryScheme::kPti,
                    kPcidScheme = EntryScheme::kPcid;
  constexpr u8 kPf = 14, kBp = 3, kSoft = x86::kVectorSoft;
  const Template store = TEMPLATE_OF(body_store_fault), int3 = TEMPLATE_OF(body_int3),
                 soft = TEMPLATE_OF(body_int_soft);
  // clang-format off
  const struct { Group group; const char* label; EntryScheme scheme; u8 vector; const u8* stub; Template body; u32 instructions, faulting; } rows[] = {
      {Group::kFault, "pf",   kOff,        kPf,   exception_stub_pf,            store, 3,  1},
      {Group::kFault, "pf",   kPti,        kPf,   exception_stub_pf_pti,        store, 15, 1},
      {Group::kFault, "pf",   kPcidScheme, kPf,   exception_stub_pf_pti_pcid,   store, 22, 1},
      {Group::kTrap,  "int3", kOff,        kBp,   exception_stub_trap,          int3,  2,  0},
      {Group::kTrap,  "int3", kPti,        kBp,   exception_stub_trap_pti,      int3,  14, 0},
      {Group::kTrap,  "int3", kPcidScheme, kBp,   exception_stub_trap_pti_pcid, int3,  21, 0},
      {Group::kInt,   "soft", kOff,        kSoft, exception_stub_trap,          soft,  2,  0},
      {Group::kInt,   "soft", kPti,        kSoft, exception_stub_trap_pti,      soft,  14, 0},
      {Group::kInt,   "soft", kPcidScheme, kSoft, exception_stub_trap_pti_pcid, soft,  21, 0},
  };
  // clang-format on
  for (const auto& r : rows) {
    const Row row{.group = r.group,
                  .label = r.label,
                  .scheme_suffix = true,
                  .method = Method::kRing3Loop,
                  .env = {.scheme = r.scheme, .vector = r.vector, .gate = r.stub},
                  .body = r.body,
                  .instructions = r.instructions,
                  .faulting = r.faulting};
    if (r.scheme == kOff) {
      b.add(row);
    } else {
      b.add_with_nonglobal_twin(row);
    }
  }
}

// The crossings' counter passes, per kind (as crossing_rows lists them) and scheme (as
// kCrossingWork): the driver and stub with counter stamps, by RDPMC and by the test-only fake.
#define PTB_COUNTER_CODE(driver, stub)                                       \
  {                                                                          \
    {TEMPLATE_OF(crossing_driver_pmc_##driver), crossing_stub_pmc_##stub}, { \
      TEMPLATE_OF(crossing_driver_fake_##driver), crossing_stub_fake_##stub  \
    }                                                                        \
  }
#define PTB_COUNTER_CODES(driver, stub)                                   \
  {                                                                       \
    PTB_COUNTER_CODE(driver, stub), PTB_COUNTER_CODE(driver, stub##_pti), \
        PTB_COUNTER_CODE(driver, stub##_pti_pcid)                         \
  }
constinit const CounterPassCode kCounterCode[4][3][kCounterPassSources] = {
    PTB_COUNTER_CODES(syscall, syscall), PTB_COUNTER_CODES(pf, pf), PTB_COUNTER_CODES(int3, trap),
    PTB_COUNTER_CODES(int, trap)};
#undef PTB_COUNTER_CODES
#undef PTB_COUNTER_CODE

// One-way crossings: for each kind and scheme, u2k and k2u from the same driver run.
void crossing_rows(Builder& b) {
  struct Kind {
    Cross cross;
    u8 vector;  // 0: SYSCALL (the stub is LSTAR)
    Template driver;
    const u8* stub[3];  // per kCrossingWork scheme
    u32 crossing_insn;  // the crossing instruction, when it retires
  };
  const Kind kinds[] = {
      {Cross::kSyscall,
       0,
       TEMPLATE_OF(crossing_driver_syscall),
       {crossing_stub_syscall, crossing_stub_syscall_pti, crossing_stub_syscall_pti_pcid},
       1},
      {Cross::kPf,
       14,
       TEMPLATE_OF(crossing_driver_pf),
       {crossing_stub_pf, crossing_stub_pf_pti, crossing_stub_pf_pti_pcid},
       0},
      {Cross::kInt3,
       3,
       TEMPLATE_OF(crossing_driver_int3),
       {crossing_stub_trap, crossing_stub_trap_pti, crossing_stub_trap_pti_pcid},
       1},
      {Cross::kInt,
       x86::kVectorSoft,
       TEMPLATE_OF(crossing_driver_int),
       {crossing_stub_trap, crossing_stub_trap_pti, crossing_stub_trap_pti_pcid},
       1},
  };
  static_assert(sizeof(kinds) / sizeof(kinds[0]) == sizeof(kCounterCode) / sizeof(kCounterCode[0]));
  for (usize ki = 0; ki < sizeof(kinds) / sizeof(kinds[0]); ++ki) {
    const Kind& k = kinds[ki];
    for (usize m = 0; m < 3; ++m) {
      const CrossingWork& w = kCrossingWork[m];
      Env env{.scheme = w.scheme};
      if (k.vector == 0) {
        env.lstar = k.stub[m];
      } else {
        env.vector = k.vector;
        env.gate = k.stub[m];
      }
      constexpr Direction kDirections[] = {Direction::kU2k, Direction::kK2u};
      constexpr bool kNonglobal[] = {false, true};
      for (bool nonglobal : kNonglobal) {
        if (nonglobal && w.scheme == EntryScheme::kNone) continue;  // no PTI: nothing to map
        env.nonglobal = nonglobal;
        for (Direction d : kDirections) {
          const bool u2k = d == Direction::kU2k;
          b.add({.group = Group::kCrossing,
                 .label = cross_name(k.cross),
                 .scheme_suffix = true,
                 .cross = k.cross,
                 .direction = d,
                 .method = Method::kCrossing,
                 .env = env,
                 .body = k.driver,
                 .counter_code = kCounterCode[ki][m],
                 .instructions = u2k ? kCrossIn + k.crossing_insn + w.in : kCrossOut + w.out,
                 .faulting = (k.cross == Cross::kPf && u2k) ? 1u : 0u});
        }
      }
    }
  }
}

// The TLB refill curves: K = 1, 2, 4, ... and refill_max itself when it is no power of two, for
// each flush, non-global and global, with independent loads ("refill") and a pointer chase
// ("chase").
void refill_rows(Builder& b, u32 refill_max, bool quick) {
  constexpr Flush kFlushes[] = {Flush::kNone, Flush::kCr3, Flush::kCr3Noflush,
                                Flush::kInvpcidSingle, Flush::kInvlpg};
  constexpr bool kGlobal[] = {false, true};
  constexpr Access kAccesses[] = {Access::kIndependent, Access::kChase};
  for (Access access : kAccesses) {
    for (bool global : kGlobal) {
      for (Flush f : kFlushes) {
        for (u32 k = 1; k <= refill_max;
             k = (k == refill_max ? k + 1 : (2 * k < refill_max ? 2 * k : refill_max))) {
          if (quick && !(k == 1 || k == 16 || k == 256 || k == refill_max)) continue;
          u64 features = global ? kPge : 0;
          if (f == Flush::kInvpcidSingle) features |= kInvpcid;
          b.add({.group = Group::kTlb,
                 .label = access == Access::kChase ? "chase" : "refill",
                 .flush = f,
                 .global = global,
                 .pages = k,
                 .access = access,
                 .method = Method::kRefill,
                 .env = {.pcid = f == Flush::kCr3Noflush || f == Flush::kInvpcidSingle},
                 .features = features,
                 .instructions = 0});  // the same instructions run with and without the flush
        }
      }
    }
  }
}

// The TLB semantics probes: one row per probe, named after it; nothing is timed.
void probe_rows(Builder& b) {
  usize n = 0;
  const ProbeSpec* specs = probe_specs(&n);
  for (usize i = 0; i < n; ++i) {
    b.add({.group = Group::kProbe,
           .label = specs[i].label,
           .probe = static_cast<u8>(i),
           .method = Method::kProbe,
           .env = {.pcid = specs[i].pcid},
           .features = specs[i].features});
  }
}

// The IPI round-trip matrix: every ordered pair of the first CPUs, by interrupt and by polling.
void ipi_rows(Builder& b, u32 cpus) {
  const u32 n = cpus < 2 ? 2 : cpus > kIpiMatrixMax ? kIpiMatrixMax : cpus;
  constexpr Method kMethods[] = {Method::kIpiFixed, Method::kIpiPoll};
  for (Method m : kMethods) {
    for (u32 s = 0; s < n; ++s) {
      for (u32 t = 0; t < n; ++t) {
        if (s == t) continue;
        b.add({.group = Group::kIpi,
               .label = m == Method::kIpiFixed ? "fixed" : "poll",
               .source = static_cast<u8>(s),
               .target = static_cast<u8>(t),
               .method = m});
      }
    }
  }
}

// The shootdowns: CPU 0 against T = 1 ... CPUs - 1 targets, n pages, per scheme; INVLPGB's
// kernel form runs against every other CPU used (no T in its name). One CPU still gets T = 1
// (which skips).
void shootdown_rows(Builder& b, u32 cpus, const u32* pages, usize page_count) {
  if (page_count > kMaxShootdownPageCounts) page_count = kMaxShootdownPageCounts;
  const u32 most = cpus < 2 ? 1 : cpus > kIpiMatrixMax ? kIpiMatrixMax - 1 : cpus - 1;
  for (ShootScheme s : kTargetedShootSchemes) {
    for (u32 t = 1; t <= most; ++t) {
      for (usize i = 0; i < page_count; ++i) {
        const u32 n = pages[i];
        b.add({.group = Group::kShootdown,
               .label = shoot_scheme_name(s),
               .pages = n,
               .shoot = s,
               .targets = static_cast<u8>(t),
               .method = Method::kShootdown,
               .env = {.pcid = targets_pcid(s)}});
      }
    }
  }
  for (usize i = 0; i < page_count; ++i) {
    const u32 n = pages[i];
    b.add({.group = Group::kShootdown,
           .label = shoot_scheme_name(ShootScheme::kInvlpgb),
           .pages = n,
           .shoot = ShootScheme::kInvlpgb,
           .method = Method::kShootdown});
  }
}

}  // namespace

usize build_table(Row* out, usize cap, const TableParams& tp) {
  Builder b{{out, cap}};
  ring0_rows(b);
  syscall_rows(b, tp.touch, tp.touch_count);
  exception_rows(b);
  crossing_rows(b);
  refill_rows(b, tp.refill_max, tp.quick);
  probe_rows(b);
  b.n += aspace_rows(b.out + b.n, b.cap - b.n, tp);
  ipi_rows(b, tp.cpus);
  shootdown_rows(b, tp.cpus, tp.shootdown_pages, tp.shootdown_page_count);
  return b.n;
}

}  // namespace ptb::bench
