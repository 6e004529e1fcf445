"""What the reports compute from runs: run selection, comparisons, the seed tables, curves.

Kept apart from rendering so that tests can assert on numbers rather than on formatted text, and
so that the Markdown, CSV and JSON outputs cannot disagree (they all render these structures).
"""

from __future__ import annotations

import fnmatch
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from .model import Capture, Result, Run, counter_text


class UsageError(Exception):
    """The user asked for something the inputs cannot give (e.g. run 5 of a 2-run file): exit 2."""


class NoRecords(Exception):
    """An input held no readable record at all: exit 1."""


# --- selecting runs -----------------------------------------------------------------------------

def split_spec(spec: str) -> tuple[str, Optional[int]]:
    """`file` or `file:N` -> (file, N or None).

    A path that exists is taken whole even if it contains a colon; `file:N` is recognised only
    when `file` exists (or is "-"), so a missing `x:3` is reported as the missing file `x:3`.
    """
    if spec == "-" or os.path.exists(spec):
        return spec, None
    m = re.fullmatch(r"(.+):(-?\d+)", spec)
    if m and (m.group(1) == "-" or os.path.exists(m.group(1))):
        return m.group(1), int(m.group(2))
    return spec, None


@dataclass
class Picked:
    """A run chosen from a capture, and why it was chosen (shown to the user)."""

    run: Run
    capture: Capture
    why: str

    @property
    def others(self) -> list[Run]:
        return [r for r in self.capture.runs if r is not self.run]


def pick_run(cap: Capture, wanted: Optional[int]) -> Picked:
    """Run `wanted` (1-based; negative counts from the end), else the last complete one.

    Without a complete run, the last run that has an env is used (incomplete but still
    informative); failing that, the last env-less group of records.
    """
    runs = cap.runs
    if not runs:
        raise NoRecords(f"{cap.path}: no PTIBENCH record could be read")
    if wanted is not None:
        idx = wanted if wanted > 0 else len(runs) + 1 + wanted
        if wanted == 0 or not 1 <= idx <= len(runs):
            raise UsageError(f"{cap.path} has {len(runs)} run(s); there is no run {wanted}")
        return Picked(runs[idx - 1], cap, "as asked")
    complete = [r for r in runs if r.complete]
    if complete:
        return Picked(complete[-1], cap, "the last complete run")
    with_env = [r for r in runs if r.env is not None]
    if with_env:
        return Picked(with_env[-1], cap, "no complete run: the last run, which is incomplete")
    return Picked(runs[-1], cap, "no run has an env record: the last group of records")


def describe_choice(p: Picked) -> str:
    """One paragraph for stderr: which run was used and which others exist."""
    total = len(p.capture.runs)
    text = (f"{p.capture.path}: using run {p.run.index} of {total} ({p.why}; lines "
            f"{p.run.first_line}-{p.run.last_line}, {p.run.state})")
    if p.others:
        text += "; other runs: " + ", ".join(
            f"{r.index} (lines {r.first_line}-{r.last_line}, {r.state})" for r in p.others)
        text += f"; choose another with {p.capture.path}:N"
    return text


def filter_results(run: Run, patterns: Optional[list[str]]) -> list[Result]:
    """The run's results in print order, restricted to names matching any glob in `patterns`."""
    results = list(run.results.values())
    if not patterns:
        return results
    return [r for r in results if any(fnmatch.fnmatchcase(r.name, p) for p in patterns)]


def run_warnings(run: Run) -> list[str]:
    """Plain-language caveats about a run, most important first."""
    out: list[str] = []
    env = run.env
    if env is None:
        out.append("This run has no env record (the capture started mid-run): the machine, "
                   "and whether it was bare metal, are unknown.")
    else:
        bare = env.is_bare_metal
        if bare is False:
            out.append(f"Not bare metal ({env.hypervisor_short}): this run was measured under "
                       "a hypervisor or an emulator; its timings include virtualisation or "
                       "emulation effects and are not bare-metal figures.")
        elif bare is None:
            out.append("The env record does not say whether this run was on bare metal.")
    if run.instruction_counted:
        out.append("Every spread is zero: the TSC counted instructions here (Bochs, or QEMU "
                   "with -icount), so the figures are instruction counts, not cycles.")
    if run.env is not None and run.summary is None:
        out.append(f"Incomplete (cut off): no summary record; the run ends at line "
                   f"{run.last_line}. Variants after that point are missing.")
    for f in run.faults:
        out.append(f"The run ended with a CPU exception at line {f.line}: {f.text}.")
    if run.summary is not None and run.summary.status == "fail":
        out.append("The kernel's summary says FAIL.")
    mismatched = [r.name for r in run.results.values() if r.inst_mismatch is not None]
    if mismatched:
        shown = ", ".join(mismatched[:5]) + (", ..." if len(mismatched) > 5 else "")
        out.append(f"{len(mismatched)} record(s) retired another number of instructions than "
                   f"declared (inst_mismatch: {shown}): an erratum, a hypervisor that counts "
                   "its exits, or a wrong declared count (docs/method.md).")
    smis = sum(r.smis or 0 for r in run.results.values())
    if smis:
        hit = [r.name for r in run.results.values() if r.smis]
        out.append(f"{smis} SMI(s) during the variants ({', '.join(hit[:5])}"
                   f"{', ...' if len(hit) > 5 else ''}): their ticks and cycles include time "
                   "spent in SMM.")
    return out


