"""The seed tables across languages: the tables the kernel prints for suite=seeds
(bench/seeds.cpp run_seed_experiments) read back from a capture's text, and each of their cells
checked against what the report tool computes from the same capture's records
(analysis.seed_table1/seed_table2). Used by tests/report/test_seed_tables.py (on fixture
captures) and tests/boot/test_seeds.py (on a live run), so both read the tables one way.

The parser reads the kernel's table text by its words, not its columns: rows are found by their
labels (analysis.SEED1's kernel_label, the crossing kinds), cells are split at whitespace, so a
change of column widths cannot break it; a change of what a cell means does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from . import analysis
from .model import Capture, Run
from .records import clean_line

NUMBER = r"-?\d+(?:\.\d+)?"
STATUS = r"ok|skip|fail"
ROW1 = re.compile(rf"(?P<ticks>{NUMBER})(?:\s+(?P<ratio>{NUMBER})\s+(?P<loss>{NUMBER})\s*%)?\s*$"
                  rf"|(?P<status>{STATUS})(?:\s+(?P<reason>.*\S))?\s*$")
TITLE1, TITLE2 = "Seed 000:", "Seed 003:"

# The records carry medians with 3 decimals, the kernel computed from the unrounded ones: allow
# what that rounding (half of 0.001 in each median) can move a ratio or a loss.
REC = 0.0005


class SeedTableError(ValueError):
    """A row of the kernel's table 1 whose label is known but whose cells are not understood."""


@dataclass
class Printed:
    """A number as the kernel printed it: its value and how many decimals it had."""

    text: str

    @property
    def value(self) -> float:
        return float(self.text)

    @property
    def half_unit(self) -> float:
        """Half a unit of the last printed digit: the kernel rounds half away from zero."""
        decimals = len(self.text.split(".")[1]) if "." in self.text else 0
        return 0.5 * 10.0 ** -decimals


@dataclass
class Row1:
    line: int
    label: str
    ticks: Optional[Printed] = None
    ratio: Optional[Printed] = None
    loss: Optional[Printed] = None
    status: Optional[str] = None
    reason: Optional[str] = None


@dataclass
class Tables:
    line: int  # of the "Seed 000:" title (1-based)
    table1: list[Row1] = field(default_factory=list)
    table2: dict[str, list[str]] = field(default_factory=dict)  # kind -> its 4 cells


def _row1(number: int, text: str) -> Optional[Row1]:
    labels = sorted((r.kernel_label for r in analysis.SEED1), key=len, reverse=True)
    label = next((lab for lab in labels if re.match(re.escape(lab) + r"(\s|$)", text)), None)
    if label is None:
        return None
    m = ROW1.match(text[len(label):].strip())
    if not m:
        raise SeedTableError(f"line {number}: seed 000 row {label!r} not understood: {text!r}")
    row = Row1(number, label, status=m["status"], reason=m["reason"])
    for key in ("ticks", "ratio", "loss"):
        if m[key] is not None:
            setattr(row, key, Printed(m[key]))
    return row


def kernel_tables(text: str) -> list[Tables]:
    """Every pair of seed tables the kernel printed in a capture's text."""
    lines = [clean_line(x) for x in text.split("\n")]
    found: list[Tables] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith(TITLE1):
            tables = Tables(i + 1)
            i += 2  # the title, then the column header
            while i < len(lines) and (row := _row1(i + 1, lines[i].strip())):
                tables.table1.append(row)
                i += 1
            found.append(tables)
            continue
        if lines[i].startswith(TITLE2) and found:
            i += 2
            cell = rf"(?:{NUMBER}|{STATUS})"
            while i < len(lines) and re.fullmatch(rf"\s*(\w+)((?:\s+{cell}){{4}})\s*", lines[i]):
                kind, *cells = lines[i].split()
                found[-1].table2[kind] = cells
                i += 1
            continue
        i += 1
    return found


def run_at(cap: Capture, line: int) -> Optional[Run]:
    """The run of the capture that holds a line."""
    return next((run for run in cap.runs if run.first_line <= line <= run.last_line), None)


def _ratio_slack(ref: float, var: float) -> float:  # var / ref
    return REC / ref + var * REC / ref ** 2


def _loss_slack(ref: float, var: float) -> float:  # 100 * (1 - ref / var)
    return 100 * (REC / var + ref * REC / var ** 2)


