"""The seed tables, across languages: the kernel prints them for suite=seeds (bench/ring3.cpp
run_seed_experiments) and the report tool computes them from the records (analysis.py
seed_table1/seed_table2). On every real capture in fixtures/kernel/ that holds them, each cell
the kernel printed must be what the tool computes, within the kernel's printed rounding.

The parser below reads the kernel's table text by its words, not its columns: rows are found
by their labels (analysis.SEED1's kernel_label, the crossing kinds), cells are split at
whitespace, so a change of column widths cannot break it; a change of what a cell means does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest
from conftest import FIXTURES

from ptibench_report import analysis
from ptibench_report.parse import read_capture
from ptibench_report.records import clean_line

SEED_LOGS = [p for p in sorted((FIXTURES / "kernel").glob("*.log"))
             if "Seed 000:" in p.read_text(errors="replace")]

NUMBER = r"-?\d+(?:\.\d+)?"
STATUS = r"ok|skip|fail"
ROW1 = re.compile(rf"(?P<ticks>{NUMBER})(?:\s+(?P<ratio>{NUMBER})\s+(?P<loss>{NUMBER})\s*%)?\s*$"
                  rf"|(?P<status>{STATUS})(?:\s+(?P<reason>.*\S))?\s*$")


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
    line: int  # of the "Seed 000:" title
    table1: list[Row1] = field(default_factory=list)
    table2: dict[str, list[str]] = field(default_factory=dict)  # kind -> its 4 cells


def _row1(number: int, text: str) -> Optional[Row1]:
    labels = sorted((r.kernel_label for r in analysis.SEED1), key=len, reverse=True)
    label = next((lab for lab in labels if re.match(re.escape(lab) + r"(\s|$)", text)), None)
    if label is None:
        return None
    m = ROW1.match(text[len(label):].strip())
    assert m, f"line {number}: seed 000 row {label!r} not understood: {text!r}"
    row = Row1(number, label, status=m["status"], reason=m["reason"])
    for key in ("ticks", "ratio", "loss"):
        if m[key] is not None:
            setattr(row, key, Printed(m[key]))
    return row


def kernel_tables(path: Path) -> list[Tables]:
    """Every pair of seed tables the kernel printed in a capture."""
    lines = [clean_line(x) for x in path.read_bytes().decode("utf-8", "replace").split("\n")]
    found: list[Tables] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("Seed 000:"):
            tables = Tables(i + 1)
            i += 2  # the title, then the column header
            while i < len(lines) and (row := _row1(i + 1, lines[i].strip())):
                tables.table1.append(row)
                i += 1
            found.append(tables)
            continue
        if lines[i].startswith("Seed 003:") and found:
            i += 2
            cell = rf"(?:{NUMBER}|{STATUS})"
            while i < len(lines) and re.fullmatch(rf"\s*(\w+)((?:\s+{cell}){{4}})\s*", lines[i]):
                kind, *cells = lines[i].split()
                found[-1].table2[kind] = cells
                i += 1
            continue
        i += 1
    return found


def _run_at(cap, line: int):
    return next(run for run in cap.runs if run.first_line <= line <= run.last_line)


# The records carry medians with 3 decimals, the kernel computed from the unrounded ones: allow
# what that rounding (half of 0.001 in each median) can move a ratio or a loss.
REC = 0.0005


def _ratio_slack(ref: float, var: float) -> float:  # var / ref
    return REC / ref + var * REC / ref ** 2


def _loss_slack(ref: float, var: float) -> float:  # 100 * (1 - ref / var)
    return 100 * (REC / var + ref * REC / var ** 2)


def test_there_is_a_capture_with_seed_tables():
    assert SEED_LOGS, "no fixtures/kernel/*.log holds the kernel's seed tables"
    for path in SEED_LOGS:
        tables = kernel_tables(path)
        assert tables and all(t.table1 and t.table2 for t in tables), path


@pytest.mark.parametrize("path", SEED_LOGS, ids=[p.name for p in SEED_LOGS])
def test_table1_cells_equal_the_tools(path: Path):
    cap = read_capture(str(path))
    for printed in kernel_tables(path):
        run = _run_at(cap, printed.line)
        tool = {line.row.kernel_label: line for line in analysis.seed_table1(run)}
        assert [r.label for r in printed.table1] == list(tool), "the same rows, in order"
        direct = run.results.get(analysis.SEED1_REFERENCE)
        for row in printed.table1:
            line = tool[row.label]
            r = line.result
            where = f"{path.name}:{row.line} {row.label!r}"
            assert r is not None, f"{where}: the kernel printed a row the log has no record of"
            if row.status is not None:
                assert r.status == row.status, where
                assert row.reason == r.reason, where
                continue
            assert r.usable, where
            assert abs(row.ticks.value - r.median) <= row.ticks.half_unit + REC, where
            if row.ratio is None:
                assert line.loss_vs_off is None and line.ratio_vs_off is None, where
                continue
            ref, var = direct.median, r.median
            assert line.ratio_vs_off is not None, where
            assert abs(row.ratio.value - line.ratio_vs_off) <= \
                row.ratio.half_unit + _ratio_slack(ref, var), where
            # the tool shows "reference" in PTI off's own row; the formula gives 0 there
            loss = line.loss_vs_off if line.row.step_from else analysis.loss(direct, r)
            assert loss is not None, where
            assert abs(row.loss.value - loss) <= row.loss.half_unit + _loss_slack(ref, var), \
                where


@pytest.mark.parametrize("path", SEED_LOGS, ids=[p.name for p in SEED_LOGS])
def test_table2_cells_equal_the_tools(path: Path):
    cap = read_capture(str(path))
    for printed in kernel_tables(path):
        tool = analysis.seed_table2(_run_at(cap, printed.line))
        assert set(printed.table2) <= set(tool), "every kind the kernel printed"
        assert len(printed.table2) >= len(analysis.CROSSING_KINDS)
        for kind, cells in printed.table2.items():
            assert len(cells) == len(analysis.SEED2_COLUMNS)
            for text, column in zip(cells, analysis.SEED2_COLUMNS):
                r = tool[kind][column].result
                where = f"{path.name}: {kind} {column}"
                assert r is not None, where
                if re.fullmatch(STATUS, text):
                    assert r.status == text and (text != "ok"), where
                else:
                    cell = Printed(text)
                    assert r.usable and abs(cell.value - r.median) <= cell.half_unit + REC, where


def test_parser_reads_rows_by_words_not_columns(tmp_path: Path):
    """The same tables with other column widths and a skipped row parse the same way."""
    text = "\n".join([
        "Seed 000: null system call (TSC ticks per call, median) and throughput loss",
        "  scheme  ticks  x PTI off  loss",
        "PTI off 12.0 1.00 0.0 %",
        "    trampoline, PTI off        17.0    1.42    29.4%",
        "  PTI, no PCID\t23.0\t1.92\t47.8 %",
        "  PTI + PCID (Linux)   skip   CPU lacks pcid (CPUID.01H:ECX[17])",
        "  PTI + PCID, +1 mov-to-CR3 fail",
        "  PTI + PCID, +2 mov-to-CR3    31.0",
        "  crossing.syscall.u2k   ok  median 5.000",
        "Seed 003: one-way crossing cost (TSC ticks, median), PTI off and on",
        "  entry kind u2k off k2u off u2k PTI k2u PTI",
        "  syscall 5.0 5.0 8.0 8.0",
        "  pf\t4.0  skip  7.0   8.0   ",
        "  (not bare metal: emulator or hypervisor figures, not hardware timings)",
    ])
    path = tmp_path / "t.log"
    path.write_text(text + "\n")
    (t,) = kernel_tables(path)
    assert [(r.label, r.ticks and r.ticks.text, r.ratio and r.ratio.text,
             r.loss and r.loss.text, r.status, r.reason) for r in t.table1] == [
        ("PTI off", "12.0", "1.00", "0.0", None, None),
        ("trampoline, PTI off", "17.0", "1.42", "29.4", None, None),
        ("PTI, no PCID", "23.0", "1.92", "47.8", None, None),
        ("PTI + PCID (Linux)", None, None, None, "skip", "CPU lacks pcid (CPUID.01H:ECX[17])"),
        ("PTI + PCID, +1 mov-to-CR3", None, None, None, "fail", None),
        ("PTI + PCID, +2 mov-to-CR3", "31.0", None, None, None, None)]
    assert t.table2 == {"syscall": ["5.0", "5.0", "8.0", "8.0"], "pf": ["4.0", "skip", "7.0",
                                                                       "8.0"]}
    assert Printed("29.4").half_unit == pytest.approx(0.05)
