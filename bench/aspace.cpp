#include "bench/aspace.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_setup.h"
#include "arch/x86/layout.h"
#include "arch/x86/page_table.h"
#include "arch/x86/regs.h"
#include "bench/aspace_paths.h"
#include "bench/counters.h"
#include "bench/options.h"
#include "bench/symbols.h"
#include "bench/user_space.h"
#include "kernel/memory.h"
#include "kernel/run.h"
#include "lib/format.h"

// What the lab's system call (bench/aspace.asm) reads and writes; the shared page's four in
// .entry.data, which the user half maps (the entry reads the page there first).
#define ENTRY_DATA [[gnu::section(".entry.data")]]
extern "C" {
ptb::u64 aspace_kk_base, aspace_kk_count;
ENTRY_DATA ptb::u64 aspace_shared_page, aspace_shared_magic;
ENTRY_DATA ptb::u64 aspace_kernel_stale, aspace_kernel_bad;
alignas(64) ptb::u64 aspace_user_flush[ptb::bench::aspace::kMaskWords];
ptb::u64 aspace_piece(void* ops, int which);
}
#undef ENTRY_DATA

namespace ptb::bench {
namespace {

using aspace::Policy;
using x86::Cr3;
using x86::Pcid;
using x86::Pte;

// The working sets (PML4 253: mapped only in the processes' own tables), the shared kernel page
// (PML4 252, in the kernel's tables and in both halves of every process), and in the benchmark
// slot the Kk kernel pages (non-global, then the same frames global).
constexpr u64 kPrivateBase = u64{253} << 39;
constexpr u64 kSharedPage = u64{252} << 39;
constexpr u64 kKernelPages = memory::kBenchBase + (u64{5} << 30);
constexpr u64 kKernelPagesGlobal = memory::kBenchBase + (u64{6} << 30);
static_assert(x86::table_index(kPrivateBase, 4) != x86::table_index(memory::kBenchBase, 4) &&
              x86::table_index(kPrivateBase, 4) != x86::table_index(memory::kUserBase, 4));
static_assert(x86::table_index(kSharedPage, 4) != x86::table_index(memory::kBenchBase, 4) &&
              x86::table_index(kSharedPage, 4) != x86::table_index(kPrivateBase, 4));

struct Lab {
  bool ready = false;
  u32 built = 0;                      // processes with tables
  u32 pages = 0;                      // W, fixed for the run
  u64 root[aspace::kMaxProcesses]{};  // each process's kernel PGD; its user PGD is 4 KiB above
  u64 shared_frame[2]{};
  u64* shared_pte = nullptr;
  u32 shared_now = 0;
} lab;

aspace::AsidState state;
aspace::Figures figures;
i64 switch_samples[kMaxReps], flush_samples[kMaxReps];
i64 declared_slices[kMaxReps], declared_switches[kMaxReps], declared_flushes[kMaxReps];
i64 declared_counted[kMaxReps];  // what inst_retired must count: less the stamps' share
i64 switch_counter_samples[x86::pmu::kMaxCounters][kMaxReps];
char reason[200];

void map_or_fail(x86::MapError e) {
  if (e != x86::MapError::kNone) run::fail(x86::map_error_name(e));
}

void setup_lab() {
  if (lab.ready) return;
  setup_user_space();  // the shared user code, data and stack, and the PTI user tables
  x86::PageTable& kt = memory::kernel_tables();
  const u64 nx = memory::nx_bit();
  const u32 kk = lab_max_kernel_pages();
  for (u32 i = 0; i < kk; ++i) {
    const u64 frame = memory::alloc_zeroed();
    map_or_fail(kt.map_4k(kKernelPages + u64{i} * x86::kPage, frame, Pte::kWritable | nx));
    map_or_fail(kt.map_4k(kKernelPagesGlobal + u64{i} * x86::kPage, frame,
                          Pte::kWritable | nx | Pte::kGlobal));
  }
  for (u32 f = 0; f < 2; ++f) {
    lab.shared_frame[f] = memory::alloc_zeroed();
    *reinterpret_cast<u64*>(lab.shared_frame[f]) = aspace::kernel_page_magic(f);
  }
  map_or_fail(kt.map_4k(kSharedPage, lab.shared_frame[0], Pte::kWritable | nx));
  lab.shared_pte = kt.entry(kSharedPage, 1);
  if (!lab.shared_pte) run::fail("aspace: no page table entry for the shared kernel page");
  lab.pages = static_cast<u32>(options().aspace_w);
  lab.ready = true;
}

// Process p's PTI pair: copies of the kernel's and the PTI user PGD (so both share every
// mapping below them), plus the working set in slot 253 of both.
void build_processes(u32 n) {
  // aspace_broken=global: a translation that survives every CR3 write, so that the magic check
  // has something to catch on any CPU that honours global pages (Bochs does).
  const u64 flags = Pte::kUser | memory::nx_bit() | (options().aspace_broken ? Pte::kGlobal : 0);
  const u64* kernel_pgd = reinterpret_cast<const u64*>(memory::kernel_cr3().table());
  const u64* user_pgd = memory::user_pml4();
  const unsigned slot = x86::table_index(kPrivateBase, 4);
  const unsigned shared_slot = x86::table_index(kSharedPage, 4);
  for (u32 p = lab.built; p < n; ++p) {
    const u64 pair = memory::frames().alloc_contiguous(2, 2 * x86::kPage, memory::kLowTableLimit);
    if (pair == 0) run::fail("aspace: no 8 KiB-aligned pair of frames for a process's PGDs");
    u64* k = reinterpret_cast<u64*>(pair);
    u64* u = reinterpret_cast<u64*>(pair + x86::kUserPgdOffset);
    for (unsigned i = 0; i < x86::kEntries; ++i) {
      k[i] = kernel_pgd[i];
      u[i] = user_pgd[i];
    }
    x86::PageTable tables(memory::table_arena(), pair);
    for (u32 w = 0; w < lab.pages; ++w) {
      const u64 frame = memory::alloc_zeroed();
      *reinterpret_cast<u64*>(frame) = aspace::page_magic(p, w);
      map_or_fail(tables.map_4k(kPrivateBase + u64{w} * x86::kPage, frame, flags));
    }
    u[slot] = k[slot];
    u[shared_slot] = k[shared_slot];
    lab.root[p] = pair;
  }
  if (n > lab.built) lab.built = n;
}

// The INVPCID descriptors of one kernel flush: a kernel and a user PCID for every slot.
struct Descriptor {
  u64 pcid, address;
};
Descriptor descriptors[2 * aspace::kMaxSlots];

// The LabCpu (bench/asid_policy.h) of this machine. The policy's calls only record the work
// (remapping the shared page is bookkeeping, done at once); run_user, the last call of every
// slice, then runs the slice's pieces (bench/aspace.asm aspace_piece), each between its own two
// stamps and in its own counter window, and derives each piece's instruction count from what was
// decided (bench/aspace_paths.h). So the slice's ticks hold only the hardware work the decision
// asked for, never the policy's C++ (our bookkeeping, not the cost being measured).
struct KernelCpu {
  UserFunction fn;
  u32 calls;
  bool pcid;
  x86::EntryScheme scheme;
  aspace::SliceOps ops{};
  bool flush = false;  // this slice has a kernel flush
  // The last slice's ticks and declared instructions per piece (flush: only when `flush`).
  u64 ticks[3]{}, declared[3]{};
  i64 switch_deltas[x86::pmu::kMaxCounters]{};