# --- comparing runs -------------------------------------------------------------------------

@dataclass
class Value:
    """A result's median and interquartile range in the unit being reported."""

    median: float
    q1: Optional[float]
    q3: Optional[float]
    samples: Optional[list[float]] = None  # each repetition's value (samples=raw), or None


#: Units of the ticks; any other unit is a counter field ("cycles", "dtlb_walks", "r0e08").
TICK_UNITS = ("tsc", "ns")
#: `compare`'s default: core cycles where every run measured them for the variant, else ticks.
AUTO = "auto"


def unit_text(unit: str) -> str:
    """A unit in words, for headers and axis labels."""
    return {"tsc": "TSC ticks", "ns": "ns"}.get(unit) or counter_text(unit)


def tick_scale(run: Run, unit: str) -> Optional[float]:
    """What a tick figure is multiplied by in `unit` ("tsc": 1; "ns": from the run's TSC rate,
    None when the run does not know it)."""
    if unit != "ns":
        return 1.0
    hz = run.env.tsc_hz if run.env else None
    return 1e9 / hz if hz else None


def value_of(r: Optional[Result], run: Run, unit: str) -> Optional[Value]:
    """The numbers of `r` in `unit`: "tsc", "ns", or a counter field (its own statistics, which
    have no per-repetition samples); None when not measured or not convertible."""
    if r is None or not r.usable:
        return None
    assert r.median is not None
    if unit not in TICK_UNITS:
        c = r.counters.get(unit)
        return None if c is None else Value(c.median, c.q1, c.q3)
    scale = tick_scale(run, unit)
    if scale is None:
        return None
    return Value(r.median * scale,
                 None if r.q1 is None else r.q1 * scale,
                 None if r.q3 is None else r.q3 * scale,
                 [x * scale for x in r.samples] if r.samples else None)


def overlap(a: Value, b: Value) -> Optional[bool]:
    """Do the [q1, q3] intervals meet? None when either lacks quartiles."""
    if a.q1 is None or a.q3 is None or b.q1 is None or b.q3 is None:
        return None
    return a.q1 <= b.q3 and b.q1 <= a.q3


def ratio(a: Optional[Value], b: Optional[Value]) -> Optional[float]:
    """b/a, or None when it means nothing (a missing, a <= 0, or b < 0)."""
    if a is None or b is None or a.median <= 0 or b.median < 0:
        return None
    return b.median / a.median


#: A difference is significant when the two-sided p-value is below this.
ALPHA = 0.05
MANN_WHITNEY = "Mann-Whitney U (two-sided)"
IQR_RULE = "IQR overlap (not a significance test)"
NO_SCIPY = ("both runs carry samples, but scipy is not installed (Debian: python3-scipy), so "
            "the IQR overlap rule was used")

MannWhitney = Callable[..., object]


def mann_whitney() -> Optional[MannWhitney]:
    """scipy.stats.mannwhitneyu when scipy is importable (Debian's python3-scipy), else None."""
    try:
        from scipy.stats import mannwhitneyu
    except ImportError:
        return None
    return mannwhitneyu


def mann_whitney_p(a: list[float], b: list[float], mwu: MannWhitney) -> float:
    """Two-sided p-value of the Mann-Whitney U test of `a` against `b`.

    Emulators give zero spread: when every value of both samples is the same there is no
    evidence of a difference at all (p = 1), whatever scipy's version makes of the all-tied case.
    """
    if len(set(a) | set(b)) <= 1:
        return 1.0
    with warnings.catch_warnings():  # ties: scipy may warn about the normal approximation
        warnings.simplefilter("ignore")
        p = float(mwu(a, b, alternative="two-sided").pvalue)  # type: ignore[attr-defined]
    return 1.0 if math.isnan(p) else p


