#include "bench/user_space.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_setup.h"
#include "arch/x86/layout.h"
#include "arch/x86/pti.h"
#include "arch/x86/regs.h"
#include "bench/counters.h"
#include "bench/env.h"
#include "bench/jit.h"
#include "bench/options.h"
#include "bench/symbols.h"
#include "kernel/memory.h"
#include "kernel/run.h"
#include "kernel/smp.h"

extern "C" void ring3_enter(ptb::u64 rip, ptb::u64 rsp, ptb::u64 arg0, ptb::u64 arg1);
extern "C" const ptb::u8 ring3_exit_stub[];

namespace ptb::bench {
namespace {

using x86::Pte;

u64 addr(const u8* p) { return reinterpret_cast<u64>(p); }

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

constexpr u64 kFunctionContextOffset = (kDataPages - 1) * x86::kPage;  // the last data page

static_assert(kArrayOffset + 2 * (kMaxReps + 1000) * 8 <= kFunctionContextOffset);

struct UserSpace {
  bool ready = false;
  u8* code = nullptr;  // kernel (identity) views of the frames
  u8* data = nullptr;
  x86::PageTable user_tables{x86::Arena{nullptr, nullptr, nullptr}, 0};
  x86::EntryArea area{};
  x86::PtiGlobals installed = x86::PtiGlobals::kNone;
} us;

// The user PML4 as each PtiGlobals scheme builds it (arch/x86/pti.h); the one a row runs with is
// copied into the pair's user half (install_pti_globals). kNone is what setup_user_space builds.
u64 user_pml4_images[x86::kPtiGlobalsCount][x86::kEntries];

void build_user_tables(x86::PageTable& t, x86::PtiGlobals g, u64 nx) {
  const x86::KernelImage image = memory::kernel_image();
  unsigned slot = x86::table_index(memory::kUserBase, 4);
  x86::MapError e =
      x86::build_pti_user_tables(memory::kernel_tables(), t, slot, slot, us.area, nx, g, &image);
  // Each AP's entry part, as the boot CPU's entry data: an NMI on an AP that runs on this user
  // CR3 (the shootdown targets' return to user space) must find its GDT, TSS and IST stack.
  for (u32 cpu = 1; e == x86::MapError::kNone && cpu < smp::summary().started; ++cpu) {
    const x86::Range r = smp::entry_part(cpu);
    e = t.map_range(r.start, r.start, r.end - r.start, Pte::kWritable | nx, false);
  }
  if (e != x86::MapError::kNone) run::fail(x86::map_error_name(e));
}

alignas(16) u8 syscall_stack[16 * 1024];

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

u64 user_stack_top() { return kUserStack + kStackPages * x86::kPage; }

// Runs the ring-3 function at `fn_va` with RDI = `arg_va` until it returns (user_main then hands
// the CPU back through VECTOR_RING3_EXIT).
void run_in_ring3(u64 fn_va, u64 arg_va) {
  ring3_enter(kUserCode, user_stack_top(), arg_va, fn_va);
}

struct ExpectedFault {
  bool armed, seen;
  u64 error_code, cr2;
} expected;

bool user_read_hook(x86::TrapFrame& f) {
  if (f.vector != 14 || (f.cs & 3) != 3 || expected.seen) return false;
  expected.seen = true;
  expected.error_code = f.error_code;
  expected.cr2 = x86::read_cr2();
  f.rip += 2;  // skip `mov al, [rbx]`
  return true;
}

}  // namespace

void setup_user_space() {
  if (us.ready) return;
  const u64 nx = memory::nx_bit();
  us.code = alloc_user(kUserCode, kCodePages, 0);
  us.data = alloc_user(kUserData, kDataPages, Pte::kWritable | nx);
  alloc_user(kUserStack, kStackPages, Pte::kWritable | nx);
  // Distinct frames for the touched pages, like the refill curve's.
  for (u32 i = 0; i < max_touch(); ++i)
    map_user(kUserTouch + u64{i} * x86::kPage, memory::alloc_zeroed(), 1, Pte::kWritable | nx);
  copy_template(us.code, TEMPLATE_OF(user_main));

  const u64 user_root = reinterpret_cast<u64>(memory::user_pml4());
  us.user_tables = x86::PageTable(memory::table_arena(), user_root);
  x86::Range t = x86::entry_text(), ro = x86::entry_rodata(), d = x86::entry_data();
  us.area = x86::EntryArea{t.start, t.end, ro.start, ro.end, d.start, d.end};
  build_user_tables(us.user_tables, x86::PtiGlobals::kNone, nx);
  // The other schemes' user tables, each from a root of its own, kept as PML4 images.
  for (usize g = 0; g < x86::kPtiGlobalsCount; ++g) {
    u64 root = user_root;
    if (g != static_cast<usize>(x86::PtiGlobals::kNone)) {
      root = memory::alloc_zeroed(memory::kLowTableLimit);
      x86::PageTable other(memory::table_arena(), root);
      build_user_tables(other, static_cast<x86::PtiGlobals>(g), nx);
    }
    const u64* pml4 = reinterpret_cast<const u64*>(root);
    for (usize i = 0; i < x86::kEntries; ++i) user_pml4_images[g][i] = pml4[i];
  }

  x86::init_syscall(addr(syscall_entry_direct),
                    reinterpret_cast<u64>(syscall_stack) + sizeof(syscall_stack));
  x86::set_gate(x86::kVectorRing3Exit, addr(ring3_exit_stub), 3);
  us.ready = true;
}

const x86::PageTable& user_tables() { return us.user_tables; }

void install_pti_globals(x86::PtiGlobals g) {
  if (!us.ready || g == us.installed) return;
  u64* user = memory::user_pml4();
  for (usize i = 0; i < x86::kEntries; ++i) user[i] = user_pml4_images[static_cast<usize>(g)][i];
  x86::apply_kernel_globals(memory::kernel_tables(), us.area, memory::kernel_image(), g);
  us.installed = g;
  // Translations cached with the old PTE.G must not outlive the change: a CR4.PGE toggle drops
  // every entry, globals included (SDM Vol.3 4.10.4.1). Without PGE the bit means nothing.
  if (x86::read_cr4().raw & x86::Cr4::kPge) x86::toggle_pge();
}

u64 user_code_address() { return kUserCode; }

Result measure_ring3_loop(const Row& row, const Params& p) {
  for (int i = 0; i < 2; ++i) {
    if (!emit_loop(us.code + kLoopOffset[i], kLoopCap, row.body, p.unroll * (i + 1)))
      return {Status::kFail, "unrolled ring-3 loop does not fit the user code pages"};
  }
  auto* ctx = reinterpret_cast<JitContext*>(us.data);
  *ctx = JitContext{};
  ctx->iters = p.iters;
  ctx->rbx = row.touch ? kUserTouch : kUserFault;
  ctx->r12 = row.touch;
  // The loops run in ring 3 (user code pages, context in the user data page).
  auto run = [](void* c, int which) {
    run_in_ring3(kUserCode + kLoopOffset[which], kUserData);
    auto* jc = static_cast<JitContext*>(c);
    return jc->t1 - jc->t0;
  };
  return sample_difference(p, u64{p.iters} * p.unroll, run, ctx);
}

namespace {

// A counter pass whose ring-3 RDPMC faults (#UD under QEMU TCG, #GP under Bochs, or a hypervisor
// that refuses it in ring 3) ends the pass, not the run: the fault returns to user_main's
// `int VECTOR_RING3_EXIT` (its last instruction, CD ib: 2 bytes), which hands the CPU back to the
// kernel whatever the driver had pushed. Once faulted, later rows do not try again.
struct PassFault {
  bool armed = false;
  u8 vector = 0;  // the fault, once one ended a pass (sticky)
} pass_fault;
constexpr u64 kIntImm8Len = 2;

bool counter_pass_hook(x86::TrapFrame& f) {
  const u64 driver = kUserCode + kLoopOffset[1];
  if (!pass_fault.armed || (f.cs & 3) != 3 || (f.vector != 6 && f.vector != 13)) return false;
  if (f.rip < driver || f.rip >= driver + kLoopCap) return false;
  pass_fault.armed = false;
  pass_fault.vector = static_cast<u8>(f.vector);
  f.rip = kUserCode + TEMPLATE_OF(user_main).size() - kIntImm8Len;
  return true;
}

const char* pass_fault_reason() {
  return pass_fault.vector == 6 ? "RDPMC raised #UD in ring 3 in the counter pass"
                                : "RDPMC raised #GP in ring 3 in the counter pass (CR4.PCE set)";
}

// One run of a crossing driver (bench/user.asm) over `count` crossings, its stamps reading the
// counter `pmc` where they read a counter. The driver runs every crossing in one go: when an NMI
// or SMI arrived meanwhile, all of them again (each counts as disturbed, as the runner cannot
// tell which one the NMI hit). False when it gave up. `rdpmc`: a counter pass whose RDPMC may
// fault (counter_pass_hook); one that faulted is over (pass_fault.vector says so).
bool run_crossing_pass(u64 driver_va, u32 count, u64 pmc, bool rdpmc, u32* disturbed) {
  auto* ctx = reinterpret_cast<CrossingContext*>(us.data + kCrossingOffset);
  for (u32 passes = 0;;) {
    ctx->count = count;
    ctx->fault = kUserFault;
    ctx->u2k = kUserData + kArrayOffset;
    ctx->k2u = kUserData + kArrayOffset + u64{count} * 8;
    ctx->pmc = pmc;
    const u64 before = disturbances();
    pass_fault.armed = rdpmc;
    run_in_ring3(driver_va, kUserData + kCrossingOffset);
    pass_fault.armed = false;
    if (disturbances() == before || pass_fault.vector) return true;
    *disturbed += count;
    if (++passes > kMaxDisturbedPasses) return false;
  }
}

// The row's direction of the last pass, one value per crossing.
const i64* crossing_values(const Row& row, u32 count) {
  const bool k2u = row.direction == Direction::kK2u;
  return reinterpret_cast<const i64*>(us.data + kArrayOffset) + (k2u ? count : 0);
}

// The counter passes (docs/method.md, "Counters of the one-way crossings"): the row's driver and
// stub again with counter stamps, one pass per counter of the plan, each value kept as that
// counter's sample. Returns how many counters were read (0: none, *gave_up, or *fault says why).
u32 counter_passes(const Row& row, const Params& p, u32* disturbed, bool* gave_up,
                   const char** fault) {
  const CrossingChoice& choice = counters::crossing();
  if (choice.source == CrossingSource::kNone || !row.counter_code) return 0;
  const bool fake = choice.source == CrossingSource::kFakeTsc;
  if (!fake && pass_fault.vector) {
    *fault = pass_fault_reason();
    return 0;
  }
  const CounterPassCode& code = row.counter_code[fake ? kCounterPassFakeTsc : kCounterPassRdpmc];
  copy_template(us.code + kLoopOffset[1], code.driver);
  const x86::pmu::Plan& plan = counters::crossing_plan();
  const u32 count = p.warmup + p.reps;
  set_row_entry(row.env, code.stub);
  // RDPMC in ring 3 needs CR4.PCE (SDM Vol.2 RDPMC); only while these passes run.
  if (!fake) x86::write_cr4(x86::read_cr4().with(x86::Cr4::kPce, true));
  x86::set_trap_hook(counter_pass_hook);
  u32 c = 0;
  for (; c < plan.count; ++c) {
    const x86::pmu::Counter& counter = plan.counters[c];
    const u64 driver = kUserCode + kLoopOffset[1];
    if (!run_crossing_pass(driver, count, counter.rdpmc, !fake, disturbed) || pass_fault.vector)
      break;
    const i64* values = crossing_values(row, count);
    for (u32 i = 0; i < p.reps; ++i)
      store_counter_value(c, i, crossing_counter_delta(values[p.warmup + i], counter.width));
  }
  x86::set_trap_hook(nullptr);
  if (!fake) x86::write_cr4(x86::read_cr4().with(x86::Cr4::kPce, false));
  set_row_entry(row.env, row.env.lstar ? row.env.lstar : row.env.gate);
  if (pass_fault.vector) {
    *fault = pass_fault_reason();
    return 0;
  }
  *gave_up = c < plan.count;
  return *gave_up ? 0 : c;
}

}  // namespace

Result measure_crossing(const Row& row, const Params& p) {
  copy_template(us.code + kLoopOffset[0], row.body);
  const u32 count = p.warmup + p.reps;
  u32 disturbed = 0;
  if (!run_crossing_pass(kUserCode + kLoopOffset[0], count, 0, false, &disturbed))
    return too_disturbed(disturbed);
  const i64* values = crossing_values(row, count);
  i64* samples = sample_buffer();
  for (u32 i = 0; i < p.reps; ++i) samples[i] = values[p.warmup + i];
  bool gave_up = false;
  const char* fault = nullptr;
  const u32 counted = counter_passes(row, p, &disturbed, &gave_up, &fault);
  // The tick figures stand even when the counter passes could not be finished undisturbed.
  if (gave_up) fault = "the counter passes were disturbed (NMI or SMI) in every try";
  Result r = summarize_samples(p, 1);
  r.disturbed = disturbed;
  r.no_counters = fault;
  if (counted) summarize_counter_samples(r, p.reps, 1, counted);
  return r;
}

UserFunction install_user_function(const Template& fn) {
  setup_user_space();
  copy_template(us.code + kLoopOffset[0], fn);
  return {kUserCode + kLoopOffset[0], us.data + kFunctionContextOffset,
          kUserData + kFunctionContextOffset};
}

void run_user_function(const UserFunction& f) { run_in_ring3(f.fn, f.context_va); }

void user_read_unguarded(u64 target) {
  setup_user_space();
  copy_template(us.code + kLoopOffset[0], TEMPLATE_OF(user_read_fn));
  run_in_ring3(kUserCode + kLoopOffset[0], target);
}

UserReadFault user_read(u64 target) {
  expected = {};
  x86::set_trap_hook(user_read_hook);
  user_read_unguarded(target);
  x86::set_trap_hook(nullptr);
  return {expected.seen, expected.error_code, expected.cr2};
}

}  // namespace ptb::bench
