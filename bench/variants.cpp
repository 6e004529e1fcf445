// The table of benchmark variants. Adding a variant is adding a row.
#include "arch/x86/regs.h"
#include "bench/ring3_table.h"
#include "bench/variant.h"
#include "lib/format.h"

extern "C" const ptb::u8 body_cr3_read[], body_cr3_read_end[], body_cr3_write[],
    body_cr3_write_end[], body_cr3_switch[], body_cr3_switch_end[], body_invpcid[],
    body_invpcid_end[], body_invlpg[], body_invlpg_end[], body_cr4_toggle[], body_cr4_toggle_end[];

namespace ptb::bench {
namespace {

using x86::Cr3;
using x86::Feature;
using x86::Pcid;

constexpr Pcid kKernelPcid = x86::kernel_pcid(x86::Asid{0});  // 1, as Linux's first ASID slot

#define TEMPLATE_OF(sym) \
  Template { sym, sym##_end }

// Register setups: what each body's registers hold.
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
void set_invpcid_all(JitContext& r, const Fixture&) { set_invpcid(r, 2, desc_pcid, 0); }
void set_invpcid_allnonglobal(JitContext& r, const Fixture&) { set_invpcid(r, 3, desc_pcid, 0); }
void set_invlpg_mapped(JitContext& r, const Fixture& f) { r.rsi = f.mapped_page; }
void set_invlpg_unmapped(JitContext& r, const Fixture& f) { r.rsi = f.unmapped_page; }
void set_cr4_toggle(JitContext& r, const Fixture& f) {
  r.rax = f.cr4 & ~x86::Cr4::kPge;
  r.rbx = f.cr4 | x86::Cr4::kPge;
}

constexpr u64 kPcid = need(Feature::kPcid);
constexpr u64 kInvpcid = need(Feature::kPcid) | need(Feature::kInvpcid);

Variant loop(const char* name, Group g, u64 features, u32 env, Template body, u32 ops_per_body,
             u32 instructions, void (*setup)(JitContext&, const Fixture&)) {
  Variant v{};
  v.name = name;
  v.group = g;
  v.method = Method::kLoop;
  v.features = features;
  v.env = env;
  v.instructions = instructions;
  v.body = body;
  v.ops_per_body = ops_per_body;
  v.setup = setup;
  return v;
}

constexpr Flush kFlushes[] = {Flush::kNone, Flush::kCr3, Flush::kCr3Noflush, Flush::kInvpcidSingle,
                              Flush::kInvlpg};

// Names of the generated refill rows: "tlb.refill.[global.]<flush>.<K>".
char refill_names[2 * 5 * 14][48];  // K: 13 powers of two up to 4096, and refill_max

}  // namespace

const char* group_name(Group g) {
  constexpr const char* kNames[] = {"cr3",     "invpcid", "invlpg", "cr4", "tlb",
                                    "syscall", "fault",   "trap",   "int", "crossing"};
  return kNames[static_cast<u32>(g)];
}

const char* flush_name(Flush f) {
  constexpr const char* kNames[] = {"none", "cr3", "cr3.noflush", "invpcid.single", "invlpg"};
  return kNames[static_cast<u32>(f)];
}

usize build_table(Variant* out, usize cap, const TableParams& tp) {
  const u32 refill_max = tp.refill_max;
  const bool quick = tp.quick;
  // One row per line, aligned like a table.
  // clang-format off
  const Variant fixed[] = {
      // name                       group            features   env       body                            ops instr setup
      loop("cr3.read",               Group::kCr3,     0,         kEnvNone, TEMPLATE_OF(body_cr3_read),     1, 1, nullptr),
      loop("cr3.write.nopcid",       Group::kCr3,     0,         kEnvNone, TEMPLATE_OF(body_cr3_write),    1, 1, set_cr3_nopcid),
      loop("cr3.write.pcid.flush",   Group::kCr3,     kPcid,     kEnvPcid, TEMPLATE_OF(body_cr3_write),    1, 1, set_cr3_pcid_flush),
      loop("cr3.write.pcid.noflush", Group::kCr3,     kPcid,     kEnvPcid, TEMPLATE_OF(body_cr3_write),    1, 1, set_cr3_pcid_noflush),
      loop("cr3.switch.nopcid",      Group::kCr3,     0,         kEnvNone, TEMPLATE_OF(body_cr3_switch),   2, 1, set_switch_nopcid),
      loop("cr3.switch.pcid.flush",  Group::kCr3,     kPcid,     kEnvPcid, TEMPLATE_OF(body_cr3_switch),   2, 1, set_switch_pcid_flush),
      loop("cr3.switch.pcid.noflush",Group::kCr3,     kPcid,     kEnvPcid, TEMPLATE_OF(body_cr3_switch),   2, 1, set_switch_pcid_noflush),
      loop("invpcid.addr",           Group::kInvpcid, kInvpcid,  kEnvPcid, TEMPLATE_OF(body_invpcid),      1, 1, set_invpcid_addr),
      loop("invpcid.single",         Group::kInvpcid, kInvpcid,  kEnvPcid, TEMPLATE_OF(body_invpcid),      1, 1, set_invpcid_single),
      loop("invpcid.all",            Group::kInvpcid, kInvpcid,  kEnvPcid, TEMPLATE_OF(body_invpcid),      1, 1, set_invpcid_all),
      loop("invpcid.allnonglobal",   Group::kInvpcid, kInvpcid,  kEnvPcid, TEMPLATE_OF(body_invpcid),      1, 1, set_invpcid_allnonglobal),
      loop("invlpg",                 Group::kInvlpg,  0,         kEnvNone, TEMPLATE_OF(body_invlpg),       1, 1, set_invlpg_mapped),
      loop("invlpg.unmapped",        Group::kInvlpg,  0,         kEnvNone, TEMPLATE_OF(body_invlpg),       1, 1, set_invlpg_unmapped),
      loop("cr4.pge.toggle",         Group::kCr4,     need(Feature::kPge), kEnvNone, TEMPLATE_OF(body_cr4_toggle), 1, 2, set_cr4_toggle),
  };
  // clang-format on
  usize n = 0;
  for (const Variant& v : fixed) {
    if (n < cap) out[n++] = v;
  }
  n += ring3_rows(out + n, cap - n, tp.touch, tp.touch_count);

  usize name_slot = 0;
  for (int global = 0; global < 2; ++global) {
    for (Flush f : kFlushes) {
      // K = 1, 2, 4, ... and refill_max itself when it is not a power of two.
      for (u32 k = 1; k <= refill_max;
           k = (k == refill_max ? k + 1 : (2 * k < refill_max ? 2 * k : refill_max))) {
        if (quick && !(k == 1 || k == 16 || k == 256 || k == refill_max)) continue;
        if (n >= cap || name_slot >= sizeof(refill_names) / sizeof(refill_names[0])) return n;
        TextBuf t(refill_names[name_slot], sizeof(refill_names[0]));
        ++name_slot;
        t.put("tlb.refill.").put(global ? "global." : "").put(flush_name(f)).put('.').put_u64(k);
        Variant v{};
        v.name = t.c_str();
        v.group = Group::kTlb;
        v.method = Method::kRefill;
        v.flush = f;
        v.pages = k;
        v.global = global != 0;
        v.instructions = 0;  // the same instructions run with and without the flush
        v.env = (f == Flush::kCr3Noflush || f == Flush::kInvpcidSingle) ? kEnvPcid : kEnvNone;
        v.features = f == Flush::kCr3Noflush ? kPcid : f == Flush::kInvpcidSingle ? kInvpcid : 0;
        if (global) v.features |= need(Feature::kPge);
        out[n++] = v;
      }
    }
  }
  return n;
}

}  // namespace ptb::bench