@dataclass
class CompareCell:
    result: Optional[Result]
    value: Optional[Value]
    ratio: Optional[float] = None  # to the baseline (first run); None for the baseline itself
    significant: Optional[bool] = None  # False: not significant ("~"); None: cannot tell
    test: Optional[str] = None  # the rule that decided `significant`: MANN_WHITNEY or IQR_RULE
    p_value: Optional[float] = None  # with MANN_WHITNEY
    note: Optional[str] = None  # why the better rule could not be used (NO_SCIPY, TICKS_ONLY)
    ticks_p_value: Optional[float] = None  # a counter row: the U test on the tick samples


def judge_difference(cell: CompareCell, base: Value, v: Value,
                     mwu: Optional[MannWhitney]) -> None:
    """Set cell.significant/test/p_value: a Mann-Whitney U test when both runs carry samples
    and scipy is there, else whether the IQRs overlap (which is not a significance test)."""
    if base.samples and v.samples and mwu is not None:
        cell.test = MANN_WHITNEY
        cell.p_value = mann_whitney_p(base.samples, v.samples, mwu)
        cell.significant = cell.p_value < ALPHA
        return
    o = overlap(base, v)
    if o is not None:
        cell.test = IQR_RULE
        cell.significant = not o
    if base.samples and v.samples:
        cell.note = NO_SCIPY


TICKS_ONLY = ("the kernel prints per-repetition samples in ticks only, so a ratio of counter "
              "medians is judged by the IQR rule on the counter's quartiles; the U test's p on "
              "the tick samples is given beside it (ticks_p_value)")


def judge_counter_difference(cell: CompareCell, base: Value, v: Value, base_ticks: Optional[Value],
                             ticks: Optional[Value], mwu: Optional[MannWhitney]) -> None:
    """A row compared in a counter (cycles): the IQR rule on the counter's quartiles (the unit
    of the ratio), and where both runs carry tick samples, the U test on those, kept apart."""
    judge_difference(cell, base, v, None)
    if base_ticks and ticks and base_ticks.samples and ticks.samples:
        cell.note = TICKS_ONLY if mwu is not None else NO_SCIPY
        if mwu is not None:
            cell.ticks_p_value = mann_whitney_p(base_ticks.samples, ticks.samples, mwu)


@dataclass
class CompareRow:
    name: str
    family: str
    cells: list[CompareCell]
    unit: str = "tsc"  # what every cell of this row is in: "tsc", "ns" or a counter field


def row_unit(name: str, runs: list[Run], unit: str) -> str:
    """The unit a row is compared in. `auto`: core cycles when every compared run measured the
    variant and counted its core cycles, else TSC ticks (also when a run lacks or skipped it:
    its column would otherwise be the only one in ticks); otherwise the unit asked for. One
    unit per row, so a ratio never divides cycles by ticks."""
    if unit != AUTO:
        return unit
    found = [run.results.get(name) for run in runs]
    if all(r is not None and r.usable and "cycles" in r.counters for r in found):
        return "cycles"
    return "tsc"


def compare(runs: list[Run], unit: str = AUTO,
            patterns: Optional[list[str]] = None) -> list[CompareRow]:
    """One row per variant seen in any run (in order of first appearance), in its row_unit,
    ratios to runs[0], each judged significant or not (judge_difference)."""
    mwu = mann_whitney()
    names: dict[str, str] = {}
    for run in runs:
        for r in filter_results(run, patterns):
            names.setdefault(r.name, r.family)
    rows = []
    for name, family in names.items():
        cells = []
        in_unit = row_unit(name, runs, unit)
        base: Optional[Value] = None
        base_ticks: Optional[Value] = None
        for i, run in enumerate(runs):
            r = run.results.get(name)
            v = value_of(r, run, in_unit)
            cell = CompareCell(r, v)
            ticks = value_of(r, run, "tsc") if in_unit not in TICK_UNITS else None
            if i == 0:
                base, base_ticks = v, ticks
            else:
                cell.ratio = ratio(base, v)
                if base is not None and v is not None:
                    if in_unit in TICK_UNITS:
                        judge_difference(cell, base, v, mwu)
                    else:
                        judge_counter_difference(cell, base, v, base_ticks, ticks, mwu)
            cells.append(cell)
        rows.append(CompareRow(name, family, cells, in_unit))
    return rows