  void load_kernel(u32 p, Pcid pcid_value, bool noflush) {
    ops.write_cr3 = 1;
    ops.cr3 = Cr3::root(lab.root[p]).with_pcid(pcid_value).with_noflush(noflush).raw;
  }
  void run_user(u32 p, Pcid user, bool noflush, Pcid kernel) {
    x86::PerCpu& pc = x86::percpu();
    // Bit 63 only with PCID: QEMU without it hangs on the write (../shared/ENVIRONMENT.md).
    pc.kernel_cr3 = Cr3::root(lab.root[p]).with_pcid(kernel).with_noflush(pcid).raw;
    pc.user_cr3 = Cr3{Cr3::root(lab.root[p]).with_pcid(user).raw | x86::kUserPgdOffset}
                      .with_noflush(noflush)
                      .raw;
    // Written through the kernel's identity view of the user data frame, not through the user
    // mapping: between a deferred switch and this return the kernel touches no user address
    // (the deferred policy's condition, bench/asid_policy.h).
    auto* ctx = reinterpret_cast<aspace::UserContext*>(fn.context);
    *ctx = {kPrivateBase, lab.pages, aspace::page_magic(p, 0), calls, 0, 0, 0};
    // ring3_enter's arguments as run_user_function passes them, but with the stack at the top
    // of the context's page (aspace_slice pushes nothing; user_main's call pushes 8 bytes).
    ops.user_rip = user_code_address();
    ops.user_rsp = fn.context_va + x86::kPage;
    ops.user_arg = fn.context_va;
    ops.user_fn = fn.fn;
    const u64 kernel_stale = aspace_kernel_stale;
    run_pieces();
    if (ctx->stale) {
      if (figures.stale_user + figures.stale_kernel == 0)
        figures.bad_process = p, figures.bad_page = static_cast<u32>(ctx->bad_page),
        figures.bad_in_kernel = false, figures.bad_value = ctx->bad_value;
      figures.stale_user += ctx->stale;
    }
    if (aspace_kernel_stale != kernel_stale) {
      if (figures.stale_user + figures.stale_kernel == 0)
        figures.bad_process = p, figures.bad_page = 0, figures.bad_in_kernel = true,
        figures.bad_value = aspace_kernel_bad;
      figures.stale_kernel += aspace_kernel_stale - kernel_stale;
    }
  }
  void invpcid_addr(Pcid p) { descriptors[ops.invpcids++] = {p.value, kSharedPage}; }
  void invlpg() { ops.invlpg = kSharedPage; }
  void remap_kernel_page() {
    flush = true;
    lab.shared_now ^= 1;
    *lab.shared_pte = (*lab.shared_pte & Pte::kFlagsMask) | lab.shared_frame[lab.shared_now];
    aspace_shared_magic = aspace::kernel_page_magic(lab.shared_now);
  }

