"""Generic checks that any capture printed by the kernel must pass.

Parametrised by glob over tests/report/fixtures/kernel/*.log, so that real captures plug in
by being copied there (no code change); the synthetic fixtures go through the same checks, which
keeps this file honest while kernel/ is empty. PTIBENCH_REPORT_LOGS='glob [glob...]' (relative
to the repository root, or absolute) adds more, e.g. the logs/ that run-qemu.sh writes.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, SYNTHETIC, record

from ptibench_report.model import RESULT_STATUSES
from ptibench_report.parse import read_capture


def _extra_logs() -> list[Path]:
    out: list[Path] = []
    for pattern in os.environ.get("PTIBENCH_REPORT_LOGS", "").split():
        if not os.path.isabs(pattern):
            pattern = str(ROOT / pattern)
        out += [Path(p) for p in sorted(glob.glob(pattern))]
    return out


KERNEL_LOGS = sorted((FIXTURES / "kernel").glob("*.log")) + _extra_logs()
ALL_LOGS = KERNEL_LOGS + SYNTHETIC


def _id(p: Path) -> str:
    return f"{p.parent.name}/{p.name}"


@pytest.mark.parametrize("log", ALL_LOGS, ids=[_id(p) for p in ALL_LOGS])
def test_capture_has_runs_with_env_and_valid_results(log: Path) -> None:
    cap = read_capture(str(log))
    assert cap.read_error is None
    assert cap.runs, "at least one run"
    for run in cap.runs:
        assert run.env is not None, f"run {run.index} has no env record"
        assert run.env.vendor and run.env.tsc_source is not None
        assert run.env.is_bare_metal is not None
    bad_status = [d for d in cap.diagnostics if "is not one of ok/skip/fail" in d.message]
    assert bad_status == [], [str(d) for d in bad_status]
    # A run ends in results, or (cut off before any) in the fault that ended it.
    results = [r for run in cap.runs for r in run.results.values()]
    faults = [f for run in cap.runs for f in run.faults]
    assert results or faults
    for r in results:
        assert r.status in RESULT_STATUSES
        assert r.group, f"{r.name}: no group"
        if r.status == "ok" and r.family == "probe":  # not timed: what the reads saw instead
            assert r.median is None and r.observed in ("kept", "dropped", "mixed"), r.name
            assert r.reads and 0 <= r.kept <= r.reads and r.verdict == "ok", r.name
        elif r.status == "ok":
            assert r.median is not None and r.q1 is not None and r.q3 is not None, r.name
            assert r.q1 <= r.median <= r.q3, r.name
            assert r.n and r.n > 0, r.name
        else:
            assert r.reason, f"{r.name}: {r.status} without a reason"
        if r.family == "tlb" and r.status == "ok":
            assert r.flush and r.pages and r.global_ is not None, r.name
    # type errors would show up as "should be"; real kernel output must have none
    if log in KERNEL_LOGS:
        typed = [str(d) for d in cap.diagnostics if "should be" in d.message]
        assert typed == []
    complete = [run for run in cap.runs if run.complete]
    for run in complete:
        assert run.summary is not None and run.summary.status in ("pass", "fail")


@pytest.mark.parametrize("log", ALL_LOGS, ids=[_id(p) for p in ALL_LOGS])
def test_every_subcommand_reads_the_capture(log: Path, run_cli, tmp_path: Path) -> None:
    for fmt in ("md", "csv", "json"):
        r = run_cli("table", "-q", "-f", fmt, log)
        assert r.code == 0 and r.out, (fmt, r)
        assert run_cli("seeds", "-q", "-f", fmt, log).code == 0
    assert run_cli("list", log).code == 0
    assert run_cli("compare", "-q", log, log).code == 0


@pytest.mark.parametrize("log", KERNEL_LOGS, ids=[_id(p) for p in KERNEL_LOGS])
def test_kernel_capture_plots(log: Path, run_cli, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    r = run_cli("plot", "-q", log, "-o", tmp_path, "--formats", "png")
    assert r.code in (0, 1), r  # 1: nothing to draw (e.g. the self-test suite has no results)
    for line in r.out.split():
        assert Path(line).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- specific checks on the committed captures (see fixtures/kernel/README.md) ---------------

KERNEL = FIXTURES / "kernel"


def test_seeds_from_a_real_deterministic_capture(run_cli) -> None:
    # QEMU -icount: the figures are instruction counts; loss = 1 - direct/variant.
    log = KERNEL / "tcg-icount-seeds.log"
    direct = record(log, "syscall.direct")["median"]
    pti = record(log, "syscall.pti")["median"]
    r = run_cli("seeds", log)
    assert r.code == 0, r
    assert f"{(1 - direct / pti) * 100:.1f}" in r.out
    assert "pcid" in r.out.lower()  # the PCID rows are skipped with their reason on QEMU


def test_table_of_a_real_bochs_capture_warns_it_is_not_bare_metal(run_cli) -> None:
    log = KERNEL / "bochs-haswell-full.log"
    r = run_cli("table", log)
    assert r.code == 0, r
    assert "bare metal" in r.out.lower()
    assert "invpcid.allnonglobal" in r.out and "syscall.pti.pcid.extra2" in r.out


def test_a_real_fault_capture_is_reported_as_a_failed_run(run_cli) -> None:
    log = KERNEL / "uefi-fault-user-read.log"
    r = run_cli("table", log)
    assert r.code == 0, r
    text = (r.out + r.err).lower()
    assert "fault" in text and "#pf" in text


def test_compare_two_real_captures(run_cli) -> None:
    r = run_cli("compare", KERNEL / "tcg-max-quick.log", KERNEL / "bochs-haswell-full.log")
    assert r.code == 0, r
    assert "cr3.read" in r.out