def core_clock(run: Run) -> Optional[float]:
    """The median of the variants' aperf_mperf (core clock over reference clock), if any."""
    ratios = sorted(r.aperf_mperf for r in run.results.values() if r.aperf_mperf is not None)
    if not ratios:
        return None
    mid = len(ratios) // 2
    return ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2


#: Families whose records changed meaning in a release (docs/output-format.md): from that
#: (major, minor) on, a run's figures cannot be compared with an older run's.
CHANGED_MEANING: dict[str, tuple[int, int]] = {
    "aspace": (0, 4),     # a slice is the sum of its timed pieces, without the policy's C++
    "shootdown": (0, 4),  # user pages and the targets' return to user space
}


def release_of(run: Run) -> Optional[tuple[int, int]]:
    """(major, minor) of the kernel that wrote the run ("0.4.0+abc" -> (0, 4)); None if unknown."""
    version = run.env.version if run.env else None
    m = re.match(r"(\d+)\.(\d+)", version or "")
    return (int(m[1]), int(m[2])) if m else None


def incomparable(runs: list[Run], rows: list[CompareRow]) -> list[str]:
    """Why some compared families mix records from both sides of a change of meaning."""
    notes = []
    compared = {row.family for row in rows}
    for family, since in CHANGED_MEANING.items():
        if family not in compared:
            continue
        sides = {release_of(r) >= since for r in runs
                 if release_of(r) is not None
                 and any(x.family == family and x.usable for x in r.results.values())}
        if sides == {True, False}:
            notes.append(f"{family}.* records changed meaning in {since[0]}.{since[1]} "
                         f"(docs/output-format.md): runs from before and after it are compared, "
                         f"their figures are not comparable")
    return notes


def compared_unit(rows: list[CompareRow]) -> str:
    """The one unit of a comparison's rows, or "mixed"."""
    units = {row.unit for row in rows}
    return units.pop() if len(units) == 1 else "mixed" if units else "tsc"


# --- the seed tables ------------------------------------------------------------------------
#
# The one definition of the two seed tables in Python: rows, reference, columns, formulas. The
# kernel prints the same two tables for suite=seeds (bench/seeds.cpp run_seed_experiments);
# tests/report/test_seed_tables.py checks, on real captures, that every cell it printed is
# what these functions compute from its records.

@dataclass(frozen=True)
class SeedRow1:
    """A row of seed table 1 and what seed 000 measured for it (unixbench syscall, for context)."""

    label: str
    variant: str
    step_from: Optional[str]  # the row the seed compared this one with
    seed: str
    kernel_label: str  # the row's label in the kernel's own table


SEED1_REFERENCE = "syscall.direct"  # PTI off: what "loss" and "x PTI off" are relative to

SEED1 = (
    SeedRow1("PTI off", SEED1_REFERENCE, None, "reference (unixbench 689 host, 679 guest)",
             "PTI off"),
    SeedRow1("trampoline, PTI off", "syscall.trampoline", SEED1_REFERENCE,
             "4% (680 -> 651)", "trampoline, PTI off"),
    SeedRow1("PTI without PCID", "syscall.pti", SEED1_REFERENCE,
             "68% (KVM guest without PCID: 679 -> 200)", "PTI, no PCID"),
    SeedRow1("PTI with PCID", "syscall.pti.pcid", SEED1_REFERENCE, "45.7% (host: 689 -> 374)",
             "PTI + PCID (Linux)"),
    SeedRow1("PTI with PCID, +1 mov-to-CR3", "syscall.pti.pcid.extra1", "syscall.pti.pcid",
             "17% (374 -> 311)", "PTI + PCID, +1 mov-to-CR3"),
    SeedRow1("PTI with PCID, +2 mov-to-CR3", "syscall.pti.pcid.extra2",
             "syscall.pti.pcid.extra1", "13% (311 -> 270)", "PTI + PCID, +2 mov-to-CR3"),
)


def loss(reference: Optional[Result], variant: Optional[Result]) -> Optional[float]:
    """Throughput lost going from `reference` to `variant`, in percent.

    Seed 000 reports unixbench scores (operations per second), so its "loss" is
    (score_off - score_on) / score_off; with costs per call that is 1 - cost_ref / cost_variant.
    Using the same definition makes our figures comparable in kind with the seed's (not in
    value: unixbench's loop does real work besides the crossing).
    """
    if reference is None or variant is None or not reference.usable or not variant.usable:
        return None
    assert reference.median is not None and variant.median is not None
    if variant.median <= 0 or reference.median < 0:
        return None
    return (1.0 - reference.median / variant.median) * 100.0


