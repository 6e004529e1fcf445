#include "bench/runner.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_setup.h"
#include "arch/x86/regs.h"
#include "bench/aspace.h"
#include "bench/counters.h"
#include "bench/env.h"
#include "bench/ipi.h"
#include "bench/jit.h"
#include "bench/probe_cpu.h"
#include "bench/shootdown.h"
#include "bench/user_space.h"
#include "lib/format.h"

extern "C" ptb::u64 time_touch_pages(ptb::u64 base, ptb::u64 pages);
extern "C" ptb::u64 time_chase_pages(ptb::u64 base, ptb::u64 pages);

namespace ptb::bench {
namespace {

i64 samples[kMaxReps];
i64 raw[kMaxReps];
// The counters' deltas per repetition, beside the ticks (counters::on() only).
i64 counter_samples[x86::pmu::kMaxCounters][kMaxReps];
// The unrolled loops are generated here: the only RWX memory in the kernel.
[[gnu::section(".jit")]] alignas(4096) u8 jit_space[64 * 1024];
char reason_buf[160];

constexpr x86::Pcid kKernelPcid = x86::kernel_pcid(x86::Asid{0});

const char* missing_feature(u64 features, const x86::CpuInfo& cpu) {
  for (u32 f = 0; f < static_cast<u32>(x86::Feature::kCount); ++f) {
    if ((features >> f & 1) && !cpu.has(static_cast<x86::Feature>(f))) {
      TextBuf t(reason_buf, sizeof(reason_buf));
      const x86::FeatureInfo& info = x86::feature_info(static_cast<x86::Feature>(f));
      t.put("CPU lacks ").put(info.name).put(" (").put(info.cpuid_bit).put(')');
      return reason_buf;
    }
  }
  return nullptr;
}

Result measure_loop(const Row& row, const Fixture& fx, const Params& p) {
  constexpr usize kHalf = sizeof(jit_space) / 2;
  JitFn single = emit_loop(jit_space, kHalf, row.body, p.unroll);
  JitFn twice = emit_loop(jit_space + kHalf, kHalf, row.body, 2 * p.unroll);
  if (!single || !twice) return {Status::kFail, "unrolled loop does not fit the JIT area"};
  if (row.pure) {  // run the same code through the JIT area's global alias
    const u64 space = reinterpret_cast<u64>(jit_space);
    if (fx.jit_global == 0 || space < fx.jit_base ||
        space + sizeof(jit_space) > fx.jit_base + fx.jit_size)
      return {Status::kFail, "the JIT area has no global alias"};
    const u64 alias = fx.jit_global - fx.jit_base;
    single = reinterpret_cast<JitFn>(reinterpret_cast<u64>(single) + alias);
    twice = reinterpret_cast<JitFn>(reinterpret_cast<u64>(twice) + alias);
    // Code written through one linear address and fetched through another: a serialising
    // instruction in between (SDM Vol.3 11.6, "Self-Modifying Code").
    x86::cpuid(0);
  }
  struct Loops {
    JitFn fn[2];
    JitContext ctx;
  } loops{{single, twice}, {}};
  if (row.setup) row.setup(loops.ctx, fx);
  loops.ctx.iters = p.iters;
  auto run = [](void* c, int which) {
    auto& l = *static_cast<Loops*>(c);
    l.fn[which](&l.ctx);
    return l.ctx.t1 - l.ctx.t0;
  };
  return sample_difference(p, u64{p.iters} * p.unroll * row.ops_per_body, run, &loops);
}

void flush(Flush f, u64 base, u32 pages) {
  switch (f) {
    case Flush::kNone:
      break;
    case Flush::kCr3:
      x86::write_cr3(x86::read_cr3().with_noflush(false));
      break;
    case Flush::kCr3Noflush:
      x86::write_cr3(x86::read_cr3().with_noflush(true));
      break;
    case Flush::kInvpcidSingle:
      x86::invpcid_single(kKernelPcid);
      break;
    case Flush::kInvlpg:
      for (u32 i = 0; i < pages; ++i) x86::invlpg(reinterpret_cast<void*>(base + u64{i} * 4096));
      break;
  }
}

Result measure_refill(const Row& row, const Fixture& fx, const Params& p) {
  if (row.pages > fx.refill_pages) return {Status::kFail, "more pages than the fixture maps"};
  struct Refill {
    u64 base;
    u32 pages;
    Flush flush;
    u64 (*pass)(u64 base, u64 pages);  // one timed pass (bench/bodies.asm)
  } refill{row.global ? fx.refill_global : fx.refill_base, row.pages, row.flush,
           row.access == Access::kChase ? time_chase_pages : time_touch_pages};
  auto sample = [](void* c) {
    const auto& r = *static_cast<Refill*>(c);
    r.pass(r.base, r.pages);  // every translation now in the TLB (as far as it holds)
    flush(r.flush, r.base, r.pages);
    auto touch = [](void* c, int) {
      const auto& t = *static_cast<const Refill*>(c);
      return t.pass(t.base, t.pages);
    };
    const u64 after_flush = counters::counted(touch, c, 0, +1);
    const u64 warm = counters::counted(touch, c, 0, -1);
    return static_cast<i64>(after_flush - warm);
  };
  return sample_repetitions(p, 1, sample, &refill);
}

Result measure(const Row& row, const Fixture& fx, const Params& p, const x86::CpuInfo& cpu) {
  switch (row.method) {
    case Method::kLoop:
      return measure_loop(row, fx, p);
    case Method::kRefill:
      return measure_refill(row, fx, p);
    case Method::kRing3Loop:
      return measure_ring3_loop(row, p);
    case Method::kCrossing:
      return measure_crossing(row, p);
    case Method::kProbe:
      return measure_probe(row, fx, p, cpu);
    case Method::kAspace:
      return measure_aspace(row, p, cpu);
    case Method::kIpiFixed:
    case Method::kIpiPoll:
      return measure_ipi(row, p);
    case Method::kShootdown:
      return measure_shootdown(row, p, cpu);
  }
  return {Status::kFail, "unknown method"};
}

}  // namespace

Result sample_repetitions(const Params& p, u64 ops, i64 (*sample)(void* ctx), void* ctx) {
  u32 disturbed = 0;
  const u64 windows = counters::window_count();
  for (u32 i = 0; i < p.warmup + p.reps; ++i) {
    const u64 before = disturbances();
    counters::sample_begin();
    const i64 v = sample(ctx);
    if (disturbances() != before) {  // an NMI or SMI ran during the repetition: measure it again
      if (++disturbed > max_disturbed(p)) return too_disturbed(disturbed);
      --i;
      continue;
    }
    if (i < p.warmup) continue;
    samples[i - p.warmup] = v;
    store_counter_sample(i - p.warmup);
  }
  Result r = summarize_samples(p, ops);
  r.disturbed = disturbed;
  if (counters::window_count() != windows) summarize_counter_samples(r, p.reps, ops);
  return r;
}

void store_counter_sample(u32 index) {
  if (!counters::on() || index >= kMaxReps) return;
  const i64* d = counters::sample_deltas();
  for (u32 c = 0; c < counters::plan().count; ++c) counter_samples[c][index] = d[c];
}

void summarize_counter_samples(Result& r, u32 n, u64 ops) {
  summarize_counter_samples(r, n, ops, counters::on() ? counters::plan().count : 0);
}

void store_counter_value(u32 counter, u32 index, i64 value) {
  if (counter < x86::pmu::kMaxCounters && index < kMaxReps) counter_samples[counter][index] = value;
}

void summarize_counter_samples(Result& r, u32 n, u64 ops, u32 count) {
  r.counter_count = count < x86::pmu::kMaxCounters ? count : x86::pmu::kMaxCounters;
  for (u32 c = 0; c < r.counter_count; ++c)
    r.counters[c] = summarize(counter_samples[c], n, static_cast<double>(ops));
}

Result sample_difference(const Params& p, u64 ops, u64 (*run)(void* ctx, int which), void* ctx) {
  struct Pair {
    u64 (*run)(void*, int);
    void* ctx;
  } pair{run, ctx};
  // Everything but U·iters bodies is the same in both runs and cancels.
  auto difference = [](void* c) {
    const auto& q = *static_cast<Pair*>(c);
    const u64 a = counters::counted(q.run, q.ctx, 0, -1);
    const u64 b = counters::counted(q.run, q.ctx, 1, +1);
    return static_cast<i64>(b - a);
  };
  return sample_repetitions(p, ops, difference, &pair);
}

Result too_disturbed(u32 disturbed) {
  TextBuf t(reason_buf, sizeof(reason_buf));
  t.put("NMIs or SMIs disturbed ").put_u64(disturbed).put(" repetitions; gave up measuring");
  Result r{Status::kFail, reason_buf};
  r.disturbed = disturbed;
  return r;
}

// The calling CPU's: the IPI rows sample on whichever CPU is the source.
u64 nmi_count() { return *static_cast<volatile u64*>(&x86::this_cpu().nmi_count); }

u64 disturbances() { return nmi_count() + counters::smi_count(); }

Result summarize_samples(const Params& p, u64 ops) {
  for (u32 i = 0; i < p.reps; ++i) raw[i] = samples[i];  // summarize() sorts in place
  Result r{Status::kOk, nullptr, summarize(samples, p.reps, static_cast<double>(ops)), ops};
  r.raw = raw;
  return r;
}

i64* sample_buffer() { return samples; }

Result run_row(const Row& row, const Fixture& fx, const Params& p, const x86::CpuInfo& cpu) {
  if (const char* missing = missing_feature(row.features, cpu)) return {Status::kSkip, missing};
  if (row.method == Method::kRing3Loop || row.method == Method::kCrossing) setup_user_space();
  const counters::VariantStart meters = counters::variant_begin();
  Result r;
  {
    EnvScope env(row.env);
    r = measure(row, fx, p, cpu);
  }
  const counters::VariantMeters m = counters::variant_end(meters);
  r.has_core_ratio = m.ratio_ok;
  r.core_ratio = m.core_ratio;
  r.has_smis = m.smi_ok;
  r.smis = m.smis;
  return r;
}

}  // namespace ptb::bench
