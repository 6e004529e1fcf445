#include "bench/output.h"

#include "bench/counters.h"
#include "bench/guest_exits.h"
#include "bench/render.h"
#include "kernel/console.h"
#include "kernel/run.h"
#include "lib/json.h"

namespace ptb::bench {
namespace {

// One result record at a time; samples=raw with reps=10000 needs about 120 KiB.
char record_buf[128 * 1024];

void put_stats(JsonRecord& j, const Summary& s) {
  j.fixed("min", s.min).fixed("q1", s.q1).fixed("median", s.median).fixed("mean", s.mean);
  j.fixed("q3", s.q3).fixed("max", s.max).fixed("stddev", s.stddev);
}

// Refill passes and crossings are single timed events, not unrolled loops.
bool unrolled(const Row& row) {
  return row.method == Method::kLoop || row.method == Method::kRing3Loop;
}
bool ring3(const Row& row) {
  return row.method == Method::kRing3Loop || row.method == Method::kCrossing;
}
bool probe_row(const Row& row) { return row.method == Method::kProbe; }

// A probe row's spec, and whether the probe ran (a skipped one has no observation).
const ProbeSpec* spec_of(const Row& row) {
  usize n = 0;
  const ProbeSpec* specs = probe_specs(&n);
  return probe_row(row) && row.probe < n ? &specs[row.probe] : nullptr;
}
bool probe_ran(const Result& r) { return r.status != Status::kSkip && r.probe.reads > 0; }
const char* verdict_name(const Judgement& j) {
  return j.broken ? "broken" : j.violation ? "violation" : "ok";
}

// "kept (31/31 kept), may-keep: ok" (what the end-of-run tables and the human line say of a probe),
// "may-keep (APM): ok" when the verdict applied the APM's rule.
void put_probe_outcome(TextBuf& t, const ProbeSpec& s, const Result& r) {
  const Judgement j = judge(s, r.probe);
  t.put(seen_name(j.seen)).put(" (").put_u64(r.probe.kept).put('/').put_u64(r.probe.reads);
  t.put(" kept), ").put(rule_name(j.applied.rule));
  if (j.applied.manual == Manual::kApm) t.put(" (APM)");
  t.put(": ").put(verdict_name(j));
}

// observed, kept, reads, architecture, reference (the SDM's), global, architecture_amd and
// reference_amd (the APM's, where cited), verdict and manual (which of the two the verdict
// applied) (docs/output-format.md).
void put_probe_fields(JsonRecord& j, const ProbeSpec& s, const Result& r) {
  const bool ran = probe_ran(r);
  const Judgement v = judge(s, r.probe);
  if (ran)
    j.str("observed", seen_name(v.seen)).num("kept", r.probe.kept).num("reads", r.probe.reads);
  if (ran && r.probe.other) j.num("other", r.probe.other);
  if (ran) j.num("disturbed", r.probe.disturbed);
  j.str("architecture", rule_name(s.rule))
      .str("reference", s.reference)
      .boolean("global", s.global);
  if (s.apm.reference)
    j.str("architecture_amd", rule_name(s.apm.rule)).str("reference_amd", s.apm.reference);
  if (ran) j.str("verdict", verdict_name(v)).str("manual", manual_name(v.applied.manual));
}

// The plan that names a record's counter figures: a crossing's come from its counter passes
// (bench/crossing_counters.h), whose plan is the fake's under crossing_counters=fake-tsc.
const x86::pmu::Plan& plan_of(const Row& row) {
  return row.method == Method::kCrossing ? counters::crossing_plan() : counters::plan();
}

// The exactness check of an ok record whose retired instructions are counted and whose row
// declares its count exactly (loops, ring-3 loops, refill passes, crossings; the lab's slices
// each declare their own, bench/aspace.cpp): bench/pmu_check.h. A crossing's counters come from
// its counter pass, which executes kCounterStampExtra instructions more than the declared (tick
// pass's) count. Made once per record, for the record and the summary's tally.
struct Exactness {
  bool checked = false;
  bool mismatch = false;
  double diff = 0;  // measured median - declared, per operation
};
Exactness exactness_of(const Row& row, const Result& r) {
  Exactness e;
  const bool crossing = row.method == Method::kCrossing;
  const bool declared = row.method == Method::kLoop || row.method == Method::kRing3Loop ||
                        row.method == Method::kRefill || crossing;
  const u32 expected = crossing ? counter_pass_instructions(row.instructions) : row.instructions;
  const x86::pmu::Plan& plan = plan_of(row);
  // A lab record checks every slice against the count its decision declares (bench/aspace.cpp).
  const aspace::Figures* lab = row.method == Method::kAspace ? r.lab : nullptr;
  for (u32 i = 0;
       (declared || lab) && r.status == Status::kOk && i < r.counter_count && i < plan.count; ++i) {
    if (!str_eq(plan.counters[i].name(), "inst_retired")) continue;
    e.checked = true;
    if (!lab) {
      e.mismatch = inst_mismatch(r.counters[i], expected, &e.diff);
    } else if (lab->inst_checked && lab->inst_mismatches) {
      e.mismatch = true;
      e.diff = r.counters[i].median - lab->counted_instructions.median;
    }
  }
  return e;
}

// The counters beside the ticks (bench/counters.h), each an object of the same statistics, and
// the exactness check of the retired instructions against the row's declared count.
void put_counters(JsonRecord& j, const Row& row, const Result& r, const Exactness& e) {
  const x86::pmu::Plan& plan = plan_of(row);
  for (u32 i = 0; i < r.counter_count && i < plan.count; ++i) {
    const Summary& s = r.counters[i];
    j.begin_object(plan.counters[i].name());
    j.fixed("median", s.median).fixed("q1", s.q1).fixed("q3", s.q3);
    j.fixed("min", s.min).fixed("max", s.max).end_object();
  }
  if (e.mismatch) j.fixed("inst_mismatch", e.diff);
  if (r.has_core_ratio) j.fixed("aperf_mperf", r.core_ratio);
  if (r.has_smis) j.num("smis", r.smis);
}

// A crossing's counter figures come from its counter passes: which source they read and the
// instruction count those passes declare (the row's plus the counter stamps' two XCHGs); or,
// where the counters count for the other records but not here, why not (docs/output-format.md).
void put_crossing_counter_fields(JsonRecord& j, const Row& row, const Result& r) {
  const CrossingChoice& c = counters::crossing();
  if (r.counter_count) {
    j.num("counter_instructions", counter_pass_instructions(row.instructions));
    j.str("counter_source", crossing_source_name(c.source));
  } else if (r.no_counters) {
    j.str("no_counters", r.no_counters);
  } else if (c.per_record) {
    j.str("no_counters", c.reason);
  }
}

// The address-space lab's fields (docs/output-format.md, group aspace): the policy and its
// parameters always; once it ran, the decision counts, stale reads and the per-switch figures.
void put_lab_fields(JsonRecord& j, const Row& row, const Result& r) {
  j.str("policy", aspace::policy_name(row.lab.policy));
  if (row.lab.slots) j.num("slots", row.lab.slots);
  j.str("schedule", aspace::schedule_name(row.lab.schedule)).num("processes", row.lab.processes);
  j.num("kernel_pages", row.lab.kernel_pages).boolean("global", row.global);
  j.boolean("noinvpcid", row.lab.no_invpcid);  // since 0.4
  const aspace::Figures* f = r.lab;
  if (!f) return;
  j.num("pages", f->pages).num("calls", f->calls).num("flush_every", f->flush_every);
  j.num("slices", f->slices).num("warmup_slices", f->slices - f->per_switch.n);
  j.boolean("invpcid", f->invpcid);
  const aspace::Counts& c = f->counts;
  j.num("switches", c.switches).num("asid_hits", c.hits).num("asid_misses", c.misses);
  j.num("flushes", c.flushes).num("user_flushes", c.user_flushes);
  j.num("skipped_cr3", c.skipped_cr3).num("kernel_flushes", c.kernel_flushes);
  j.num("invpcids", c.invpcids).num("invalidate_others", c.invalidate_others);
  j.num("stale_reads", f->stale_user + f->stale_kernel);
  j.fixed("switch_q1", f->per_switch.q1).fixed("switch_median", f->per_switch.median);
  j.fixed("switch_q3", f->per_switch.q3);
  if (f->per_flush.n) j.num("flush_n", f->per_flush.n).fixed("flush_median", f->per_flush.median);
  // Since 0.3: what an instruction-counting TSC must read (medians of the declared counts), the
  // slices that read anything else, and the counters over the switch piece.
  j.fixed("slice_instructions", f->instructions.median);
  j.fixed("switch_instructions", f->switch_instructions.median);
  if (f->per_flush.n) j.fixed("flush_instructions", f->flush_instructions.median);
  j.num("tick_mismatches", f->tick_mismatches);
  if (f->inst_checked) j.num("inst_mismatches", f->inst_mismatches);
  const x86::pmu::Plan& plan = counters::plan();
  for (u32 i = 0; i < f->switch_counter_count && i < plan.count; ++i) {
    Text<48> key;
    key.put("switch_").put(plan.counters[i].name());
    const Summary& s = f->switch_counters[i];
    j.begin_object(key.c_str());
    j.fixed("median", s.median).fixed("q1", s.q1).fixed("q3", s.q3).end_object();
  }
}

// scheme, targets, pages, and once it ran how each CPU invalidated and what the reads saw.
void put_shootdown_fields(JsonRecord& j, const Row& row, const Result& r) {
  j.str("scheme", shoot_scheme_name(row.shoot));
  if (row.shoot != ShootScheme::kInvlpgb) j.num("targets", row.targets);
  j.num("pages", row.pages);
  if (r.status == Status::kSkip) return;
  j.str("flush", r.plan.full ? "full" : "invlpg")
      .str("user_pcid", user_pcid_flush_name(r.plan.user));
  j.num("stale_reads", r.stale_reads);
  // Since 0.3: how many CPUs read the pages, the reads through the user half, INVLPGB's count,
  // and the targets' timed return to user space (PTI schemes).
  if (row.shoot == ShootScheme::kInvlpgb) j.num("targets", r.shoot_targets);
  if (targets_pti(row.shoot)) j.num("user_stale_reads", r.stale_user_reads);
  if (broadcast(row.shoot) && r.status == Status::kOk) j.num("invlpgb_ops", r.invlpgb_ops);
  if (r.return_to_user.n) {
    j.num("return_to_user_n", r.return_to_user.n);
    j.fixed("return_to_user_q1", r.return_to_user.q1);
    j.fixed("return_to_user_median", r.return_to_user.median);
    j.fixed("return_to_user_q3", r.return_to_user.q3);
  }
}

void put_record(const Row& row, const Result& r, const Params& p, const OutputContext& out,
                const Exactness& exact) {
  TextBuf buf(record_buf, sizeof(record_buf));
  Text<kNameMax> name;
  put_name(name, row);
  JsonRecord j(buf, "result");
  j.str("name", name.c_str())
      .str("group", group_name(row.group))
      .str("status", status_name(r.status));
  if (r.status != Status::kOk) {
    j.str("reason", r.reason);
    if (r.disturbed) j.num("disturbed", r.disturbed);
  } else if (!probe_row(row)) {  // a probe is not timed: no statistics

    j.str("unit", "tsc").num("n", r.stats.n);
    put_stats(j, r.stats);
    if (out.tsc_hz) j.fixed("ns_median", ticks_to_ns(r.stats.median, out.tsc_hz));
    // A lab slice's declared count depends on its decisions (slice_instructions, a median, with
    // the lab's fields); its warm-up is one round of the schedule.
    const bool lab = row.method == Method::kAspace;
    if (!lab) j.num("instructions", row.instructions);
    if (row.faulting) j.num("faulting", row.faulting);
    j.num("ops", r.ops).num("reps", p.reps);
    if (unrolled(row)) j.num("unroll", p.unroll).num("iters", p.iters);
    if (!lab) j.num("warmup", p.warmup);
    j.num("disturbed", r.disturbed);
    put_counters(j, row, r, exact);
    if (row.method == Method::kCrossing) put_crossing_counter_fields(j, row, r);
    if (out.raw_samples && r.raw) {
      j.begin_array("samples");
      const double per = r.ops ? static_cast<double>(r.ops) : 1.0;
      for (u32 i = 0; i < r.stats.n; ++i) j.item_fixed(static_cast<double>(r.raw[i]) / per);
      j.end_array();
    }
  }
  if (row.method == Method::kLoop) j.str("refills", refills_name(row.refills));
  if (row.method == Method::kRefill) {
    j.str("flush", flush_name(row.flush)).num("pages", row.pages).boolean("global", row.global);
    j.str("access", access_name(row.access));
  }
  if (is_ipi(row)) j.num("source", row.source).num("target", row.target);
  if (row.method == Method::kShootdown) put_shootdown_fields(j, row, r);
  if (ring3(row)) {
    j.boolean("pti", row.env.scheme != x86::EntryScheme::kNone);
    j.boolean("pcid", x86::uses_pcid(row.env.scheme));
    if (row.env.scheme != x86::EntryScheme::kNone)
      j.str("pti_globals", x86::pti_globals_name(row.env.globals()));
    if (row.method == Method::kCrossing) {
      j.str("kind", cross_name(row.cross));
      j.str("direction", row.direction == Direction::kU2k ? "u2k" : "k2u");
    }
    if (row.touch) j.num("pages", row.touch);
  }
  if (const ProbeSpec* spec = spec_of(row)) put_probe_fields(j, *spec, r);
  if (out.hypervisor) {
    Text<64> exits;
    put_guest_exits(exits, guest_exits(row));
    j.str("guest_exits", exits.c_str());
  }
  if (row.method == Method::kAspace) put_lab_fields(j, row, r);
  console::record(j.finish());
}

// The screen's form of the same line (bench/render.h), when there is a screen.
void put_screen(const char* name, const Result& r, const OutputContext& out) {
  const u32 cols = console::screen_columns();
  if (cols == 0) return;
  Text<320> line, more;
  usize n = put_screen_result(line, more, name, r, cols, out.tsc_hz);
  console::screen_line(line);
  if (n > 1) console::screen_line(more);
}

// The refill points kept on a crowded screen.
bool screen_worthy(const Row& row, u32 level) {
  if (row.method != Method::kRefill || level == 0) return true;
  return row.pages == 1 || row.pages == 64 || (level == 1 && row.pages == 1024);
}

}  // namespace

void emit_result(const Row& row, const Result& r, const Params& p, const OutputContext& out) {
  run::Tally& t = run::tally();
  (r.status == Status::kOk ? t.ok : r.status == Status::kSkip ? t.skipped : t.failed)++;
  if (r.has_smis) {
    t.smis_counted = true;
    t.smis += r.smis;
  }
  const Exactness exact = exactness_of(row, r);
  t.exactness_checked = t.exactness_checked || exact.checked;
  if (exact.mismatch) t.inst_mismatches++;
  Text<kNameMax> name;
  put_name(name, row);
  Text<320> h;
  const ProbeSpec* spec = spec_of(row);
  if (spec && probe_ran(r)) {
    h.put("  ").put(name.c_str()).put(' ').pad_to(0, 42).put(status_name(r.status)).put("  ");
    put_probe_outcome(h, *spec, r);
    if (r.status != Status::kOk) h.put(" (").put(r.reason).put(')');
    console::serial_line(h);
    if (const u32 cols = console::screen_columns()) {
      Text<320> cut;
      cut.put(h.c_str(), h.size() < cols ? h.size() : cols);
      console::screen_line(cut);
    }
  } else {
    put_result_line(h, name.c_str(), r, out.tsc_hz);
    console::serial_line(h);
    put_screen(name.c_str(), r, out);
  }
  put_record(row, r, p, out, exact);
}

void print_table(const Row* rows, const Result* res, usize n, const OutputContext& out) {
  console::serial_line("");
  console::serial_line(counters::on()
                           ? "ptibench results (TSC ticks per operation; median [q1 .. q3]; "
                             "median core cycles and retired instructions):"
                           : "ptibench results (TSC ticks per operation; median [q1 .. q3]):");
  for (usize i = 0; i < n; ++i) {
    Text<240> t;
    put_name(t, rows[i]);
    t.put(" ").pad_to(0, 40);
    const Result& r = res[i];
    const ProbeSpec* spec = spec_of(rows[i]);
    if (spec && probe_ran(r)) {
      put_probe_outcome(t, *spec, r);
    } else if (r.status == Status::kOk) {
      usize col = t.size();
      t.put_fixed(r.stats.median, 3).pad_to(col, 10).put(" [").put_fixed(r.stats.q1, 3);
      t.put(" .. ").put_fixed(r.stats.q3, 3).put(']');
      if (out.tsc_hz) t.put("  ").put_fixed(ticks_to_ns(r.stats.median, out.tsc_hz), 1).put(" ns");
      // Where the counters count: the core cycles and retired instructions beside the ticks.
      const x86::pmu::Plan& plan = plan_of(rows[i]);
      for (u32 c = 0; c < r.counter_count && c < plan.count; ++c) {
        const char* f = plan.counters[c].name();
        if (str_eq(f, "cycles")) t.put("  ").put_fixed(r.counters[c].median, 1).put(" cycles");
        if (str_eq(f, "inst_retired")) t.put("  ").put_fixed(r.counters[c].median, 1).put(" inst");
      }
    } else {
      t.put(status_name(r.status)).put(": ").put(r.reason);
    }
    console::serial_line(t);
  }
  if (!out.bare_metal)
    console::serial_line("(not bare metal: see the NOTE above; these are not hardware timings)");
}

void print_probe_table(const Row* rows, const Result* res, usize n) {
  bool any = false;
  for (usize i = 0; i < n; ++i) any = any || (spec_of(rows[i]) && probe_ran(res[i]));
  if (!any) return;
  console::serial_line("");
  console::serial_line("what this CPU keeps (old translation read after the operation):");
  Text<240> t;
  t.put("  operation").pad_to(0, 32).put("non-global page").pad_to(0, 72).put("global page");
  console::serial_line(t);
  // One line per operation: the non-global probe, then its .global twin when there is one.
  for (usize i = 0; i < n; ++i) {
    const ProbeSpec* spec = spec_of(rows[i]);
    if (!spec || spec->global) continue;
    t.clear();
    t.put("  ").put(spec->label).put(' ').pad_to(0, 32);
    if (probe_ran(res[i])) {
      put_probe_outcome(t, *spec, res[i]);
    } else {
      t.put(status_name(res[i].status));
    }
    Text<kNameMax> global_label;
    global_label.put(spec->label).put(".global");
    for (usize g = 0; g < n; ++g) {
      const ProbeSpec* twin = spec_of(rows[g]);
      if (!twin || !str_eq(twin->label, global_label.c_str())) continue;
      t.put(' ').pad_to(0, 72);
      if (probe_ran(res[g])) {
        put_probe_outcome(t, *twin, res[g]);
      } else {
        t.put(status_name(res[g].status));
      }
    }
    console::serial_line(t);
  }
}

// The last thing on the screen: every result in columns, sized to the screen, so that a machine
// without a serial port keeps the results in view (serial has the full table already). The
// refill curve is thinned first when it does not fit.
void print_screen_summary(const Row* rows, const Result* res, usize n, const OutputContext& out) {
  const u32 cols = console::screen_columns(), lines_on_screen = console::screen_rows();
  if (cols < 40 || lines_on_screen < 5 || n == 0) return;
  constexpr u32 kCell = 40;
  const u32 per_row = cols / kCell;
  const u32 lines = lines_on_screen - 4;  // title, note, the PASS/FAIL line, and the line after it
  u32 level = 0;
  usize shown = 0;
  for (; level < 3; ++level) {
    shown = 0;
    for (usize i = 0; i < n; ++i) shown += screen_worthy(rows[i], level) ? 1 : 0;
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
  usize order[kMaxRows];
  usize m = 0;
  for (usize i = 0; i < n && m < kMaxRows; ++i)
    if (screen_worthy(rows[i], level)) order[m++] = i;
  for (usize row = 0; row < height && row < lines; ++row) {
    t.clear();
    for (u32 c = 0; c < per_row; ++c) {
      usize k = c * height + row;
      if (k >= m || k >= capacity) break;
      const Result& r = res[order[k]];
      usize start = t.size();
      // The name, then the value right-aligned in the cell's last 9 columns.
      Text<24> value;
      if (spec_of(rows[order[k]]) && probe_ran(r)) {
        value.put(seen_name(judge(*spec_of(rows[order[k]]), r.probe).seen));
      } else if (r.status == Status::kOk) {
        value.put_fixed(r.stats.median, r.stats.median < 100 ? 2 : 0);
      } else {
        value.put(status_name(r.status));
      }
      put_name(t, rows[order[k]]);
      t.put(' ');
      while (t.size() < start + kCell - 1 - value.size()) t.put(' ');
      t.put(value.c_str()).pad_to(start, kCell);
    }
    console::screen_line(t);
  }
  t.clear();
  if (m > capacity) t.put("... more in the serial log. ");
  if (!out.bare_metal) t.put("Not bare metal: not hardware timings.");
  console::screen_line(t);
}

}  // namespace ptb::bench