def cost_ratio(reference: Optional[Result], variant: Optional[Result]) -> Optional[float]:
    """median(variant) / median(reference): how many times PTI off's cost a call costs."""
    if reference is None or variant is None or not reference.usable or not variant.usable:
        return None
    assert reference.median is not None and variant.median is not None
    if reference.median <= 0 or variant.median < 0:
        return None
    return variant.median / reference.median


@dataclass
class Seed1Line:
    row: SeedRow1
    result: Optional[Result]
    loss_vs_off: Optional[float]  # None for the reference row itself
    step_loss: Optional[float]
    ratio_vs_off: Optional[float] = None  # 1.0 for the reference row


def seed_table1(run: Run) -> list[Seed1Line]:
    direct = run.results.get(SEED1_REFERENCE)
    out = []
    for row in SEED1:
        r = run.results.get(row.variant)
        step_ref = run.results.get(row.step_from) if row.step_from else None
        out.append(Seed1Line(row, r, None if row.step_from is None else loss(direct, r),
                             loss(step_ref, r) if row.step_from else None,
                             cost_ratio(direct, r)))
    return out


CROSSING_KINDS = ("syscall", "pf", "int3", "int")
#: Seed table 2's columns, in the order both the kernel and the report print them.
SEED2_COLUMNS = (("u2k", False), ("k2u", False), ("u2k", True), ("k2u", True))


def crossing_name(kind: str, pti: bool, direction: str) -> str:
    """The stable variant name of a one-way crossing: crossing.<kind>[.pti].<direction>."""
    return f"crossing.{kind}.{'pti.' if pti else ''}{direction}"


@dataclass
class Seed2Cell:
    result: Optional[Result]  # None: no record at all


def seed_table2(run: Run) -> dict[str, dict[tuple[str, bool], Seed2Cell]]:
    """{kind: {(direction, pti): cell}} for the one-way crossings.

    Measured records are placed by their "kind"/"direction"/"pti" fields, as the contract says;
    a record without them (a skip, which carries only name and reason) is found by its stable
    name `crossing.<kind>[.pti].<direction>` so that its reason can be shown.
    """
    kinds = list(CROSSING_KINDS)
    for r in run.results.values():
        if r.family == "crossing" and r.kind and r.kind not in kinds:
            kinds.append(r.kind)
    table: dict[str, dict[tuple[str, bool], Seed2Cell]] = {
        k: {(d, p): Seed2Cell(None) for d, p in SEED2_COLUMNS} for k in kinds
    }
    for r in run.results.values():
        # Seed 003's "PTI on" is PTI without PCID; the .pti.pcid rows are not part of its table.
        if r.family == "crossing" and r.kind and r.direction and r.pti is not None and not r.pcid:
            table[r.kind][(r.direction, r.pti)] = Seed2Cell(r)
    for kind, cells in table.items():
        for (d, p), cell in cells.items():
            if cell.result is None:
                cell.result = run.results.get(crossing_name(kind, p, d))
    return table


# --- curves for plots -------------------------------------------------------------------------

@dataclass
class Point:
    x: float
    value: Value


@dataclass
class Series:
    """One line of a curve plot; `dashed` marks the global-page variant."""

    label: str
    points: list[Point] = field(default_factory=list)
    dashed: bool = False


FLUSH_ORDER = ("none", "cr3", "cr3.noflush", "invpcid.single", "invlpg")


def tlb_curves(run: Run, unit: str = "tsc") -> dict[tuple[bool, str], list[Point]]:
    """{(global, flush): points sorted by pages}, from the records' fields, not their names. The
    pointer-chase curves (`"access":"chase"`, tlb.chase.*) are their own curves, "<flush> chase"."""
    out: dict[tuple[bool, str], list[Point]] = {}
    for r in run.results.values():
        if r.family != "tlb" or r.flush is None or r.pages is None or r.global_ is None:
            continue
        v = value_of(r, run, unit)
        if v is None:
            continue
        flush = f"{r.flush} chase" if r.access == "chase" else r.flush
        out.setdefault((r.global_, flush), []).append(Point(float(r.pages), v))
    for pts in out.values():
        pts.sort(key=lambda p: p.x)
    return dict(sorted(out.items(), key=lambda kv: (kv[0][0], _flush_rank(kv[0][1]))))


def _flush_rank(flush: str) -> tuple[int, str]:
    base, _, chase = flush.partition(" ")
    if base in FLUSH_ORDER:
        return (FLUSH_ORDER.index(base) + (len(FLUSH_ORDER) if chase else 0), "")
    return (2 * len(FLUSH_ORDER), flush)


