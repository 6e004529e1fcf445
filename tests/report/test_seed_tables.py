"""The seed tables, across languages: the kernel prints them for suite=seeds (bench/seeds.cpp
run_seed_experiments) and the report tool computes them from the records (analysis.py
seed_table1/seed_table2). On every real capture in fixtures/kernel/ that holds them, each cell
the kernel printed must be what the tool computes, within the kernel's printed rounding.

The parser and the cell checks are the tool's (tools/ptibench_report/seedcheck.py), shared with
tests/boot/test_seeds.py, which checks a live run the same way.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES

from ptibench_report import seedcheck
from ptibench_report.parse import read_capture, parse_text
from ptibench_report.seedcheck import Printed, SeedTableError, kernel_tables

SEED_LOGS = [p for p in sorted((FIXTURES / "kernel").glob("*.log"))
             if "Seed 000:" in p.read_text(errors="replace")]


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "replace")


def test_there_is_a_capture_with_seed_tables():
    assert SEED_LOGS, "no fixtures/kernel/*.log holds the kernel's seed tables"
    for path in SEED_LOGS:
        tables = kernel_tables(_text(path))
        assert tables and all(t.table1 and t.table2 for t in tables), path


@pytest.mark.parametrize("path", SEED_LOGS, ids=[p.name for p in SEED_LOGS])
def test_table1_cells_equal_the_tools(path: Path):
    cap = read_capture(str(path))
    for printed in kernel_tables(_text(path)):
        assert seedcheck.check_table1(seedcheck.run_at(cap, printed.line), printed,
                                      path.name) == []


@pytest.mark.parametrize("path", SEED_LOGS, ids=[p.name for p in SEED_LOGS])
def test_table2_cells_equal_the_tools(path: Path):
    cap = read_capture(str(path))
    for printed in kernel_tables(_text(path)):
        assert seedcheck.check_table2(seedcheck.run_at(cap, printed.line), printed,
                                      path.name) == []


@pytest.mark.parametrize("old,new,says", [
    ("  trampoline, PTI off          17.0       1.42        29.4 %",
     "  trampoline, PTI off          17.0       1.42        31.4 %", "loss printed 31.4 %"),
    ("  PTI, no PCID                 23.0       1.92        47.8 %",
     "  PTI, no PCID                 23.0       1.97        47.8 %", "ratio printed 1.97"),
    ("  PTI off                      12.0       1.00        0.0 %",
     "  PTI off                      12.2       1.00        0.0 %", "ticks printed 12.2"),
    ("  PTI + PCID (Linux)           skip       CPU lacks pcid (CPUID.01H:ECX[17])",
     "  PTI + PCID (Linux)           skip       CPU lacks pge", "printed skip 'CPU lacks pge'"),
])
def test_a_changed_cell_is_found(old, new, says):
    """The checks can fail: one cell of the real capture changed is reported, and only it."""
    (path,) = [p for p in SEED_LOGS if p.name == "tcg-icount-seeds.log"]
    text = _text(path)
    assert old in text
    changed = text.replace(old, new, 1)
    _, bad = seedcheck.check_capture(parse_text(changed, "changed"), changed, "changed")
    assert len(bad) == 1 and says in bad[0], bad


def test_a_row_the_parser_cannot_read_is_an_error():
    with pytest.raises(SeedTableError, match="row 'PTI off' not understood"):
        kernel_tables("Seed 000: x\n  header\n  PTI off  twelve\n")


def test_parser_reads_rows_by_words_not_columns():
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
    (t,) = kernel_tables(text + "\n")
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
