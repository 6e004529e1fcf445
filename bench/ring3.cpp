// Ring-3 benchmarks: a user address space, the PTI user page tables, null system calls through
// each entry variant, exception and software-interrupt round trips, one-way crossings, the
// isolation self-tests and the seed experiments.
#include "bench/ring3.h"

#include <stddef.h>

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_setup.h"
#include "arch/x86/layout.h"
#include "arch/x86/pti.h"
#include "arch/x86/regs.h"
#include "bench/ring3_table.h"
#include "kernel/console.h"
#include "kernel/fault_report.h"
#include "kernel/memory.h"
#include "kernel/options.h"
#include "kernel/run.h"

#define ASM_SYMBOL(name) extern "C" const ptb::u8 name[]
#define TEMPLATE_SYMBOLS(name) \
  ASM_SYMBOL(name);            \
  ASM_SYMBOL(name##_end)
TEMPLATE_SYMBOLS(user_main);
TEMPLATE_SYMBOLS(user_read_fn);
TEMPLATE_SYMBOLS(crossing_driver_syscall);
TEMPLATE_SYMBOLS(crossing_driver_pf);
TEMPLATE_SYMBOLS(crossing_driver_int3);
TEMPLATE_SYMBOLS(crossing_driver_int);
ASM_SYMBOL(syscall_entry_direct);
ASM_SYMBOL(ring3_exit_stub);
extern "C" void ring3_enter(ptb::u64 rip, ptb::u64 rsp, ptb::u64 arg0, ptb::u64 arg1);
extern "C" char __data_start[];
extern "C" [[noreturn]] void kmain(ptb::u32 magic, ptb::u64 info);

namespace ptb::bench {
namespace {

using x86::Cr3;
using x86::Feature;
using x86::Pte;

#define TEMPLATE_OF(sym) \
  Template { sym, sym##_end }
u64 addr(const u8* p) { return reinterpret_cast<u64>(p); }

// ---- the user address space (PML4 slot 255; see kernel/memory.h) ---------------------------
constexpr u64 kUserCode = memory::kUserBase;                 // user_main + the generated loops
constexpr u64 kUserData = memory::kUserBase + 0x10'0000;     // contexts and the crossing arrays
constexpr u64 kUserStack = memory::kUserBase + 0x20'0000;    // stack pages, top at the end
constexpr u64 kUserTouch = memory::kUserBase + 0x40'0000;    // pages the .touch variants read
constexpr u64 kUserFault = memory::kUserBase + 0x4000'0000;  // mapped nowhere
constexpr u32 kCodePages = 16, kDataPages = 48, kStackPages = 4;
constexpr u64 kLoopOffset[2] = {0x1000, 0x8000};  // where the U and 2U loops go in the code
constexpr u64 kLoopCap = 0x7000;
constexpr u64 kCrossingOffset = 0x100;  // CrossingContext in the data pages
constexpr u64 kArrayOffset = 0x1000;

static_assert(kArrayOffset + 2 * (kMaxReps + 1000) * 8 <= kDataPages * 4096);

struct UserSpace {
  bool ready = false;
  u8* code = nullptr;  // kernel (identity) views of the frames
  u8* data = nullptr;
  u32 touch_pages = 0;
  x86::PageTable user_tables{x86::Arena{nullptr, nullptr, nullptr}, 0};
  u64 kernel_root = 0, user_root = 0;
} us;

alignas(16) u8 syscall_stack[16 * 1024];

using Spec = Ring3Spec;
const Spec& spec_of(const Variant& v) { return ring3_spec(v.ring3_kind); }

u32 max_touch() {
  u32 ks[16];
  usize rejected = 0;
  usize nk = parse_touch_list(options().touch.data, options().touch.len, ks, 16, &rejected);
  u32 m = 0;
  for (usize i = 0; i < nk; ++i) m = ks[i] > m ? ks[i] : m;
  return m;
}

// ---- address spaces --------------------------------------------------------------------

void map_user(u64 va, u64 phys, u32 pages, u64 flags) {
  for (u32 i = 0; i < pages; ++i) {
    x86::MapError e = memory::kernel_tables().map_4k(va + i * x86::kPage, phys + i * x86::kPage,
                                                     flags | Pte::kUser);
    if (e != x86::MapError::kNone) run::fail(x86::map_error_name(e));
  }
}

u8* alloc_user(u64 va, u32 pages, u64 flags) {
  u64 phys = memory::frames().alloc_contiguous(pages, x86::kPage, memory::kLowTableLimit);
  if (phys == 0) run::fail("out of memory for the ring-3 pages");
  auto* p = reinterpret_cast<u8*>(phys);
  for (u64 i = 0; i < u64{pages} * x86::kPage; ++i) p[i] = 0;
  map_user(va, phys, pages, flags);
  return p;
}

void copy_template(u8* dst, const Template& t) {
  for (usize i = 0; i < t.size(); ++i) dst[i] = t.begin[i];
}

void setup_user_space() {
  if (us.ready) return;
  const u64 nx = memory::nx_bit();
  us.code = alloc_user(kUserCode, kCodePages, 0);
  us.data = alloc_user(kUserData, kDataPages, Pte::kWritable | nx);
  alloc_user(kUserStack, kStackPages, Pte::kWritable | nx);
  us.touch_pages = max_touch();
  // Distinct frames for the touched pages, like the refill curve's.
  for (u32 i = 0; i < us.touch_pages; ++i)
    map_user(kUserTouch + u64{i} * x86::kPage, memory::alloc_zeroed(), 1, Pte::kWritable | nx);
  copy_template(us.code, TEMPLATE_OF(user_main));

  us.kernel_root = memory::kernel_cr3().table();
  us.user_root = reinterpret_cast<u64>(memory::user_pml4());
  us.user_tables = x86::PageTable(memory::table_arena(), us.user_root);
  x86::Range t = x86::entry_text(), ro = x86::entry_rodata(), d = x86::entry_data();
  x86::EntryArea area{t.start, t.end, ro.start, ro.end, d.start, d.end};
  unsigned slot = x86::table_index(memory::kUserBase, 4);
  x86::MapError e =
      x86::build_pti_user_tables(memory::kernel_tables(), us.user_tables, slot, slot, area, nx);
  if (e != x86::MapError::kNone) run::fail(x86::map_error_name(e));

  x86::init_syscall(addr(syscall_entry_direct),
                    reinterpret_cast<u64>(syscall_stack) + sizeof(syscall_stack));
  x86::set_gate(x86::kVectorRing3Exit, addr(ring3_exit_stub), 3);
  us.ready = true;
}

// Ring 3 runs on the user tables under PTI, else on the kernel's (which map user space too).
void enter_pti(Pti mode) {
  x86::PerCpu& pc = x86::percpu();
  PtiCr3 cr3 = pti_cr3(mode, us.kernel_root);
  if (mode == Pti::kPcid || mode == Pti::kPcidFlush) {
    // SDM Vol.3 4.10.1: PCIDE may only be set while CR3[11:0] = 0.
    x86::write_cr3(Cr3::root(us.kernel_root));
    x86::write_cr4(x86::read_cr4().with(x86::Cr4::kPcide, true));
    x86::write_cr3(Cr3{cr3.kernel});
  }
  pc.pti = mode == Pti::kOff ? 0 : 1;
  pc.kernel_cr3 = cr3.kernel;
  pc.user_cr3 = cr3.user;
  pc.user_pcid_flush = 0;
}

void leave_pti(Pti mode) {
  x86::PerCpu& pc = x86::percpu();
  pc.pti = 0;
  pc.kernel_cr3 = pc.user_cr3 = Cr3::root(us.kernel_root).raw;
  if (mode == Pti::kPcid || mode == Pti::kPcidFlush) {
    x86::write_cr3(Cr3::root(us.kernel_root));
    x86::write_cr4(x86::read_cr4().with(x86::Cr4::kPcide, false));
  }
  x86::write_cr3(Cr3::root(us.kernel_root));
}

u64 user_stack_top() { return kUserStack + kStackPages * x86::kPage; }

void run_in_ring3(u64 fn_va, u64 arg_va) {
  ring3_enter(kUserCode, user_stack_top(), arg_va, fn_va);
}

// ---- measurement -------------------------------------------------------------------------

Result measure_loop3(const Spec& s, const Params& p) {
  for (int i = 0; i < 2; ++i) {
    if (!emit_loop(us.code + kLoopOffset[i], kLoopCap, s.body, p.unroll * (i + 1)))
      return {Status::kFail, "unrolled ring-3 loop does not fit the user code pages", {}, 0};
  }
  auto* ctx = reinterpret_cast<JitContext*>(us.data);
  *ctx = JitContext{};
  ctx->iters = p.iters;
  ctx->rbx = s.touch ? kUserTouch : kUserFault;
  ctx->r12 = s.touch;
  // The loops run in ring 3 (user code pages, context in the user data page).
  auto run = [](void* c, int which) {
    run_in_ring3(kUserCode + kLoopOffset[which], kUserData);
    auto* jc = static_cast<JitContext*>(c);
    return jc->t1 - jc->t0;
  };
  return sample_difference(p, u64{p.iters} * p.unroll, run, ctx);
}

Result measure_crossing(const Spec& s, const Params& p) {
  Template driver{};
  switch (s.cross) {
    case Cross::kSyscall:
      driver = TEMPLATE_OF(crossing_driver_syscall);
      break;
    case Cross::kPf:
      driver = TEMPLATE_OF(crossing_driver_pf);
      break;
    case Cross::kInt3:
      driver = TEMPLATE_OF(crossing_driver_int3);
      break;
    case Cross::kInt:
      driver = TEMPLATE_OF(crossing_driver_int);
      break;
    case Cross::kNone:
      return {Status::kFail, "not a crossing", {}, 0};
  }
  copy_template(us.code + kLoopOffset[0], driver);
  u32 count = p.warmup + p.reps;
  auto* ctx = reinterpret_cast<CrossingContext*>(us.data + kCrossingOffset);
  ctx->count = count;
  ctx->fault = kUserFault;
  ctx->u2k = kUserData + kArrayOffset;
  ctx->k2u = kUserData + kArrayOffset + u64{count} * 8;
  run_in_ring3(kUserCode + kLoopOffset[0], kUserData + kCrossingOffset);
  const i64* values = reinterpret_cast<const i64*>(us.data + kArrayOffset) + (s.k2u ? count : 0);
  i64* samples = sample_buffer();
  for (u32 i = 0; i < p.reps; ++i) samples[i] = values[p.warmup + i];
  return {Status::kOk, nullptr, summarize(samples, p.reps, 1.0), 1};
}

// ---- the isolation self-tests ------------------------------------------------------------

struct ExpectedFault {
  bool seen;
  u64 error_code, cr2, rip;
} expected;

bool user_read_hook(x86::TrapFrame& f) {
  if (f.vector != 14 || (f.cs & 3) != 3 || expected.seen) return false;
  expected = {true, f.error_code, x86::read_cr2(), f.rip};
  f.rip += 2;  // skip `mov al, [rbx]`
  return true;
}

// Reads one byte at `target` from ring 3, on the page tables `mode` gives ring 3.
void read_from_ring3(u64 target, Pti mode) {
  copy_template(us.code + kLoopOffset[0], TEMPLATE_OF(user_read_fn));
  enter_pti(mode);
  ring3_enter(kUserCode, user_stack_top(), target, kUserCode + kLoopOffset[0]);
  leave_pti(mode);
}

// The same with the hook armed; returns whether it faulted.
bool user_read_faults(u64 target, Pti mode) {
  expected = {};
  x86::set_trap_hook(user_read_hook);
  read_from_ring3(target, mode);
  x86::set_trap_hook(nullptr);
  return expected.seen;
}

void check_user_tables() {
  constexpr usize kMaxRuns = 16;
  x86::ExposedRun runs[kMaxRuns];
  usize n = x86::kernel_pages_in(us.user_tables, runs, kMaxRuns);
  x86::Range t = x86::entry_text(), ro = x86::entry_rodata(), d = x86::entry_data();
  bool ok = n <= kMaxRuns;
  u64 pages = 0;
  Text<700> detail;
  detail.put("user tables expose ");
  for (usize i = 0; i < n && i < kMaxRuns; ++i) {
    const x86::ExposedRun& r = runs[i];
    pages += (r.end - r.start) / x86::kPage;
    bool in_text = r.start >= t.start && r.end <= t.end && r.executable && !r.writable;
    bool in_ro = r.start >= ro.start && r.end <= ro.end && !r.executable && !r.writable;
    bool in_data = r.start >= d.start && r.end <= d.end && !r.executable && r.writable;
    ok = ok && (in_text || in_ro || in_data);
  }
  u64 expected_pages = (t.end - t.start + ro.end - ro.start + d.end - d.start) / x86::kPage;
  ok = ok && pages == expected_pages;
  detail.put_u64(pages).put(" kernel pages (entry area: ").put_u64(expected_pages).put("):");
  for (usize i = 0; i < n && i < kMaxRuns; ++i) {
    detail.put(' ').put_hex(runs[i].start).put('-').put_hex(runs[i].end).put(' ');
    detail.put('r').put(runs[i].writable ? 'w' : '-').put(runs[i].executable ? 'x' : '-');
  }
  // The kernel proper must not be there: its text, its data, the stack.
  x86::Translation kt = us.user_tables.translate(reinterpret_cast<u64>(&kmain));
  x86::Translation kd = us.user_tables.translate(reinterpret_cast<u64>(__data_start));
  x86::Translation up = us.user_tables.translate(kUserCode);
  ok = ok && !kt.present && !kd.present && up.present && up.user;
  detail.put("; kernel text ").put(kt.present ? "MAPPED" : "absent").put(", kernel data ");
  detail.put(kd.present ? "MAPPED" : "absent")
      .put(", user code ")
      .put(up.present && up.user ? "mapped" : "MISSING");
  run::check("pti.user_tables", ok, detail.c_str());
}

// A ring-3 read of the kernel's data must fault from user mode: not-present under PTI (the user
// tables do not map it), a protection fault without (mapped, but supervisor-only).
void check_user_read(const char* name, Pti mode) {
  const u64 target = reinterpret_cast<u64>(__data_start);
  const bool pti = mode != Pti::kOff;
  bool faulted = user_read_faults(target, mode);
  bool present = expected.error_code & 1;
  bool ok = faulted && (expected.error_code & 4) && present == !pti && expected.cr2 == target;
  Text<300> d;
  if (faulted) {
    d.put("expected fault: ");
    explain_page_fault(d, expected.error_code, expected.cr2, pti);
  } else {
    d.put("a ring-3 read of ").put_hex(target).put(pti ? " under PTI" : " without PTI");
    d.put(" did NOT fault");
  }
  run::check(name, ok, d.c_str());
}

void check_user_reads() {
  check_user_read("pti.user_read_faults", Pti::kPti);
  check_user_read("nopti.user_read_faults", Pti::kOff);
}

}  // namespace

Result measure_ring3(const Variant& v, const Fixture&, const Params& p, const x86::CpuInfo&) {
  setup_user_space();
  const Spec& s = spec_of(v);
  x86::IdtGate old{};
  if (s.vector) old = x86::set_gate(s.vector, addr(s.stub), s.vector == 14 ? 0 : 3);
  if (s.lstar) x86::set_syscall_entry(addr(s.lstar));
  if (s.cross == Cross::kSyscall) x86::set_syscall_entry(addr(s.stub));
  enter_pti(s.pti);
  Result r = s.cross == Cross::kNone ? measure_loop3(s, p) : measure_crossing(s, p);
  leave_pti(s.pti);
  x86::set_syscall_entry(addr(syscall_entry_direct));
  if (s.vector) x86::restore_gate(s.vector, old);
  return r;
}

void ring3_record_fields(TextBuf& j, const Variant& v) {
  const Spec& s = spec_of(v);
  j.put(",\"pti\":").put(s.pti != Pti::kOff ? "true" : "false");
  j.put(",\"pcid\":").put(s.pti == Pti::kPcid || s.pti == Pti::kPcidFlush ? "true" : "false");
  if (s.cross != Cross::kNone) {
    constexpr const char* kKinds[] = {"", "syscall", "pf", "int3", "int"};
    j.put(",\"kind\":\"").put(kKinds[static_cast<u32>(s.cross)]).put("\",\"direction\":\"");
    j.put(s.k2u ? "k2u" : "u2k").put('"');
  }
  if (s.touch) j.put(",\"pages\":").put_u64(s.touch);
}

void ring3_selftests() {
  setup_user_space();
  check_user_tables();
  check_user_reads();
}

namespace {

const Variant* find(const Variant* table, usize count, const char* name) {
  for (usize i = 0; i < count; ++i)
    if (str_eq(table[i].name, name)) return &table[i];
  return nullptr;
}

// Runs the named variant (result record and human line as usual) and returns its result.
Result run_named(SuiteContext& ctx, const Variant* table, usize count, const Fixture& fx,
                 const char* name) {
  const Variant* v = find(table, count, name);
  if (!v) return {Status::kFail, "no such variant", {}, 0};
  run::set_phase("seeds", name);
  Params p = effective_params();
  Result r = run_variant(*v, fx, p, ctx.cpu);
  emit_result(*v, r, p, ctx.tsc_hz);
  return r;
}

void put_cell(TextBuf& t, const Result& r, usize width) {
  usize start = t.size();
  if (r.status == Status::kOk) {
    t.put_fixed(r.stats.median, 1);
  } else {
    t.put(status_name(r.status));
  }
  t.pad_to(start, width);
}

}  // namespace

void run_seed_experiments(SuiteContext& ctx, Variant* table, usize count, const Fixture& fx) {
  // Seed 000: the null system call under each PTI scheme, and the loss against PTI off.
  struct Row {
    const char* label;
    const char* name;
  } rows[] = {{"PTI off", "syscall.direct"},
              {"trampoline, PTI off", "syscall.trampoline"},
              {"PTI, no PCID", "syscall.pti"},
              {"PTI + PCID (Linux)", "syscall.pti.pcid"},
              {"PTI + PCID, +1 mov-to-CR3", "syscall.pti.pcid.extra1"},
              {"PTI + PCID, +2 mov-to-CR3", "syscall.pti.pcid.extra2"}};
  Result res[6];
  for (int i = 0; i < 6; ++i) res[i] = run_named(ctx, table, count, fx, rows[i].name);
  console::line("");
  console::line(
      "Seed 000: null system call (TSC ticks per call, median) and throughput loss against PTI "
      "off");
  console::line("  scheme                       ticks      x PTI off   loss");
  for (int i = 0; i < 6; ++i) {
    Text<160> t;
    t.put("  ").put(rows[i].label).pad_to(0, 31);
    put_cell(t, res[i], 11);
    if (res[i].status == Status::kOk && res[0].status == Status::kOk && res[i].stats.median > 0) {
      double ratio = res[i].stats.median / res[0].stats.median;
      usize col = t.size();
      t.put_fixed(ratio, 2).pad_to(col, 12);
      t.put_fixed((1.0 - res[0].stats.median / res[i].stats.median) * 100.0, 1).put(" %");
    } else if (res[i].status != Status::kOk) {
      t.put(res[i].reason);
    }
    console::line(t);
  }

  // Seed 003: one-way crossing costs per entry kind, PTI off and on.
  const char* kinds[] = {"syscall", "pf", "int3", "int"};
  Result x[4][4];
  for (int k = 0; k < 4; ++k) {
    const char* suffix[] = {".u2k", ".k2u", ".pti.u2k", ".pti.k2u"};
    for (int c = 0; c < 4; ++c) {
      Text<48> n;
      n.put("crossing.").put(kinds[k]).put(suffix[c]);
      x[k][c] = run_named(ctx, table, count, fx, n.c_str());
    }
  }
  console::line("");
  console::line("Seed 003: one-way crossing cost (TSC ticks, median), PTI off and on");
  console::line("  entry kind   u2k off    k2u off    u2k PTI    k2u PTI");
  for (int k = 0; k < 4; ++k) {
    Text<160> t;
    t.put("  ").put(kinds[k]).pad_to(0, 15);
    for (int c = 0; c < 4; ++c) put_cell(t, x[k][c], 11);
    console::line(t);
  }
  if (!ctx.bare_metal)
    console::line("  (not bare metal: emulator or hypervisor figures, not hardware timings)");
}

void user_read_kernel() {
  setup_user_space();
  run::set_phase("fault", "ring-3 read of kernel data under PTI (fault=user-read)");
  read_from_ring3(reinterpret_cast<u64>(__data_start), Pti::kPti);
  run::fail("the ring-3 read of kernel data did not fault");
}

}  // namespace ptb::bench