def touch_curves(run: Run, unit: str = "tsc") -> dict[str, list[Point]]:
    """Syscall variants that touch K user pages after returning: {"PTI"/"PTI + PCID": points}."""
    out: dict[str, list[Point]] = {}
    for r in run.results.values():
        if r.family != "syscall" or r.pages is None:
            continue
        v = value_of(r, run, unit)
        if v is None:
            continue
        label = "PTI + PCID" if r.pcid else "PTI" if r.pti else "no PTI"
        out.setdefault(label, []).append(Point(float(r.pages), v))
    for pts in out.values():
        pts.sort(key=lambda p: p.x)
    return out


SCHEDULE_ORDER = ("rr", "random", "hotpair")


def _policy_rank(label: str) -> tuple[int, int, str]:
    """nopcid, linux.N by N, perprocess, deferred."""
    if label.startswith("linux."):
        tail = label.split(".", 1)[1]
        return (1, int(tail) if tail.isdigit() else 0, label)
    return ({"nopcid": 0, "perprocess": 2, "deferred": 3}.get(label, 4), 0, label)


@dataclass
class LabTable:
    """The address-space lab's main matrix for one schedule: policy label -> {P: result}."""

    schedule: str
    kernel_pages: Optional[int]
    cells: dict[str, dict[int, Result]] = field(default_factory=dict)

    @property
    def processes(self) -> list[int]:
        return sorted({p for row in self.cells.values() for p in row})


def lab_tables(run: Run) -> list[LabTable]:
    """One table per schedule, from the records' fields: the rows of the main matrix (the Kk
    most of that schedule's rows have, non-global), policies in a fixed order."""
    lab = [r for r in run.results.values() if r.family == "aspace" and r.schedule and
           r.processes is not None and r.policy and not r.noinvpcid]
    out = []
    for sched in sorted({r.schedule for r in lab},
                        key=lambda s: (SCHEDULE_ORDER.index(s) if s in SCHEDULE_ORDER else 9, s)):
        rows = [r for r in lab if r.schedule == sched and not r.global_]
        kks = [r.kernel_pages for r in rows]
        kk = max(set(kks), key=kks.count) if kks else None
        t = LabTable(sched, kk)
        for r in sorted(rows, key=lambda r: _policy_rank(r.policy_label)):
            if r.kernel_pages == kk:
                t.cells.setdefault(r.policy_label, {})[r.processes] = r  # type: ignore[index]
        out.append(t)
    return out


def lab_footprint(run: Run) -> list[Result]:
    """Round-robin lab rows of the largest P with more than one Kk or a global variant: what
    the kernel's TLB footprint costs a slice (global against non-global pages)."""
    rr = [r for r in run.results.values() if r.family == "aspace" and r.schedule == "rr" and
          r.processes is not None and r.kernel_pages is not None and not r.noinvpcid]
    if not rr:
        return []
    top = max(r.processes for r in rr)  # type: ignore[type-var]
    rows = [r for r in rr if r.processes == top]
    labels = {r.policy_label for r in rows if r.global_ or
              len({x.kernel_pages for x in rows if x.policy_label == r.policy_label}) > 1}
    rows = [r for r in rows if r.policy_label in labels]
    return sorted(rows, key=lambda r: (_policy_rank(r.policy_label), r.kernel_pages,
                                       bool(r.global_)))


@dataclass
class LabInvpcidPair:
    """One policy's kernel flushes on one CPU, with INVPCID (the main row) and without (its
    .noinvpcid twin: Linux's INVLPG and invalidate_other)."""

    label: str
    with_invpcid: Result
    without: Result


def lab_invpcid_pairs(run: Run) -> list[LabInvpcidPair]:
    """The .noinvpcid records whose main row ran on the same CPU with INVPCID, both measured, in
    the policies' order: what a kernel-address flush costs with and without INVPCID."""
    out = []
    for r in run.results.values():
        if r.family != "aspace" or not r.noinvpcid or not r.name.endswith(".noinvpcid"):
            continue
        twin = run.results.get(r.name[:-len(".noinvpcid")])
        if twin is None or not twin.invpcid or not r.usable or not twin.usable:
            continue
        out.append(LabInvpcidPair(r.policy_label, twin, r))
    return sorted(out, key=lambda p: _policy_rank(p.label))


IPI_KINDS = ("fixed", "poll")  # ipi.fixed.S.T: by interrupt; ipi.poll.S.T: through memory alone