def check_table1(run: Run, printed: Tables, name: str = "") -> list[str]:
    """Where the kernel's table 1 and the tool's differ (empty: every cell agrees)."""
    tool = {line.row.kernel_label: line for line in analysis.seed_table1(run)}
    if [r.label for r in printed.table1] != list(tool):
        return [f"{name}:{printed.line}: rows {[r.label for r in printed.table1]} printed, "
                f"the tool has {list(tool)}"]
    bad: list[str] = []
    direct = run.results.get(analysis.SEED1_REFERENCE)
    for row in printed.table1:
        line = tool[row.label]
        r = line.result
        where = f"{name}:{row.line} {row.label!r}"
        if r is None:
            bad.append(f"{where}: the kernel printed a row the log has no record of")
            continue
        if row.status is not None:
            if (r.status, r.reason) != (row.status, row.reason):
                bad.append(f"{where}: printed {row.status} {row.reason!r}, the record says "
                           f"{r.status} {r.reason!r}")
            continue
        if not r.usable or r.median is None:
            bad.append(f"{where}: printed {row.ticks.text}, the record has no usable median")
            continue
        if abs(row.ticks.value - r.median) > row.ticks.half_unit + REC:
            bad.append(f"{where}: ticks printed {row.ticks.text}, the tool's median {r.median}")
        if row.ratio is None:
            if line.loss_vs_off is not None or line.ratio_vs_off is not None:
                bad.append(f"{where}: no ratio printed, the tool has one")
            continue
        if direct is None or direct.median is None or line.ratio_vs_off is None:
            bad.append(f"{where}: a ratio printed, the tool has none")
            continue
        ref, var = direct.median, r.median
        if abs(row.ratio.value - line.ratio_vs_off) > row.ratio.half_unit + _ratio_slack(ref, var):
            bad.append(f"{where}: ratio printed {row.ratio.text}, the tool's "
                       f"{line.ratio_vs_off}")
        # the tool shows "reference" in PTI off's own row; the formula gives 0 there
        loss = line.loss_vs_off if line.row.step_from else analysis.loss(direct, r)
        if loss is None or abs(row.loss.value - loss) > row.loss.half_unit + _loss_slack(ref, var):
            bad.append(f"{where}: loss printed {row.loss.text} %, the tool's {loss}")
    return bad


def check_table2(run: Run, printed: Tables, name: str = "") -> list[str]:
    """Where the kernel's table 2 and the tool's differ (empty: every cell agrees)."""
    tool = analysis.seed_table2(run)
    bad: list[str] = []
    if not set(printed.table2) <= set(tool):
        bad.append(f"{name}: kinds {sorted(set(printed.table2) - set(tool))} printed, not in "
                   f"the tool's table")
    if len(printed.table2) < len(analysis.CROSSING_KINDS):
        bad.append(f"{name}: only {sorted(printed.table2)} of {analysis.CROSSING_KINDS} printed")
    for kind, cells in printed.table2.items():
        if kind not in tool:
            continue
        if len(cells) != len(analysis.SEED2_COLUMNS):
            bad.append(f"{name}: {kind}: {len(cells)} cells")
            continue
        for text, column in zip(cells, analysis.SEED2_COLUMNS):
            r = tool[kind][column].result
            where = f"{name}: {kind} {column}"
            if r is None:
                bad.append(f"{where}: printed {text}, no record")
            elif re.fullmatch(STATUS, text):
                if r.status != text or text == "ok":
                    bad.append(f"{where}: printed {text}, the record says {r.status}")
            elif not r.usable or r.median is None or \
                    abs(Printed(text).value - r.median) > Printed(text).half_unit + REC:
                bad.append(f"{where}: printed {text}, the tool's median {r.median}")
    return bad


def check_capture(cap: Capture, text: str, name: str = "") -> tuple[list[Tables], list[str]]:
    """The kernel's tables in `text` (the capture's own text) and every disagreement with the
    tool's (a table outside any run is one)."""
    tables = kernel_tables(text)
    bad: list[str] = []
    for printed in tables:
        run = run_at(cap, printed.line)
        if run is None:
            bad.append(f"{name}:{printed.line}: seed tables outside any run")
            continue
        bad += check_table1(run, printed, name) + check_table2(run, printed, name)
    return tables, bad
