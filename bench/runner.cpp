#include "bench/runner.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_setup.h"
#include "arch/x86/regs.h"
#include "bench/env.h"
#include "bench/ipi.h"
#include "bench/shootdown.h"
#include "bench/jit.h"
#include "bench/probe_cpu.h"
#include "bench/user_space.h"
#include "lib/format.h"

extern "C" ptb::u64 time_touch_pages(ptb::u64 base, ptb::u64 pages);

namespace ptb::bench {
namespace {

i64 samples[kMaxReps];
i64 raw[kMaxReps];
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
  } refill{row.global ? fx.refill_global : fx.refill_base, row.pages, row.flush};
  auto sample = [](void* c) {
    const auto& r = *static_cast<Refill*>(c);
    time_touch_pages(r.base, r.pages);  // every translation now in the TLB (as far as it holds)
    flush(r.flush, r.base, r.pages);
    const u64 after_flush = time_touch_pages(r.base, r.pages);
    const u64 warm = time_touch_pages(r.base, r.pages);
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
      return measure_probe(row, fx, p);
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
  for (u32 i = 0; i < p.warmup + p.reps; ++i) {
    const u64 nmis = nmi_count();
    const i64 v = sample(ctx);
    if (nmi_count() != nmis) {  // an NMI ran during the repetition: measure it again
      if (++disturbed > max_disturbed(p)) return too_disturbed(disturbed);
      --i;
      continue;
    }
    if (i >= p.warmup) samples[i - p.warmup] = v;
  }
  Result r = summarize_samples(p, ops);
  r.disturbed = disturbed;
  return r;
}

Result sample_difference(const Params& p, u64 ops, u64 (*run)(void* ctx, int which), void* ctx) {
  struct Pair {
    u64 (*run)(void*, int);
    void* ctx;
  } pair{run, ctx};
  // Everything but U·iters bodies is the same in both runs and cancels.
  auto difference = [](void* c) {
    const auto& q = *static_cast<Pair*>(c);
    const u64 a = q.run(q.ctx, 0);
    const u64 b = q.run(q.ctx, 1);
    return static_cast<i64>(b - a);
  };
  return sample_repetitions(p, ops, difference, &pair);
}

Result too_disturbed(u32 disturbed) {
  TextBuf t(reason_buf, sizeof(reason_buf));
  t.put("NMIs disturbed ").put_u64(disturbed).put(" repetitions; gave up measuring");
  Result r{Status::kFail, reason_buf};
  r.disturbed = disturbed;
  return r;
}

// The calling CPU's: the IPI rows sample on whichever CPU is the source.
u64 nmi_count() { return *static_cast<volatile u64*>(&x86::this_cpu().nmi_count); }

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
  EnvScope env(row.env);
  return measure(row, fx, p, cpu);
}

}  // namespace ptb::bench