def ipi_matrix(run: Run, kind: str, unit: str = "tsc") -> tuple[int, dict[tuple[int, int], float]]:
    """The round-trip matrix of one IPI mechanism: (CPUs, {(source, target): median}).

    CPUs is one more than the highest CPU any ipi.<kind> record names, measured or not, so a
    skipped or failed pair is an empty cell, not a smaller matrix."""
    cpus = 0
    cells: dict[tuple[int, int], float] = {}
    for r in run.results.values():
        if r.family != "ipi" or r.source is None or r.target is None:
            continue
        if not r.name.startswith(f"ipi.{kind}."):
            continue
        cpus = max(cpus, r.source + 1, r.target + 1)
        v = value_of(r, run, unit)
        if v is not None:
            cells[(r.source, r.target)] = v.median
    return cpus, cells


def _shootdown_points(run: Run, value: Callable[[Result], Optional[Value]]
                      ) -> dict[str, dict[int, list[Point]]]:
    out: dict[str, dict[int, list[Point]]] = {}
    for r in run.results.values():
        if r.family != "shootdown" or r.scheme is None or r.pages is None:
            continue
        v = value(r)
        if v is None:
            continue
        out.setdefault(r.scheme, {}).setdefault(r.targets or 0, []).append(Point(float(r.pages), v))
    for per_scheme in out.values():
        for pts in per_scheme.values():
            pts.sort(key=lambda p: p.x)
    return out


def shootdown_curves(run: Run, unit: str = "tsc") -> dict[str, dict[int, list[Point]]]:
    """{scheme: {targets: points of cost against pages}}, from the records' fields, measured
    shootdowns only (the INVLPGB rows of logs before 0.4 have no targets: 0)."""
    return _shootdown_points(run, lambda r: value_of(r, run, unit))


def shootdown_return_curves(run: Run, unit: str = "tsc") -> dict[str, dict[int, list[Point]]]:
    """The same for the targets' return to user space after each shootdown (the PTI schemes,
    since 0.4: `return_to_user_*`, ticks of the targets' TSCs): where a lazy user-PCID flush
    lands. Tick units only (the returns carry no counters)."""
    scale = tick_scale(run, unit) if unit in TICK_UNITS else None

    def value(r: Result) -> Optional[Value]:
        if not r.usable or r.return_to_user_median is None or scale is None:
            return None
        q1, q3 = r.return_to_user_q1, r.return_to_user_q3
        return Value(r.return_to_user_median * scale, None if q1 is None else q1 * scale,
                     None if q3 is None else q3 * scale)
    return _shootdown_points(run, value)


def syscall_bars(run: Run) -> list[Result]:
    """The syscall variants that are one null call each (not the page-touching ones)."""
    return [r for r in run.results.values() if r.family == "syscall" and r.pages is None
            and ".touch." not in r.name]


def families(results: Iterable[Result]) -> list[str]:
    """Families in order of first appearance."""
    seen: dict[str, None] = {}
    for r in results:
        seen.setdefault(r.family, None)
    return list(seen)


# --- TLB reach, estimated from the refill curves --------------------------------------------------

#: The mean cost of each added page after a split of the curve must differ from the mean
#: before it by more than this share for the split to count as a bend.
REACH_CHANGE = 0.15
#: Below this many ticks a page, the curve says nothing (emulators: the TSC counts instructions,
#: and the flushed and warm passes run the same instructions).
REACH_FLOOR = 0.5


@dataclass
class Bend:
    """The cost of each added page changes between `below` pages and `above`: K has outgrown what
    one level of the TLB holds (or what the page-walk caches cover)."""

    below: int
    above: int
    before: float  # ticks per added page up to `below`
    after: float   # ticks per added page from `below` to `above`


#: Counted refill curves (flushed pass minus warm pass, events per pass): a bend is a change of
#: the events per added page by more than this many events, and below REACH_COUNT_FLOOR events
#: per added page nowhere the curve says nothing.
REACH_COUNT_CHANGE = 0.5
REACH_COUNT_FLOOR = 0.5

#: What the bends of each curve estimate, in page order. Ticks and stlb_hits bend first where
#: the warm pass stops finding everything in the first-level DTLB (stlb_hits: the warm pass
#: starts hitting the STLB, the flushed one never does), then where it outgrows the STLB;
#: dtlb_walks (the flushed pass walks for every page) bends once, where the warm pass starts
#: walking too: the STLB (all levels) outgrown.
REACH_LEVELS: dict[str, tuple[str, ...]] = {
    "tsc": ("first-level DTLB", "STLB"),
    "stlb_hits": ("first-level DTLB", "STLB"),
    "dtlb_walks": ("STLB (all levels)",),
}
#: The counters `reach` reads where a run has them on its refill curve.
REACH_COUNTERS = ("dtlb_walks", "stlb_hits")


