"""Text renderings (Markdown, CSV, JSON) of runs, comparisons and the seed tables.

Markdown is for people (pasted into issues and docs), CSV for spreadsheets, JSON for scripts.
The three are produced from the same structures (analysis.py), so they agree by construction.
CSV rows repeat the environment as columns instead of a header block, because CSV has no
comments and concatenated files must stay self-describing.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterable, Optional

from . import __version__, analysis
from .analysis import (
    ALPHA,
    TICK_UNITS,
    IQR_RULE,
    MANN_WHITNEY,
    SEED2_COLUMNS,
    CompareCell,
    CompareRow,
    Picked,
    Seed2Cell,
    Value,
    compared_unit,
    run_warnings,
    seed_table1,
    seed_table2,
    unit_text,
)
from .model import COUNTER_FIELDS, Capture, Env, Result, Run, counter_text

DASH = "\u2013"  # en dash: "1.0–2.0" stays readable with negative numbers, unlike a hyphen
ABSENT = "\u2014"  # em dash: no record for this cell

# --- small formatters ---------------------------------------------------------------------------


def num(v: Optional[float]) -> str:
    """Statistics keep the kernel's three decimals: they are exact under Bochs/-icount."""
    return "n/a" if v is None else f"{v:.3f}"


def iqr(q1: Optional[float], q3: Optional[float]) -> str:
    if q1 is None or q3 is None:
        return "n/a"
    return f"{q1:.3f}{DASH}{q3:.3f}"