  // One piece in a counter window, less the same window around Piece::kNone (the stamps and the
  // dispatch), so the counters see the piece's own instructions; returns its ticks.
  u64 piece(aspace::Piece which) {
    counters::counted(aspace_piece, &ops, static_cast<int>(which), +1);
    const u64 t = ops.t1 - ops.t0;
    if (counters::on())
      counters::counted(aspace_piece, &ops, static_cast<int>(aspace::Piece::kNone), -1);
    return t;
  }
  void run_pieces() {
    namespace paths = aspace::paths;
    const u32 nc = counters::on() ? counters::plan().count : 0;
    counters::sample_begin();
    if (flush) {
      ticks[0] = piece(aspace::Piece::kFlush);
      declared[0] = paths::flush(ops.invpcids, ops.invlpg != 0);
    }
    i64 before[x86::pmu::kMaxCounters];
    for (u32 c = 0; c < nc; ++c) before[c] = counters::sample_deltas()[c];
    ticks[1] = piece(aspace::Piece::kSwitch);
    declared[1] = paths::swtch(ops.write_cr3 != 0);
    for (u32 c = 0; c < nc; ++c) switch_deltas[c] = counters::sample_deltas()[c] - before[c];
    ticks[2] = piece(aspace::Piece::kUser);
    declared[2] = paths::user(scheme, lab.pages, calls, aspace_kk_count);
    ops.invpcids = 0;
    ops.invlpg = 0;
    ops.write_cr3 = 0;
  }
  // The slice's pieces, summed (the flush only where there was one); next slice from scratch.
  u64 slice_ticks() const { return (flush ? ticks[0] : 0) + ticks[1] + ticks[2]; }
  u64 slice_declared() const { return (flush ? declared[0] : 0) + declared[1] + declared[2]; }
  u32 pieces() const { return flush ? 3 : 2; }
};
static_assert(aspace::LabCpu<KernelCpu>);

const char* stale_reason(const Row& row) {
  TextBuf t(reason, sizeof(reason));
  Text<kNameMax> name;
  put_name(name, row);
  t.put("stale read (").put_u64(figures.stale_user + figures.stale_kernel).put("): ");
  t.put(name.c_str()).put(", process ").put_u64(figures.bad_process);
  if (figures.bad_in_kernel) {
    t.put(", the shared kernel page read ").put_hex(figures.bad_value);
  } else {
    t.put(", page ").put_u64(figures.bad_page).put(" read ").put_hex(figures.bad_value);
    t.put(" (expected ").put_hex(aspace::page_magic(figures.bad_process, figures.bad_page));
    t.put(')');
  }
  return reason;
}

// The plan's inst_retired counter, or -1.
int inst_counter() {
  const x86::pmu::Plan& plan = counters::plan();
  for (u32 c = 0; counters::on() && c < plan.count; ++c)
    if (str_eq(plan.counters[c].name(), "inst_retired")) return static_cast<int>(c);
  return -1;
}

}  // namespace

Result measure_aspace(const Row& row, const Params& p, const x86::CpuInfo& cpu) {
  // noinvpcid rows take Linux's INVPCID-less path on a CPU that has INVPCID.
  const aspace::Config cfg{row.lab.policy, row.lab.slots, row.lab.processes,
                           cpu.has(x86::Feature::kInvpcid) && !row.lab.no_invpcid};
  if (const char* why = aspace::AsidState::invalid(cfg)) return {Status::kFail, why};
  setup_lab();
  build_processes(cfg.processes);

  const u32 flush_every = static_cast<u32>(options().aspace_m);
  const aspace::RunSpec spec{cfg, row.lab.schedule, aspace::run_slices(cfg.processes, p.reps),
                             flush_every};
  figures = {};
  figures.pages = lab.pages;
  figures.calls = static_cast<u32>(options().aspace_k);
  figures.flush_every = flush_every;
  figures.slices = spec.slices;
  figures.invpcid = cfg.invpcid;
  aspace_kk_base = row.global ? kKernelPagesGlobal : kKernelPages;
  aspace_kk_count = row.lab.kernel_pages;
  aspace_shared_page = kSharedPage;
  aspace_shared_magic = aspace::kernel_page_magic(lab.shared_now);
  aspace_kernel_stale = 0;

  KernelCpu kc{install_user_function(row.body), figures.calls, cfg.policy != Policy::kNopcid,
               row.env.scheme};
  kc.ops.desc = reinterpret_cast<u64>(descriptors);
  i64* slice_samples = sample_buffer();
  const u32 warm = aspace::warmup_slices(cfg.processes);
  const int inst = inst_counter();
  const u32 nc = counters::on() ? counters::plan().count : 0;
  u32 flushes = 0;
  const u64 disturbed_before = disturbances();
  aspace::run(state, kc, spec, aspace_user_flush, [&](u32 i, u32 step) {
    // KernelCpu::run_user has run and stamped the slice's pieces, and read the counters around
    // each of them outside its stamps.
    if (step == 0) kc.flush = false;
    if (step != 3 || i < warm) return;
    const u32 n = i - warm;
    store_counter_sample(n);
    slice_samples[n] = static_cast<i64>(kc.slice_ticks());
    declared_slices[n] = static_cast<i64>(kc.slice_declared());
    switch_samples[n] = static_cast<i64>(kc.ticks[1]);
    declared_switches[n] = static_cast<i64>(kc.declared[1]);
    const bool exact = kc.ticks[1] == kc.declared[1] && kc.ticks[2] == kc.declared[2] &&
                       (!kc.flush || kc.ticks[0] == kc.declared[0]);
    if (!exact) ++figures.tick_mismatches;
    // The counters see each piece less the stamps' own share (KernelCpu::piece).
    declared_counted[n] = declared_slices[n] - kc.pieces() * aspace::paths::kStamps;
    if (inst >= 0 && counters::sample_deltas()[inst] != declared_counted[n])
      ++figures.inst_mismatches;
    for (u32 c = 0; c < nc; ++c) switch_counter_samples[c][n] = kc.switch_deltas[c];
    if (kc.flush) {
      flush_samples[flushes] = static_cast<i64>(kc.ticks[0]);
      declared_flushes[flushes++] = static_cast<i64>(kc.declared[0]);
    }
  });
  figures.counts = state.counts();
  figures.per_switch = summarize(switch_samples, p.reps, 1.0);
  figures.per_flush = summarize(flush_samples, flushes, 1.0);
  figures.instructions = summarize(declared_slices, p.reps, 1.0);
  figures.switch_instructions = summarize(declared_switches, p.reps, 1.0);
  figures.flush_instructions = summarize(declared_flushes, flushes, 1.0);
  figures.inst_checked = inst >= 0;
  figures.counted_instructions = summarize(declared_counted, p.reps, 1.0);
  figures.switch_counter_count = nc;
  for (u32 c = 0; c < nc; ++c)
    figures.switch_counters[c] = summarize(switch_counter_samples[c], p.reps, 1.0);

  Result r = summarize_samples(p, 1);
  summarize_counter_samples(r, p.reps, 1);
  // NMIs (and SMIs) cannot be kept out; a slice they hit is not measured again (the schedule is
  // one run), so the record says how many arrived during it.
  r.disturbed = static_cast<u32>(disturbances() - disturbed_before);
  r.lab = &figures;
  if (figures.stale_user + figures.stale_kernel) {
    r.status = Status::kFail;
    r.reason = stale_reason(row);
  }
  return r;
}

}  // namespace ptb::bench
