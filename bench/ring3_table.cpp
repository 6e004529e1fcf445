// The ring-3 rows of the variant table: which entry path, body, stub and CPU state each one uses
// and how many instructions its measured path executes. Pure data (plus the addresses of the
// assembly it names), so the host tests check the table's integrity.
#include "bench/ring3_table.h"

#include "arch/x86/layout.h"
#include "lib/format.h"

#define ASM_SYMBOL(name) extern "C" const ptb::u8 name[]
#define TEMPLATE_SYMBOLS(name) \
  ASM_SYMBOL(name);            \
  ASM_SYMBOL(name##_end)
TEMPLATE_SYMBOLS(body_syscall);
TEMPLATE_SYMBOLS(body_store_fault);
TEMPLATE_SYMBOLS(body_int3);
TEMPLATE_SYMBOLS(body_int_soft);
TEMPLATE_SYMBOLS(body_syscall_touch);
ASM_SYMBOL(syscall_entry_direct);
ASM_SYMBOL(syscall_entry_trampoline);
ASM_SYMBOL(syscall_entry_pti);
ASM_SYMBOL(syscall_entry_pti_pcid);
ASM_SYMBOL(syscall_entry_pti_pcid_flush);
ASM_SYMBOL(syscall_entry_pti_pcid_extra1);
ASM_SYMBOL(syscall_entry_pti_pcid_extra2);
ASM_SYMBOL(exception_stub_pf);
ASM_SYMBOL(exception_stub_pf_pti);
ASM_SYMBOL(exception_stub_pf_pti_pcid);
ASM_SYMBOL(exception_stub_trap);
ASM_SYMBOL(exception_stub_trap_pti);
ASM_SYMBOL(exception_stub_trap_pti_pcid);
ASM_SYMBOL(crossing_stub_syscall);
ASM_SYMBOL(crossing_stub_syscall_pti);
ASM_SYMBOL(crossing_stub_syscall_pti_pcid);
ASM_SYMBOL(crossing_stub_pf);
ASM_SYMBOL(crossing_stub_pf_pti);
ASM_SYMBOL(crossing_stub_pf_pti_pcid);
ASM_SYMBOL(crossing_stub_trap);
ASM_SYMBOL(crossing_stub_trap_pti);
ASM_SYMBOL(crossing_stub_trap_pti_pcid);

namespace ptb::bench {
namespace {

using x86::Feature;
using Spec = Ring3Spec;

#define TEMPLATE_OF(sym) \
  Template { sym, sym##_end }

constexpr u32 kSyscallPath[] = {
    // ring-3 `syscall` + kernel instructions up to and including SYSRET (arch/x86/syscall.asm)
    1 + 11,  // direct: swapgs, 2 stack moves, 2 pushes, xor, 2 pops, rsp, swapgs, sysret
    1 + 16,  // trampoline: 8 entry + 3 stage 2 + 5 exit
    1 + 22,  // pti: + 3 on entry (mov/and/mov cr3) + 3 on exit (mov/or/mov cr3)
    1 + 29,  // pti.pcid: + 4 on entry (bts for NOFLUSH) + 9 on exit (the lazy-flush test)
    1 + 22,  // pti.pcid.flush: as pti
};

Spec specs[96];
usize spec_count = 0;
char spec_names[64][40];
usize name_count = 0;

const u64 kPcidFeatures = need(Feature::kPcid);

void add(const Spec& s) {
  if (spec_count < sizeof(specs) / sizeof(specs[0])) specs[spec_count++] = s;
}

const char* touch_name(const char* prefix, u32 k) {
  if (name_count >= sizeof(spec_names) / sizeof(spec_names[0])) return nullptr;
  TextBuf t(spec_names[name_count], sizeof(spec_names[0]));
  t.put(prefix).put(".touch.").put_u64(k);
  return spec_names[name_count++];
}

void build_specs(const u32* ks, usize nk) {
  spec_count = 0;
  name_count = 0;
  // One row per line, aligned like a table.
  // clang-format off
  const Template sys = TEMPLATE_OF(body_syscall);
  // name                      group            pti          LSTAR                          body instructions
  add({"syscall.direct",       Group::kSyscall, Pti::kOff,   syscall_entry_direct,          sys, kSyscallPath[0], 0, nullptr, Cross::kNone, false, 0});
  add({"syscall.trampoline",   Group::kSyscall, Pti::kOff,   syscall_entry_trampoline,      sys, kSyscallPath[1], 0, nullptr, Cross::kNone, false, 0});
  add({"syscall.pti",          Group::kSyscall, Pti::kPti,   syscall_entry_pti,             sys, kSyscallPath[2], 0, nullptr, Cross::kNone, false, 0});
  add({"syscall.pti.pcid",     Group::kSyscall, Pti::kPcid,  syscall_entry_pti_pcid,        sys, kSyscallPath[3], 0, nullptr, Cross::kNone, false, 0});
  add({"syscall.pti.pcid.flush", Group::kSyscall, Pti::kPcidFlush, syscall_entry_pti_pcid_flush, sys, kSyscallPath[4], 0, nullptr, Cross::kNone, false, 0});
  add({"syscall.pti.pcid.extra1", Group::kSyscall, Pti::kPcid, syscall_entry_pti_pcid_extra1, sys, kSyscallPath[3] + 1, 0, nullptr, Cross::kNone, false, 0});
  add({"syscall.pti.pcid.extra2", Group::kSyscall, Pti::kPcid, syscall_entry_pti_pcid_extra2, sys, kSyscallPath[3] + 2, 0, nullptr, Cross::kNone, false, 0});
  // clang-format on

  // A system call and then K user pages touched: without PCID every return to ring 3 has
  // flushed them; with PCID and NOFLUSH they survive.
  const Template touch = TEMPLATE_OF(body_syscall_touch);
  struct {
    const char* prefix;
    Pti pti;
    const u8* lstar;
    u32 path;
  } touchers[] = {{"syscall.direct", Pti::kOff, syscall_entry_direct, kSyscallPath[0]},
                  {"syscall.pti", Pti::kPti, syscall_entry_pti, kSyscallPath[2]},
                  {"syscall.pti.pcid", Pti::kPcid, syscall_entry_pti_pcid, kSyscallPath[3]}};
  for (const auto& t : touchers) {
    for (usize i = 0; i < nk; ++i) {
      // body: the system call path, 2 register moves, then 4 instructions a page
      const char* name = touch_name(t.prefix, ks[i]);
      if (name)
        add({name, Group::kSyscall, t.pti, t.lstar, touch, t.path + 2 + 4 * ks[i], 0, nullptr,
             Cross::kNone, false, ks[i]});
    }
  }

  // Exceptions and software interrupts, PTI off and on (without PCID). The faulting store does
  // not retire; INT3 and INT n do.
  // clang-format off
  add({"fault.pf",      Group::kFault, Pti::kOff, nullptr, TEMPLATE_OF(body_store_fault), 3, 14, exception_stub_pf, Cross::kNone, false, 0, 1});
  add({"fault.pf.pti",  Group::kFault, Pti::kPti, nullptr, TEMPLATE_OF(body_store_fault), 11, 14, exception_stub_pf_pti, Cross::kNone, false, 0, 1});
  add({"trap.int3",     Group::kTrap,  Pti::kOff, nullptr, TEMPLATE_OF(body_int3), 2, 3, exception_stub_trap, Cross::kNone, false, 0});
  add({"trap.int3.pti", Group::kTrap,  Pti::kPti, nullptr, TEMPLATE_OF(body_int3), 10, 3, exception_stub_trap_pti, Cross::kNone, false, 0});
  add({"int.soft",      Group::kInt,   Pti::kOff, nullptr, TEMPLATE_OF(body_int_soft), 2, x86::kVectorSoft, exception_stub_trap, Cross::kNone, false, 0});
  add({"int.soft.pti",  Group::kInt,   Pti::kPti, nullptr, TEMPLATE_OF(body_int_soft), 10, x86::kVectorSoft, exception_stub_trap_pti, Cross::kNone, false, 0});
  // With PCID (Linux's scheme): + SWAPGS in and out, RDX saved too, 4 instructions in and 9 out.
  add({"fault.pf.pti.pcid",  Group::kFault, Pti::kPcid, nullptr, TEMPLATE_OF(body_store_fault), 22, 14, exception_stub_pf_pti_pcid, Cross::kNone, false, 0, 1});
  add({"trap.int3.pti.pcid", Group::kTrap,  Pti::kPcid, nullptr, TEMPLATE_OF(body_int3), 21, 3, exception_stub_trap_pti_pcid, Cross::kNone, false, 0});
  add({"int.soft.pti.pcid",  Group::kInt,   Pti::kPcid, nullptr, TEMPLATE_OF(body_int_soft), 21, x86::kVectorSoft, exception_stub_trap_pti_pcid, Cross::kNone, false, 0});
  // clang-format on

  // One-way crossings. Counted instructions between the two stamps: ring 3 `rdtsc`, 3 moves
  // and the crossing instruction (not retired for the faulting store), then the kernel's entry
  // work; back: `rdtsc`, 3 moves, the kernel's exit work, SYSRET or IRETQ. The entry/exit work:
  // nothing without PTI; the 3-instruction CR3 switch with PTI; with PCID, SWAPGS and the
  // 4-instruction switch in, the 9-instruction lazy-flush switch and SWAPGS out.
  struct {
    const char* name;
    Cross cross;
    u8 vector;
    const u8* stub[3];  // PTI off, PTI, PTI + PCID
    u32 crossing_insn;
  } kinds[] = {{"syscall",
                Cross::kSyscall,
                0,
                {crossing_stub_syscall, crossing_stub_syscall_pti, crossing_stub_syscall_pti_pcid},
                1},
               {"pf",
                Cross::kPf,
                14,
                {crossing_stub_pf, crossing_stub_pf_pti, crossing_stub_pf_pti_pcid},
                0},
               {"int3",
                Cross::kInt3,
                3,
                {crossing_stub_trap, crossing_stub_trap_pti, crossing_stub_trap_pti_pcid},
                1},
               {"int",
                Cross::kInt,
                x86::kVectorSoft,
                {crossing_stub_trap, crossing_stub_trap_pti, crossing_stub_trap_pti_pcid},
                1}};
  constexpr struct {
    const char* suffix;
    Pti pti;
    u32 in, out;
  } modes[] = {{"", Pti::kOff, 0, 0}, {".pti", Pti::kPti, 3, 3}, {".pti.pcid", Pti::kPcid, 5, 10}};
  static char crossing_names[24][40];
  usize cn = 0;
  for (const auto& k : kinds) {
    for (usize m = 0; m < 3; ++m) {
      for (int dir = 0; dir < 2; ++dir) {
        TextBuf t(crossing_names[cn], sizeof(crossing_names[0]));
        t.put("crossing.").put(k.name).put(modes[m].suffix).put(dir ? ".k2u" : ".u2k");
        u32 instr = dir ? 5 + modes[m].out : 4 + k.crossing_insn + modes[m].in;
        add({crossing_names[cn], Group::kCrossing, modes[m].pti,
             k.cross == Cross::kSyscall ? k.stub[m] : nullptr, Template{nullptr, nullptr}, instr,
             k.vector, k.stub[m], k.cross, dir != 0, 0, (k.cross == Cross::kPf && !dir) ? 1u : 0u});
        ++cn;
      }
    }
  }
}

}  // namespace

usize parse_touch_list(const char* s, usize len, u32* out, usize cap, usize* rejected) {
  usize n = 0, bad_count = 0;
  u64 v = 0;
  bool digits = false, bad = false;
  for (usize i = 0; i <= len; ++i) {
    char c = i < len ? s[i] : ',';
    if (c >= '0' && c <= '9') {
      v = v * 10 + static_cast<u64>(c - '0');
      digits = true;
      if (v > kMaxTouch) bad = true;
    } else if (c == ',') {
      if (digits && !bad && v >= 1 && n < cap) {
        out[n++] = static_cast<u32>(v);
      } else if (digits || bad) {
        ++bad_count;
      }
      v = 0;
      digits = bad = false;
    } else {
      bad = true;
    }
  }
  if (rejected) *rejected = bad_count;
  return n;
}

usize ring3_rows(Variant* out, usize cap, const u32* touch, usize touch_count) {
  build_specs(touch, touch_count);
  usize n = 0;
  for (usize i = 0; i < spec_count && n < cap; ++i) {
    const Spec& s = specs[i];
    Variant v{};
    v.name = s.name;
    v.group = s.group;
    v.method = Method::kRing3;
    v.features = (s.pti == Pti::kPcid || s.pti == Pti::kPcidFlush) ? kPcidFeatures : 0;
    v.features |= need(Feature::kSyscall);
    v.env = s.pti == Pti::kOff ? kEnvNone : kEnvPti;
    v.instructions = s.instructions;
    v.faulting = s.faulting;
    v.body = s.body;
    v.ops_per_body = 1;
    v.ring3_kind = static_cast<u32>(i);
    out[n++] = v;
  }
  return n;
}

const Ring3Spec& ring3_spec(u32 index) { return specs[index]; }

PtiCr3 pti_cr3(Pti mode, u64 kernel_root) {
  const x86::Cr3 root = x86::Cr3::root(kernel_root);
  switch (mode) {
    case Pti::kOff:
      return {root.raw, root.raw};
    case Pti::kPti:
      return {root.raw, x86::Cr3::root(kernel_root + x86::kUserPgdOffset).raw};
    case Pti::kPcid:
    case Pti::kPcidFlush: {
      const x86::Cr3 k = root.with_pcid(x86::kernel_pcid(x86::Asid{0}));
      return {k.raw, k.user_half().raw};
    }
  }
  return {root.raw, root.raw};
}

}  // namespace ptb::bench