@dataclass
class ReachEstimate:
    flush: str
    bends: list[Bend] = field(default_factory=list)
    marginal: list[tuple[int, float]] = field(default_factory=list)  # (K, cost per added page)
    note: str = ""
    measure: str = "tsc"  # what the curve is in: ticks, or a counter field (events per pass)

    @property
    def levels(self) -> tuple[str, ...]:
        return REACH_LEVELS.get(self.measure, ("first-level DTLB", "STLB"))


def tlb_reach(run: Run, unit: str = "tsc") -> list[ReachEstimate]:
    """Where the non-global refill curves after a full flush (`cr3`) and after per-page INVLPG
    bend. Each refill sample is (touch K pages after the flush) minus (the same, warm); between
    two points of the curve, the ticks for each added page are steady while the warm pass keeps
    finding its translations in the same TLB level, and change once K outgrows it. A bend is the
    split of the curve where the mean cost of an added page before and after differ most, if by
    more than REACH_CHANGE (each side at least two points); the first is the estimate for the
    first-level DTLB, the second (searched after it) for the STLB. Estimates only: page-walk caches, data-cache
    conflicts of pages touched at the same offset, and noise move them.

    `unit` may also be a counter (REACH_COUNTERS): the same curve in events per pass, whose
    bends are changes of the events per added page by more than REACH_COUNT_CHANGE (counts do
    not depend on page-walk caches or clocks, so these bends are sharper; see REACH_LEVELS)."""
    out = []
    curves = tlb_curves(run, unit)
    counted = unit not in TICK_UNITS
    floor = REACH_COUNT_FLOOR if counted else REACH_FLOOR
    for flush in ("cr3", "invlpg"):
        pts = [(int(p.x), p.value.median) for p in curves.get((False, flush), []) if p.x > 0]
        est = ReachEstimate(flush, measure=unit)
        est.marginal = [(k1, (v1 - v0) / (k1 - k0)) for (k0, v0), (k1, v1) in zip(pts, pts[1:])]
        if len(est.marginal) < 3:
            est.note = "too few points on the curve"
        elif max(abs(m) for _, m in est.marginal) < floor:
            est.note = (f"no {unit} change measured on the curve" if counted else
                        "no refill cost measured (an emulator's TSC counts instructions)")
        else:
            est.bends = _bends(est.marginal, len(est.levels),
                               _absolute_change if counted else _relative_change,
                               REACH_COUNT_CHANGE if counted else REACH_CHANGE)
            if not est.bends:
                est.note = "no bend up to the largest K (raise refill_max=)"
        out.append(est)
    return out


def counted_reach(run: Run) -> list[ReachEstimate]:
    """tlb_reach from each of REACH_COUNTERS the run's refill curves carry."""
    have = {name for r in run.results.values() if r.family == "tlb" for name in r.counters}
    return [e for name in REACH_COUNTERS if name in have for e in tlb_reach(run, name)]


def _relative_change(left: float, right: float) -> float:
    return abs(right - left) / abs(left) if left else 0.0


def _absolute_change(left: float, right: float) -> float:
    return abs(right - left)


def _bends(marginal: list[tuple[int, float]], most: int,
           change: Callable[[float, float], float] = _relative_change,
           threshold: float = REACH_CHANGE) -> list[Bend]:
    """The bends of a curve of marginal costs, in order of K, at most `most`: the strongest split
    first, then the strongest in each part on either side of it. A split counts when `change`
    of the mean marginal cost left and right of it exceeds `threshold`."""
    if most <= 0 or len(marginal) < 4:
        return []
    best, best_j = 0.0, None
    for j in range(2, len(marginal) - 1):
        left = sum(m for _, m in marginal[:j]) / j
        right = sum(m for _, m in marginal[j:]) / (len(marginal) - j)
        score = change(left, right)
        if score > best:
            best, best_j = score, j
    if best_j is None or best <= threshold:
        return []
    j = best_j
    left = sum(m for _, m in marginal[:j]) / j
    right = sum(m for _, m in marginal[j:]) / (len(marginal) - j)
    here = Bend(marginal[j - 1][0], marginal[j][0], left, right)
    found = (_bends(marginal[:j], most - 1, change, threshold) + [here]
             + _bends(marginal[j:], most - 1, change, threshold))
    found.sort(key=lambda b: b.below)
    if len(found) > most:  # keep this split and the nearest others
        found = found[:most] if here in found[:most] else [here]
    return found