def pct(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{v:.1f}%"


def ratio_text(r: Optional[float], significant: Optional[bool]) -> str:
    """"~1.02" when not significant, "1.52?" when it cannot be judged (no quartiles)."""
    if r is None:
        return "n/a"
    text = f"{r:.2f}"
    if significant is False:
        return "~" + text
    if significant is None:
        return text + "?"
    return text


def md_escape(text: str) -> str:
    """Log text in a table cell: no pipes or line breaks to break the table."""
    return " ".join(str(text).split()).replace("|", "\\|")


def md_table(headers: list[str], rows: Iterable[list[str]], right: Iterable[int] = ()) -> str:
    right = set(right)
    out = ["| " + " | ".join(headers) + " |",
           "|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|"]
    for row in rows:
        out.append("| " + " | ".join(md_escape(c) for c in row) + " |")
    return "\n".join(out) + "\n"


def status_text(r: Result) -> str:
    if r.status == "ok":
        return "ok" if r.median is not None else "ok (no usable median)"
    reason = r.reason or "no reason given"
    return f"{'skip' if r.status == 'skip' else 'FAIL'}: {reason}"


def value_cell(r: Optional[Result], v: Optional[Value]) -> str:
    """A compare/seed cell: median [q1–q3], or why there is no number."""
    if r is None:
        return ABSENT
    if r.status == "skip":
        return "skip"
    if r.status == "fail":
        return "FAIL"
    if v is None:
        return "n/a"
    if v.q1 is None or v.q3 is None:
        return num(v.median)
    return f"{num(v.median)} [{iqr(v.q1, v.q3)}]"


def mib(n: Optional[int]) -> str:
    return "unknown" if n is None else f"{n / 2**20:.0f} MiB"


# --- JSON shapes --------------------------------------------------------------------------------

_RESULT_KEYS = ("name", "group", "status", "reason", "unit", "n", "min", "q1", "median", "mean",
                "q3", "max", "stddev", "ns_median", "instructions", "faulting", "ops", "reps",
                "unroll", "iters", "warmup", "flush", "pages", "global", "pti", "pcid", "kind", "direction",
                "samples", "line")


#: After the counters, as the kernel prints them (since 0.3).
_COUNTER_KEYS = ("inst_mismatch", "aperf_mperf", "smis")


def _no_none(obj: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(obj).items() if v is not None}


def result_json(r: Result) -> dict[str, Any]:
    """The validated fields of a record under the contract's names; each counter under its own
    field name as {median, q1, q3, min, max} (those that were valid)."""
    out: dict[str, Any] = {}
    for key in _RESULT_KEYS:
        value = getattr(r, "global_" if key == "global" else key)
        if value is not None:
            out[key] = value
    for name, c in r.counters.items():
        out[name] = _no_none(c)
    for key in _COUNTER_KEYS:
        if getattr(r, key) is not None:
            out[key] = getattr(r, key)
    return out


def env_json(env: Optional[Env]) -> Optional[dict[str, Any]]:
    if env is None:
        return None
    out = {k: v for k, v in vars(env).items() if v is not None}
    if env.pmu is not None:
        pmu = _no_none(env.pmu)
        pmu["counters"] = {k: _no_none(c) for k, c in env.pmu.counters.items()}
        out["pmu"] = pmu
    out["bare_metal_verdict"] = env.is_bare_metal
    out["cpu"] = env.cpu_text
    return out


def run_json(run: Run, runs_in_file: int, results: Optional[list[Result]] = None) -> dict[str, Any]:
    return {
        "file": run.path, "run": run.index, "runs_in_file": runs_in_file,
        "lines": [run.first_line, run.last_line], "state": run.state, "complete": run.complete,
        "warnings": run_warnings(run), "env": env_json(run.env),
        "summary": None if run.summary is None else vars(run.summary),
        "faults": [vars(f) for f in run.faults], "checks": [vars(c) for c in run.checks],
        "results": [result_json(r) for r in (run.results.values() if results is None
                                              else results)],
    }


def dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


# --- table ------------------------------------------------------------------------------------

def env_rows(run: Run) -> list[list[str]]:
    env = run.env
    if env is None:
        return [["environment", "unknown: no env record in this run"]]
    rows = [["CPU", env.cpu_text], ["features", env.features_text],
            ["hypervisor", env.hypervisor_text],
            ["bare metal", {True: "yes", False: "**no**", None: "unknown"}[env.is_bare_metal]],
            ["TSC", env.tsc_text], ["timer", env.timer or "unknown"],
            ["boot", f"{env.boot or 'unknown'}, {mib(env.memory_bytes)} memory"],
            ["command line", f"`{env.cmdline.replace('`', chr(39))}`" if env.cmdline
             else "(empty)"]]
    if env.suite:
        rows.append(["suite", env.suite])
    if env.params:
        rows.append(["parameters", ", ".join(f"{k} {v}" for k, v in env.params.items())])
    if env.pmu_version is not None:
        rows.append(["PMU version", str(env.pmu_version)])
    if env.pmu is not None:
        rows.append(["performance counters", env.pmu.text])
    rows.append(["ptibench", env.version or "unknown"])
    return rows


def summary_text(run: Run) -> str:
    c = run.counts()
    read = f"{c['ok']} ok, {c['skip']} skipped, {c['fail']} failed read"
    s = run.summary
    if s is None:
        return f"none (cut off); {read}"
    said = (f"{s.status or 'status unknown'}: {s.ok} ok, {s.skipped} skipped, {s.failed} failed, "
            f"{s.checks_failed} checks failed")
    if (s.ok, s.skipped, s.failed) == (c["ok"], c["skip"], c["fail"]):
        return said
    return f"{said}; but {read}"


def counter_cell(r: Result, name: str, quartiles: bool = False) -> str:
    """A counter's median (with [q1–q3] if asked), "" when the record has no such counter."""
    c = r.counters.get(name)
    if c is None:
        return ""
    if quartiles and c.has_iqr:
        return f"{num(c.median)} [{iqr(c.q1, c.q3)}]"
    return num(c.median)


def flags_text(r: Result) -> str:
    """What the counters flag about a record: retired instructions off the declared count,
    SMIs during it."""
    out = []
    if r.inst_mismatch is not None:
        out.append(f"inst {r.inst_mismatch:+.3f} vs declared {r.declared_for_counters()}")
    if r.smis:
        out.append(f"{r.smis} SMI{'s' if r.smis != 1 else ''}")
    return "; ".join(out)


def counter_columns(run: Run, wanted: Optional[list[str]]) -> list[str]:
    """The counters shown as extra columns besides cycles: none by default, every one the run
    has with ["all"], else those named that the run has (in the run's order)."""
    have = [n for n in run.counter_names() if n != "cycles"]
    if not wanted:
        return []
    if "all" in wanted:
        return have
    return [n for n in have if n in wanted]


def pmu_sentence(run: Run, results: list[Result], extra: list[str]) -> str:
    """What the counter columns are, or why there are none."""
    pmu = run.env.pmu if run.env else None
    has = {n for r in results for n in r.counters}
    if pmu is not None and not pmu.counting:
        return (f"No counter figures: the performance counters are {pmu.state or 'unknown'}"
                + (f" ({pmu.reason})" if pmu.reason else "") + ".\n")
    if not has and not any(r.aperf_mperf is not None for r in results):
        return ""
    def event(name: str) -> str:
        c = pmu.counters.get(name) if pmu else None
        return f" ({c.event})" if c and c.event else ""
    parts = []
    if "cycles" in has:
        parts.append(f"`cycles` = core cycles per operation{event('cycles')}, median "
                     f"[q1{DASH}q3], differenced like the ticks")
    parts += [f"`{n}` = {counter_text(n)} per operation{event(n)}, median" for n in extra]
    if any(r.aperf_mperf is not None for r in results):
        parts.append("`core/ref` = APERF/MPERF over the variant (core clock over the reference "
                     "clock: 1 nominal, above 1 turbo, below 1 a lower P-state)")
    if any(r.inst_mismatch is not None or r.smis for r in results):
        parts.append("the status flags retired instructions that differ from the declared "
                     "count (`inst`) and SMIs")
    more = [n for n in run.counter_names() if n in has and n != "cycles" and n not in extra]
    tail = (f" More counters in this run ({', '.join(more)}): `--counters all`, or "
            "`-f json`." if more else "")
    return "Counters: " + "; ".join(parts) + "." + tail + "\n"


def table_markdown(p: Picked, results: list[Result],
                   counters: Optional[list[str]] = None) -> str:
    run = p.run
    total = len(p.capture.runs)
    out = [f"# ptibench run {run.index} of {total}: {run.path}\n",
           f"Lines {run.first_line}{DASH}{run.last_line}, {run.state} ({p.why})."]
    if p.others:
        out[-1] += " Other runs in this file: " + "; ".join(
            f"{r.index} (lines {r.first_line}{DASH}{r.last_line}, {r.state})"
            for r in p.others) + "."
    out.append("")
    out.append(md_table(["environment", ""], env_rows(run) + [["summary", summary_text(run)]]))
    for w in run_warnings(run):
        out.append(f"> **Warning:** {w}\n")
    out.append(f"Figures are TSC ticks per operation: median, interquartile range (q1{DASH}q3) "
               "and number of repetitions n; ns from the TSC rate when it is known.\n")
    extra = counter_columns(run, counters)
    sentence = pmu_sentence(run, results, extra)
    if sentence:
        out.append(sentence)
    groups: dict[str, list[Result]] = {}
    for r in results:
        groups.setdefault(r.family, []).append(r)
    if not groups:
        out.append("No results.\n")
    for family, rs in groups.items():
        out.append(f"## {family}\n")
        # Counter columns only where some record of the family has the figure.
        cols = [n for n in ["cycles"] + extra if any(n in r.counters for r in rs)]
        ratio_col = any(r.aperf_mperf is not None for r in rs)
        heads = ["variant", "median", f"q1{DASH}q3", "n", "ns"]
        heads += [f"cycles [q1{DASH}q3]" if n == "cycles" else n for n in cols]
        heads += ["core/ref"] if ratio_col else []
        rows = []
        for r in rs:
            row = [r.name, num(r.median) if r.status == "ok" else "",
                   iqr(r.q1, r.q3) if r.status == "ok" else "",
                   "" if r.n is None else str(r.n),
                   "" if r.ns_median is None else num(r.ns_median)]
            row += [counter_cell(r, n, n == "cycles") for n in cols]
            row += [num(r.aperf_mperf) if r.aperf_mperf is not None else ""] if ratio_col else []
            flags = flags_text(r)
            rows.append(row + [status_text(r) + (f"; {flags}" if flags else "")])
        out.append(md_table(heads + ["status"], rows, right=range(1, len(heads))))
    if run.checks:
        out.append("## checks\n")
        out.append(md_table(["check", "status", "detail"],
                            ([c.name or "?", c.status or "?", c.detail or ""]
                             for c in run.checks)))
    if run.faults:
        out.append("## fault\n")
        out.extend(f"- line {f.line}: {md_escape(f.text)}" for f in run.faults)
        out.append("")
    return "\n".join(out)


_CSV_ENV = ("cpu", "hypervisor", "bare_metal", "tsc_hz", "tsc_source")
_CSV_RESULT = ("variant", "group", "status", "reason", "n", "min", "q1", "median", "mean", "q3",
               "max", "stddev", "ns_median", "unit", "flush", "pages", "global", "pti", "pcid",
               "kind", "direction", "line")


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def csv_counters(runs: Iterable[Run]) -> list[str]:
    """The counter columns of a CSV: the known fields always (so that files of several runs
    line up), then raw events any of the runs has."""
    extra: list[str] = []
    for run in runs:
        extra += [n for n in run.counter_names() if n not in COUNTER_FIELDS and n not in extra]
    return list(COUNTER_FIELDS) + extra


def table_csv(picks: list[tuple[Picked, list[Result]]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    counters = csv_counters(p.run for p, _ in picks)
    # Added in 0.3's format: at the end, so that older column positions stay.
    counter_cols = [f"{n}_{s}" for n in counters for s in ("median", "q1", "q3")]
    w.writerow(("file", "run", "run_state") + _CSV_RESULT + _CSV_ENV + tuple(counter_cols)
               + _COUNTER_KEYS)
    for p, results in picks:
        env = p.run.env
        env_cols = ("", "", "", "", "") if env is None else (
            env.cpu_short, env.hypervisor_short, env.is_bare_metal, env.tsc_hz, env.tsc_source)
        for r in results:
            d = result_json(r)
            row = [p.run.path, p.run.index, p.run.state, r.name]
            row += [d.get(k) for k in _CSV_RESULT[1:]]
            row += list(env_cols)
            for n in counters:
                c = r.counters.get(n)
                row += [c.median, c.q1, c.q3] if c else [None, None, None]
            row += [getattr(r, k) for k in _COUNTER_KEYS]
            w.writerow([_csv_value(v) for v in row])
    return buf.getvalue()


def table_json(picks: list[tuple[Picked, list[Result]]]) -> str:
    return dump_json({"tool": "ptibench-report", "version": __version__, "runs": [
        dict(run_json(p.run, len(p.capture.runs), results), selected_because=p.why,
             other_runs=[{"run": r.index, "lines": [r.first_line, r.last_line],
                          "state": r.state} for r in p.others])
        for p, results in picks]})


# --- list -------------------------------------------------------------------------------------

def list_text(caps: list[Capture]) -> str:
    out = []
    for cap in caps:
        if cap.read_error:
            out.append(f"{cap.path}: cannot read: {cap.read_error}")
            continue
        out.append(f"{cap.path}: {cap.lines} lines, {cap.records} records, {cap.damaged} damaged, "
                   f"{len(cap.diagnostics)} problems, {len(cap.runs)} runs")
        for run in cap.runs:
            c = run.counts()
            env = run.env
            who = f"{env.cpu_short} / {env.hypervisor_short}" if env else "no env"
            if env is not None and env.pmu is not None:
                who += f", PMU {env.pmu.state or 'state unknown'}"
                names = run.counter_names()
                who += f" ({' '.join(names)})" if names else ""
            out.append(f"  run {run.index}: lines {run.first_line}-{run.last_line}, {run.state}, "
                       f"{len(run.results)} results ({c['ok']} ok, {c['skip']} skip, "
                       f"{c['fail']} fail), {who}")
    return "\n".join(out) + "\n"


# --- compare ------------------------------------------------------------------------------------

def letters(n: int) -> list[str]:
    """A, B, ..., Z, AA, AB, ...: short column names for many runs."""
    out = []
    for i in range(n):
        s = ""
        i += 1
        while i:
            i, rem = divmod(i - 1, 26)
            s = chr(65 + rem) + s
        out.append(s)
    return out


def test_text(c: CompareCell) -> str:
    """Which rule judged a ratio, and what it found: "MWU p=0.0079", "IQR rule: apart"."""
    if c.test == MANN_WHITNEY and c.p_value is not None:
        return f"MWU p={c.p_value:.2g}"
    if c.test == IQR_RULE:
        text = "IQR rule: " + ("apart" if c.significant else "overlap")
        if c.ticks_p_value is not None:
            text += f"; MWU on ticks p={c.ticks_p_value:.2g}"
        return text
    return "n/a"


def significance_note(rows: list[CompareRow]) -> str:
    """How the ratios were judged, naming only the rules that were used."""
    used = {c.test for row in rows for c in row.cells[1:] if c.test}
    parts = []
    if MANN_WHITNEY in used:
        parts.append(f"`MWU` = {MANN_WHITNEY} test on the two runs' samples (scipy), significant "
                     f"when p < {ALPHA:g}")
    counted = any(row.unit not in TICK_UNITS for row in rows)
    if IQR_RULE in used:
        parts.append(f"`IQR rule` = {IQR_RULE}: a difference counts when the two interquartile "
                     "ranges [q1, q3] do not overlap; used where a run has no samples (kernel "
                     "option samples=raw)" + (" or scipy is missing" if any(
                         c.note == analysis.NO_SCIPY for row in rows for c in row.cells) else "")
                     + (", and for every row in a counter (cycles): the kernel's samples are "
                        "ticks, so no test on the cycles themselves is possible" if counted
                        else ""))
    if any(c.ticks_p_value is not None for row in rows for c in row.cells):
        parts.append("`MWU on ticks` = the U test on the same repetitions' tick samples, "
                     "beside a counter row's rule: it tests the ticks, not the counter's ratio "
                     "(the two differ when the clocks differ: compare the `core/ref` of the "
                     "runs)")
    return "; ".join(parts) if parts else "no ratio could be judged"


def units_sentence(rows: list[CompareRow], unit: str) -> str:
    """Which unit the rows were compared in, said so that no figure can be misread."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.unit] = counts.get(row.unit, 0) + 1
    if len(counts) <= 1:
        only = next(iter(counts), unit if unit != analysis.AUTO else "tsc")
        text = f"Every row is compared in {unit_text(only)} per operation"
        if unit == analysis.AUTO and only == "tsc":
            text += " (no variant has core cycles in every run)"
        elif unit == analysis.AUTO:
            text += " (every run measured every variant and counted its core cycles)"
        return text + "."
    parts = ", ".join(f"{n} in {unit_text(u)}" for u, n in counts.items())
    return (f"Rows are compared in different units ({parts}): the `unit` column says which; "
            "each row's medians and ratios are all in its unit, never cycles against ticks"
            + (". A row is in core cycles when every run measured the variant and counted "
               "its core cycles, else in TSC ticks" if unit == analysis.AUTO else "") + ".")


def compare_notes(picks: list[Picked], unit: str,
                  rows: Optional[list[CompareRow]] = None) -> list[str]:
    """Caveats that apply to the comparison as a whole."""
    names = letters(len(picks))
    out = []
    # TICKS_ONLY is no caveat: the significance paragraph says how counter rows are judged.
    for note in sorted({c.note for row in rows or [] for c in row.cells
                        if c.note and c.note != analysis.TICKS_ONLY}):
        out.append(f"Some variants: {note}.")
    for name, p in zip(names, picks):
        for w in run_warnings(p.run):
            out.append(f"{name} ({p.run.label}): {w}")
    clocks = {n: analysis.core_clock(p.run) for n, p in zip(names, picks)}
    known = {n: c for n, c in clocks.items() if c is not None}
    tick_rows = rows is None or any(row.unit in TICK_UNITS for row in rows)
    if tick_rows and len(known) > 1 and max(known.values()) > 1.02 * min(known.values()):
        out.append("The runs' cores ran at different clocks (median core/ref, APERF/MPERF: "
                   + ", ".join(f"{n} {c:.3f}" for n, c in known.items()) + "): ratios in ticks "
                   "or ns include the clock difference; ratios in core cycles do not.")
    rates = {p.run.env.tsc_hz for p in picks if p.run.env and p.run.env.tsc_hz}
    tick_rows = rows is None or any(row.unit == "tsc" for row in rows)
    if unit in ("tsc", analysis.AUTO) and tick_rows and len(rates) > 1:
        out.append("The runs' TSC rates differ (" + ", ".join(
            f"{r / 1e9:.3f} GHz" for r in sorted(rates)) + "): tick ratios are not time ratios; "
            "--unit ns compares times.")
    return out


def compare_markdown(picks: list[Picked], rows: list[CompareRow], unit: str) -> str:
    names = letters(len(picks))
    out = ["# ptibench comparison\n"]
    legend = []
    for name, p in zip(names, picks):
        env = p.run.env
        legend.append([name, p.run.label, env.cpu_short if env else "unknown",
                       env.hypervisor_short if env else "unknown",
                       env.tsc_text if env else "unknown", p.run.state])
    out.append(md_table(["", "run", "CPU", "machine", "TSC", "state"], legend))
    for note in compare_notes(picks, unit, rows):
        out.append(f"> **Warning:** {note}\n")
    out.append(units_sentence(rows, unit) + "\n")
    mixed = compared_unit(rows) == "mixed"
    out.append(f"Medians with [q1{DASH}q3]. Ratios are medians divided by A's; `~` "
               "marks a difference that is not significant, `?` one that cannot be judged "
               "(quartiles missing). The `vs A` columns say which rule judged each ratio: "
               f"{significance_note(rows)}.\n")
    ratio_heads = [f"{n}/A" for n in names[1:]] + [f"{n} vs A" for n in names[1:]]
    by_family: dict[str, list[CompareRow]] = {}
    for row in rows:
        by_family.setdefault(row.family, []).append(row)
    for family, frows in by_family.items():
        out.append(f"## {family}\n")
        table_rows = []
        for row in frows:
            cells = [value_cell(c.result, c.value) for c in row.cells]
            ratios = [ratio_text(c.ratio, c.significant) for c in row.cells[1:]]
            tests = [test_text(c) for c in row.cells[1:]]
            table_rows.append([row.name] + ([row.unit] if mixed else []) + cells + ratios
                              + tests)
        n = len(picks)
        first = 2 if mixed else 1
        out.append(md_table(["variant"] + (["unit"] if mixed else []) + names + ratio_heads,
                            table_rows, right=range(first, first + 2 * n - 1)))
    return "\n".join(out)


def compare_csv(picks: list[Picked], rows: list[CompareRow], unit: str) -> str:
    names = letters(len(picks))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    head = ["variant", "group"]
    for n in names:
        head += [f"{n}_status", f"{n}_median", f"{n}_q1", f"{n}_q3"]
    for n in names[1:]:
        head += [f"{n}/A", f"{n}/A_significant"]
    for n in names[1:]:  # added later: at the end, so that older column positions stay
        head += [f"{n}/A_test", f"{n}/A_p"]
    head += ["unit"] + [f"{n}/A_ticks_p" for n in names[1:]]  # since the counters
    w.writerow(head)
    for row in rows:
        line: list[Any] = [row.name, row.family]
        for c in row.cells:
            v = c.value
            line += [c.result.status if c.result else "absent",
                     v.median if v else None, v.q1 if v else None, v.q3 if v else None]
        for c in row.cells[1:]:
            line += [None if c.ratio is None else f"{c.ratio:.4f}", c.significant]
        for c in row.cells[1:]:
            line += [c.test, None if c.p_value is None else f"{c.p_value:.4g}"]
        line += [row.unit] + [None if c.ticks_p_value is None else f"{c.ticks_p_value:.4g}"
                              for c in row.cells[1:]]
        w.writerow([_csv_value(x) for x in line])
    return buf.getvalue()


def compare_json(picks: list[Picked], rows: list[CompareRow], unit: str) -> str:
    names = letters(len(picks))
    return dump_json({
        "tool": "ptibench-report", "version": __version__,
        "unit": compared_unit(rows) if rows else (unit if unit != analysis.AUTO else "tsc"),
        "unit_requested": unit, "units_note": units_sentence(rows, unit),
        "runs": [{"label": n, "file": p.run.path, "run": p.run.index, "state": p.run.state,
                  "cpu": p.run.env.cpu_short if p.run.env else None,
                  "machine": p.run.env.hypervisor_short if p.run.env else None,
                  "bare_metal": p.run.env.is_bare_metal if p.run.env else None}
                 for n, p in zip(names, picks)],
        "notes": compare_notes(picks, unit, rows),
        "significance": {"alpha": ALPHA, "tests": sorted(
            {c.test for row in rows for c in row.cells[1:] if c.test}),
            "note": significance_note(rows)},
        "rows": [{"variant": row.name, "group": row.family, "unit": row.unit, "cells": [
            {"run": n, "status": c.result.status if c.result else "absent",
             "reason": c.result.reason if c.result else None,
             "median": c.value.median if c.value else None,
             "q1": c.value.q1 if c.value else None, "q3": c.value.q3 if c.value else None,
             "ratio": c.ratio, "significant": c.significant, "test": c.test,
             "p_value": c.p_value, "test_note": c.note, "ticks_p_value": c.ticks_p_value}
            for n, c in zip(names, row.cells)]} for row in rows],
    })


# --- seeds --------------------------------------------------------------------------------------

SEED2_NOTE = ("Seed 003 (Xeon E5 v3, page-fault entry, PTI off, timestamps taken in a patched "
              "Linux): u2k ~440 / k2u ~270 cycles bare metal, ~600 / ~370 in a VM.")
SEED1_NOTE = ("Loss = 1 - cost(reference) / cost(variant): the share of null-syscall throughput "
              "lost, the definition seed 000 uses for unixbench scores. The seed's loop does more "
              "than one null call, so compare the kind of effect, not the values.")


def _seed2_cell(cell: Seed2Cell, run: Run) -> str:
    r = cell.result
    if r is None:
        return ABSENT
    if not r.usable:
        return status_text(r) if r.status != "ok" else "n/a"
    return f"{num(r.median)} [{iqr(r.q1, r.q3)}]"


def seeds_markdown(p: Picked) -> str:
    run = p.run
    env = run.env
    out = [f"# Seed tables: run {run.index} of {run.path}\n",
           f"{env.cpu_text if env else 'unknown CPU'}; {env.hypervisor_short if env else 'unknown'}"
           f"; TSC {env.tsc_text if env else 'unknown'}; {run.state}.\n"]
    for w in run_warnings(run):
        out.append(f"> **Warning:** {w}\n")
    out.append("## 1. Null system call, PTI off and on (seed 000)\n")
    rows = []
    for line in seed_table1(run):
        r = line.result
        if r is None or not r.usable:
            why = "missing: no record" if r is None else status_text(r)
            rows.append([line.row.label, line.row.variant, why, "", "", "", "", "",
                         line.row.seed])
            continue
        ref = "reference" if line.row.step_from is None else pct(line.loss_vs_off)
        step = "" if line.row.step_from is None or line.row.step_from == "syscall.direct" else \
            f"{pct(line.step_loss)} vs {line.row.step_from}"
        times = "n/a" if line.ratio_vs_off is None else f"{line.ratio_vs_off:.2f}"
        rows.append([line.row.label, line.row.variant, num(r.median), iqr(r.q1, r.q3),
                     "" if r.ns_median is None else num(r.ns_median), ref, step, times,
                     line.row.seed])
    out.append(md_table(["configuration", "variant", "median (ticks)", f"q1{DASH}q3", "ns",
                         "loss vs PTI off", "step loss", "x PTI off",
                         "seed 000 loss (unixbench)"], rows, right=(2, 3, 4, 5, 7)))
    out.append(SEED1_NOTE + "\n")
    out.append("## 2. One-way crossings per entry kind, PTI off and on (seed 003)\n")
    out.append(f"Median [q1{DASH}q3] in TSC ticks; u2k = user to kernel, k2u = kernel to user.\n")
    table = seed_table2(run)
    rows = [[kind, *(_seed2_cell(cells[key], run) for key in SEED2_COLUMNS)]
            for kind, cells in table.items()]
    out.append(md_table(["entry", "u2k PTI off", "k2u PTI off", "u2k PTI on", "k2u PTI on"],
                        rows, right=(1, 2, 3, 4)))
    out.append(SEED2_NOTE + "\n")
    return "\n".join(out)


def _seed_rows(p: Picked) -> list[dict[str, Any]]:
    run = p.run
    rows: list[dict[str, Any]] = []
    for line in seed_table1(run):
        r = line.result
        rows.append({"table": 1, "row": line.row.label, "variant": line.row.variant,
                     "status": r.status if r else "absent", "reason": r.reason if r else None,
                     "median": r.median if r else None, "q1": r.q1 if r else None,
                     "q3": r.q3 if r else None, "ns_median": r.ns_median if r else None,
                     "loss_vs_off_pct": line.loss_vs_off, "step_from": line.row.step_from,
                     "step_loss_pct": line.step_loss, "seed": line.row.seed,
                     "ratio_vs_off": line.ratio_vs_off})
    for kind, cells in seed_table2(run).items():
        for (direction, pti), cell in cells.items():
            r = cell.result
            rows.append({"table": 2, "row": kind, "variant": r.name if r else None,
                         "direction": direction, "pti": pti,
                         "status": r.status if r else "absent", "reason": r.reason if r else None,
                         "median": r.median if r else None, "q1": r.q1 if r else None,
                         "q3": r.q3 if r else None, "ns_median": r.ns_median if r else None})
    return rows


def seeds_csv(p: Picked) -> str:
    buf = io.StringIO()
    keys = ["table", "row", "variant", "direction", "pti", "status", "reason", "median", "q1",
            "q3", "ns_median", "loss_vs_off_pct", "step_from", "step_loss_pct", "seed",
            "ratio_vs_off"]
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["file", "run"] + keys)
    for row in _seed_rows(p):
        vals = [row.get(k) for k in keys]
        vals = [f"{v:.2f}" if k.endswith("_pct") and v is not None else v
                for k, v in zip(keys, vals)]
        w.writerow([_csv_value(v) for v in [p.run.path, p.run.index] + vals])
    return buf.getvalue()


def seeds_json(p: Picked) -> str:
    rows = _seed_rows(p)
    return dump_json({"tool": "ptibench-report", "version": __version__, "file": p.run.path,
                      "run": p.run.index, "state": p.run.state,
                      "warnings": run_warnings(p.run),
                      "table1": [r for r in rows if r["table"] == 1],
                      "table2": [r for r in rows if r["table"] == 2]})


# --- probes: what each CPU keeps ------------------------------------------------------------------

def probe_cell(r: Optional[Result]) -> str:
    """One probe of one run: `kept 31/31`, `dropped 0/31`, `mixed 3/31`, a violation in bold,
    `skip` / `fail`, or a dash when the run has no such record; `(APM)` after it when the verdict
    applied AMD's rule (an AMD CPU, a probe that cites the APM)."""
    if r is None:
        return DASH
    if r.status == "skip" or r.observed is None:
        return r.status
    text = f"{r.observed} {r.kept}/{r.reads}"
    if r.verdict != "ok":
        text = f"**{text} {r.verdict}**"
    return f"{text} (APM)" if r.manual == "APM" else text


def probe_names(picks: list[Picked]) -> list[str]:
    """Every probe any run recorded, in the order the runs printed them."""
    names: list[str] = []
    for p in picks:
        for name, r in p.run.results.items():
            if r.family == "probe" and name not in names:
                names.append(name)
    return names


def _probe_rule(picks: list[Picked], name: str) -> tuple[str, str]:
    """The SDM's rule and section; where a record cites the APM, its section too, and its rule
    where that differs."""
    records = [r for r in (p.run.results.get(name) for p in picks)
               if r is not None and r.architecture]
    if not records:
        return "?", ""
    rule, ref = records[0].architecture or "?", records[0].reference or ""
    amd = next((r for r in records if r.reference_amd), None)
    if amd is not None:
        ref += f"; {amd.reference_amd}"
        if amd.architecture_amd and amd.architecture_amd != rule:
            rule += f" (APM: {amd.architecture_amd})"
    return rule, ref


def probes_markdown(picks: list[Picked]) -> str:
    names = letters(len(picks))
    out = ["# ptibench TLB probes: what each CPU keeps\n"]
    legend = [[n, p.run.label, p.run.env.cpu_short if p.run.env else "unknown",
               p.run.env.hypervisor_short if p.run.env else "unknown", p.run.state]
              for n, p in zip(names, picks)]
    out.append(md_table(["", "run", "CPU", "machine", "state"], legend))
    out.append("Each cell: what R reads saw after the operation (`kept`: the old translation "
               "every time), and how many kept it. `kept` proves retention; `dropped` may also "
               "be eviction (docs/method.md). A violation (kept what the manual requires "
               "dropped) is in bold. The manual is Intel's SDM, and AMD's APM for an AMD CPU "
               "where the probe cites it: such cells say (APM).\n")
    probes = probe_names(picks)
    if not probes:
        out.append("No run has probe records (run with `bench=probe.*`).\n")
        return "\n".join(out)
    rows = []
    for name in probes:
        rule, ref = _probe_rule(picks, name)
        rows.append([name, rule] + [probe_cell(p.run.results.get(name)) for p in picks] + [ref])
    out.append(md_table(["probe", "manual"] + names + ["reference"], rows))
    return "\n".join(out)


def probes_json(picks: list[Picked]) -> str:
    probes = probe_names(picks)
    runs = []
    for p in picks:
        cells = {}
        for name in probes:
            r = p.run.results.get(name)
            if r is None:
                cells[name] = None
                continue
            cell = {"status": r.status, "observed": r.observed, "kept": r.kept, "reads": r.reads,
                    "architecture": r.architecture, "verdict": r.verdict}
            # The APM's rule and the verdict's manual, where the record has them.
            for key, value in (("architecture_amd", r.architecture_amd), ("manual", r.manual)):
                if value is not None:
                    cell[key] = value
            cells[name] = cell
        runs.append({"run": p.run.label, "cpu": p.run.env.cpu_short if p.run.env else None,
                     "probes": cells})
    return json.dumps({"tool": f"ptibench-report {__version__}", "runs": runs}, indent=1) + "\n"


# --- reach ---------------------------------------------------------------------------------------

def _reach_estimates(p: Picked) -> list[analysis.ReachEstimate]:
    """From the ticks, then from the TLB event counts where the run has them."""
    return analysis.tlb_reach(p.run) + analysis.counted_reach(p.run)


def reach_markdown(picks: list[Picked]) -> str:
    out = ["# ptibench TLB reach, estimated from the refill curves\n",
           "Estimates, not measurements: where the refill cost of each added page changes, i.e. "
           "where the pages touched outgrow one TLB level (docs/report.md).\n"]
    if any(e.measure != "tsc" for p in picks for e in analysis.counted_reach(p.run)):
        out.append("Where a run counted TLB events on its refill curve, the same is estimated "
                   "from the counts (flushed minus warm pass, events per page added): "
                   "`stlb_hits` bends where the warm pass leaves the first-level DTLB and where "
                   "it outgrows the STLB, `dtlb_walks` where the warm pass starts walking (the "
                   "STLB outgrown). Counts are not moved by page-walk caches or clocks; still "
                   "estimates (replacement policy, set conflicts, the page steps of K).\n")
    for p in picks:
        out.append(f"## {p.run.label}\n")
        for est in _reach_estimates(p):
            where = f"after `{est.flush}`" + ("" if est.measure == "tsc"
                                               else f", from `{est.measure}` (counted)")
            per = "ticks" if est.measure == "tsc" else est.measure
            if est.note:
                out.append(f"- {where}: {est.note}")
            for level, b in zip(est.levels, est.bends):
                out.append(f"- {where}: {level} (estimate) between {b.below} and "
                           f"{b.above} pages ({b.before:.1f} -> {b.after:.1f} {per} for each "
                           f"page added)")
        out.append("")
    return "\n".join(out)


def _bend_json(e: analysis.ReachEstimate, level: str, b: analysis.Bend) -> dict[str, Any]:
    per = "ticks" if e.measure == "tsc" else "events"
    return {"level": level, "below": b.below, "above": b.above,
            f"{per}_per_added_page_before": round(b.before, 3),
            f"{per}_per_added_page_after": round(b.after, 3)}


def reach_json(picks: list[Picked]) -> str:
    runs = []
    for p in picks:
        runs.append({"run": p.run.label, "estimates": [
            {"flush": e.flush, "measure": e.measure, "note": e.note or None,
             "bends": [_bend_json(e, level, b) for level, b in zip(e.levels, e.bends)],
             "marginal": [[k, round(c, 3)] for k, c in e.marginal]}
            for e in _reach_estimates(p)]})
    return json.dumps({"tool": f"ptibench-report {__version__}", "estimate": True, "runs": runs},
                      indent=1) + "\n"


# --- the address-space lab ------------------------------------------------------------------------

def lab_cell(r: Optional[Result]) -> str:
    """Median ticks per slice [q1-q3], then the switches' ASID hits/misses; a stale read in bold."""
    if r is None:
        return ""
    if r.stale_reads:
        return f"**{r.stale_reads} stale**"
    if r.status != "ok" or r.median is None:
        return r.status
    hm = f" h{r.asid_hits}/m{r.asid_misses}" if r.asid_hits is not None else ""
    return f"{num(r.median)} [{iqr(r.q1, r.q3)}]{hm}"


def aspace_markdown(picks: list[Picked]) -> str:
    out = ["# ptibench address-space lab: ticks per slice\n",
           "Each cell: the median ticks of one slice (switch, ring 3 reading W pages, k system "
           "calls touching Kk kernel pages) [q1-q3], then the switches' ASID hits (h) and misses "
           "(m). Under an emulator the ticks are instruction counts, not time.\n"]
    for p in picks:
        out.append(f"## {p.run.label}\n")
        tables = analysis.lab_tables(p.run)
        if not tables:
            out.append("No address-space lab records (run with `bench=aspace.*`).\n")
            continue
        for t in tables:
            out.append(f"### schedule `{t.schedule}` (Kk = {t.kernel_pages})\n")
            ps = t.processes
            rows = [[label] + [lab_cell(cells.get(n)) for n in ps]
                    for label, cells in t.cells.items()]
            out.append(md_table(["policy"] + [f"P={n}" for n in ps], rows))
        foot = analysis.lab_footprint(p.run)
        if foot:
            out.append("### kernel footprint (round-robin, largest P)\n")
            rows = [[r.policy_label, str(r.kernel_pages), "global" if r.global_ else "non-global",
                     lab_cell(r)] for r in foot]
            out.append(md_table(["policy", "Kk", "kernel pages", "ticks per slice"], rows))
        pairs = analysis.lab_invpcid_pairs(p.run)
        if pairs:
            out.append("### kernel flushes with and without INVPCID (one CPU)\n")
            rows = [[x.label, num(x.with_invpcid.flush_median), num(x.without.flush_median),
                     lab_cell(x.with_invpcid), lab_cell(x.without)] for x in pairs]
            out.append(md_table(["policy", "flush, INVPCID", "flush, invalidate_other",
                                 "slice, INVPCID", "slice, invalidate_other"], rows))
    return "\n".join(out)


def aspace_json(picks: list[Picked]) -> str:
    keys = ("policy", "slots", "schedule", "processes", "kernel_pages", "status", "median", "q1",
            "q3", "switch_median", "asid_hits", "asid_misses", "flushes", "user_flushes",
            "kernel_flushes", "invpcids", "invalidate_others", "stale_reads", "noinvpcid",
            "flush_median", "slice_instructions", "tick_mismatches")
    runs = []
    for p in picks:
        lab = [r for r in p.run.results.values() if r.family == "aspace"]
        runs.append({"run": p.run.label, "cpu": p.run.env.cpu_short if p.run.env else None,
                     "results": {r.name: {k: getattr(r, k) for k in keys} for r in lab}})
    return json.dumps({"tool": f"ptibench-report {__version__}", "runs": runs}, indent=1) + "\n"
