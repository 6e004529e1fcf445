#include "bench/runner.h"

#include "arch/x86/cpu.h"
#include "arch/x86/regs.h"
#include "bench/ring3.h"
#include "kernel/console.h"
#include "kernel/options.h"
#include "kernel/run.h"

extern "C" ptb::u64 time_touch_pages(ptb::u64 base, ptb::u64 pages);

namespace ptb::bench {
namespace {

using x86::Cr3;
using x86::Cr4;

i64 samples[kMaxReps];
// The unrolled loops are generated here: the only RWX memory in the kernel.
[[gnu::section(".jit")]] alignas(4096) u8 jit_space[64 * 1024];
char reason_buf[160];

constexpr x86::Pcid kKernelPcid = x86::kernel_pcid(x86::Asid{0});

// ---- CPU state ---------------------------------------------------------------------------

void enter_env(u32 env, const Fixture& fx) {
  if (env & kEnvPcid) {
    // SDM Vol.3 4.10.1: CR4.PCIDE may only be set while CR3[11:0] = 0 (the kernel root's PCID).
    x86::write_cr3(Cr3{fx.kernel_cr3});
    x86::write_cr4(x86::read_cr4().with(Cr4::kPcide, true));
    x86::write_cr3(Cr3{fx.kernel_cr3}.with_pcid(kKernelPcid));
  }
}

void leave_env(u32 env, const Fixture& fx) {
  if (env & kEnvPcid) {
    x86::write_cr3(Cr3{fx.kernel_cr3});
    x86::write_cr4(x86::read_cr4().with(Cr4::kPcide, false));
  }
  // Whatever a variant did to the TLB and CR4.PGE, the next one starts from the same state.
  x86::write_cr4(Cr4{fx.cr4});
  x86::write_cr3(Cr3{fx.kernel_cr3});
}

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

// ---- measurement -------------------------------------------------------------------------

Result measure_loop(const Variant& v, const Fixture& fx, const Params& p) {
  constexpr usize kHalf = sizeof(jit_space) / 2;
  JitFn single = emit_loop(jit_space, kHalf, v.body, p.unroll);
  JitFn twice = emit_loop(jit_space + kHalf, kHalf, v.body, 2 * p.unroll);
  if (!single || !twice) return {Status::kFail, "unrolled loop does not fit the JIT area", {}, 0};
  struct Loops {
    JitFn fn[2];
    JitContext ctx;
  } loops{{single, twice}, {}};
  if (v.setup) v.setup(loops.ctx, fx);
  loops.ctx.iters = p.iters;
  auto run = [](void* c, int which) {
    auto& l = *static_cast<Loops*>(c);
    l.fn[which](&l.ctx);
    return l.ctx.t1 - l.ctx.t0;
  };
  return sample_difference(p, u64{p.iters} * p.unroll * v.ops_per_body, run, &loops);
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

Result measure_refill(const Variant& v, const Fixture& fx, const Params& p) {
  if (v.pages > fx.refill_pages) return {Status::kFail, "more pages than the fixture maps", {}, 0};
  u64 base = v.global ? fx.refill_global : fx.refill_base;
  for (u32 i = 0; i < p.warmup + p.reps; ++i) {
    time_touch_pages(base, v.pages);  // every translation now in the TLB (as far as it holds them)
    flush(v.flush, base, v.pages);
    u64 after_flush = time_touch_pages(base, v.pages);
    u64 warm = time_touch_pages(base, v.pages);
    if (i >= p.warmup) samples[i - p.warmup] = static_cast<i64>(after_flush - warm);
  }
  return {Status::kOk, nullptr, summarize(samples, p.reps, 1.0), 1};
}

void put_stat(TextBuf& j, const char* key, double v) {
  j.put(",\"").put(key).put("\":").put_fixed(v, 3);
}

}  // namespace

Result sample_difference(const Params& p, u64 ops, u64 (*run)(void* ctx, int which), void* ctx) {
  for (u32 i = 0; i < p.warmup + p.reps; ++i) {
    u64 a = run(ctx, 0);
    u64 b = run(ctx, 1);
    // Everything but U·iters bodies is the same in both runs and cancels.
    if (i >= p.warmup) samples[i - p.warmup] = static_cast<i64>(b - a);
  }
  return {Status::kOk, nullptr, summarize(samples, p.reps, static_cast<double>(ops)), ops};
}

i64* sample_buffer() { return samples; }

Params effective_params() {
  const Options& o = options();
  Params p{static_cast<u32>(o.reps), static_cast<u32>(o.unroll), static_cast<u32>(o.iters),
           static_cast<u32>(o.warmup)};
  if (o.suite_kind() == Suite::kQuick) {
    if (p.reps > 11) p.reps = 11;
    if (p.warmup > 2) p.warmup = 2;
  }
  return p;
}

const char* status_name(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kSkip:
      return "skip";
    case Status::kFail:
      return "fail";
  }
  return "?";
}

Result run_variant(const Variant& v, const Fixture& fx, const Params& p, const x86::CpuInfo& cpu) {
  if (const char* missing = missing_feature(v.features, cpu))
    return {Status::kSkip, missing, {}, 0};
  if (v.method == Method::kRing3) return measure_ring3(v, fx, p, cpu);
  enter_env(v.env, fx);
  Result r = v.method == Method::kLoop ? measure_loop(v, fx, p) : measure_refill(v, fx, p);
  leave_env(v.env, fx);
  return r;
}

void emit_result(const Variant& v, const Result& r, const Params& p, u64 tsc_hz) {
  run::Tally& t = run::tally();
  (r.status == Status::kOk ? t.ok : r.status == Status::kSkip ? t.skipped : t.failed)++;

  Text<200> h;
  h.put("  ").put(v.name);
  h.put(" ").pad_to(0, 42);
  h.put(status_name(r.status));
  if (r.status == Status::kOk) {
    h.put("  median ").put_fixed(r.stats.median, 3).put("  q1 ").put_fixed(r.stats.q1, 3);
    h.put("  q3 ").put_fixed(r.stats.q3, 3).put("  min ").put_fixed(r.stats.min, 3);
    h.put("  n ").put_u64(r.stats.n);
    if (tsc_hz)
      h.put("  (").put_fixed(r.stats.median * 1e9 / static_cast<double>(tsc_hz), 3).put(" ns)");
  } else {
    h.put(": ").put(r.reason);
  }
  console::line(h);

  Text<900> j;
  j.put("{\"type\":\"result\",\"name\":").put_json_string(v.name);
  j.put(",\"group\":\"")
      .put(group_name(v.group))
      .put("\",\"status\":\"")
      .put(status_name(r.status))
      .put('"');
  if (r.status != Status::kOk) {
    j.put(",\"reason\":").put_json_string(r.reason);
  } else {
    j.put(",\"unit\":\"tsc\",\"n\":").put_u64(r.stats.n);
    put_stat(j, "min", r.stats.min);
    put_stat(j, "q1", r.stats.q1);
    put_stat(j, "median", r.stats.median);
    put_stat(j, "mean", r.stats.mean);
    put_stat(j, "q3", r.stats.q3);
    put_stat(j, "max", r.stats.max);
    put_stat(j, "stddev", r.stats.stddev);
    if (tsc_hz) put_stat(j, "ns_median", r.stats.median * 1e9 / static_cast<double>(tsc_hz));
    j.put(",\"instructions\":").put_u64(v.instructions);
    if (v.faulting) j.put(",\"faulting\":").put_u64(v.faulting);
    j.put(",\"ops\":").put_u64(r.ops);
    j.put(",\"reps\":").put_u64(p.reps);
    // Refill passes and crossings are single timed events, not unrolled loops.
    if (v.method != Method::kRefill && v.group != Group::kCrossing)
      j.put(",\"unroll\":").put_u64(p.unroll).put(",\"iters\":").put_u64(p.iters);
    j.put(",\"warmup\":").put_u64(p.warmup);
  }
  if (v.method == Method::kRefill) {
    j.put(",\"flush\":\"").put(flush_name(v.flush)).put("\",\"pages\":").put_u64(v.pages);
    j.put(",\"global\":").put(v.global ? "true" : "false");
  }
  if (v.method == Method::kRing3) ring3_record_fields(j, v);
  j.put('}');
  console::record(j);
}

namespace {

// The refill points kept on a crowded screen.
bool screen_worthy(const Variant& v, u32 level) {
  if (v.method != Method::kRefill || level == 0) return true;
  return v.pages == 1 || v.pages == 64 || (level == 1 && v.pages == 1024);
}

}  // namespace

// The last thing on the screen: every result in columns, sized to the screen, so that a machine
// without a serial port keeps the results in view (serial has the full table already). The
// refill curve is thinned first when it does not fit.
void print_screen_summary(const Variant* v, const Result* r, usize n, bool bare_metal) {
  const u32 cols = console::screen_columns(), rows = console::screen_rows();
  if (cols < 40 || rows < 5 || n == 0) return;
  constexpr u32 kCell = 40;
  const u32 per_row = cols / kCell;
  const u32 lines = rows - 4;  // title, note, the PASS/FAIL line, and the line after it
  u32 level = 0;
  usize shown = 0;
  for (; level < 3; ++level) {
    shown = 0;
    for (usize i = 0; i < n; ++i) shown += screen_worthy(v[i], level) ? 1 : 0;
    if (shown <= usize{per_row} * lines) break;
  }
  const usize capacity = usize{per_row} * lines;
  const usize height = (shown < capacity ? shown : capacity) / per_row + ((shown % per_row) != 0);
  console::screen_clear();
  Text<200> t;
  t.put("ptibench: median TSC ticks per operation");  // fits 80 columns
  if (level > 0) t.put(" (refill curve thinned)");
  console::screen_line(t);
  // Column-major: read down, then across.
  const Variant* order[256];
  usize m = 0;
  for (usize i = 0; i < n && m < 256; ++i)
    if (screen_worthy(v[i], level)) order[m++] = &v[i];
  for (usize row = 0; row < height && row < lines; ++row) {
    t.clear();
    for (u32 c = 0; c < per_row; ++c) {
      usize k = c * height + row;
      if (k >= m || k >= capacity) break;
      const Result& res = r[order[k] - v];
      usize start = t.size();
      // The name, then the value right-aligned in the cell's last 9 columns.
      Text<24> value;
      if (res.status == Status::kOk) {
        value.put_fixed(res.stats.median, res.stats.median < 100 ? 2 : 0);
      } else {
        value.put(status_name(res.status));
      }
      t.put(order[k]->name).put(' ');
      while (t.size() < start + kCell - 1 - value.size()) t.put(' ');
      t.put(value.c_str()).pad_to(start, kCell);
    }
    console::screen_line(t);
  }
  t.clear();
  if (m > capacity) t.put("... more in the serial log. ");
  if (!bare_metal) t.put("Not bare metal: not hardware timings.");
  console::screen_line(t);
}

void print_table(const Variant* v, const Result* r, usize n, u64 tsc_hz, bool bare_metal) {
  console::line("");
  console::line("ptibench results (TSC ticks per operation; median [q1 .. q3]):");
  for (usize i = 0; i < n; ++i) {
    Text<200> t;
    t.put(v[i].name).put(" ").pad_to(0, 40);
    if (r[i].status == Status::kOk) {
      usize col = t.size();
      t.put_fixed(r[i].stats.median, 3).pad_to(col, 10).put(" [").put_fixed(r[i].stats.q1, 3);
      t.put(" .. ").put_fixed(r[i].stats.q3, 3).put(']');
      if (tsc_hz)
        t.put("  ").put_fixed(r[i].stats.median * 1e9 / static_cast<double>(tsc_hz), 1).put(" ns");
    } else {
      t.put(status_name(r[i].status)).put(": ").put(r[i].reason);
    }
    console::line(t);
  }
  if (!bare_metal)
    console::line("(not bare metal: see the NOTE above; these are not hardware timings)");
}

}  // namespace ptb::bench
