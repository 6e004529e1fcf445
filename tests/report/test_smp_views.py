"""The SMP rows in the report tool: the IPI round-trip matrix (read from a real 4-CPU capture,
drawn as a heatmap) and the shootdown curves (from a real 2-CPU Bochs capture)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES

from ptibench_report import analysis
from ptibench_report.parse import read_capture

SMP4 = FIXTURES / "kernel" / "qemu-smp4-ipi.log"
BOCHS2 = FIXTURES / "kernel" / "bochs-smp2-shootdown.log"


def run_of(path: Path, diagnostics: int = 0):
    cap = read_capture(str(path))
    assert cap.runs and len(cap.diagnostics) == diagnostics, cap.diagnostics
    return cap.runs[-1]


def test_the_matrix_has_every_ordered_pair_of_the_four_cpus() -> None:
    run = run_of(SMP4)
    for kind in analysis.IPI_KINDS:
        cpus, cells = analysis.ipi_matrix(run, kind)
        assert cpus == 4
        assert set(cells) == {(s, t) for s in range(4) for t in range(4) if s != t}
        # The cells are the records' medians, placed by their source and target fields.
        for (s, t), v in cells.items():
            assert v == run.results[f"ipi.{kind}.{s}.{t}"].median


def test_a_skipped_pair_is_an_empty_cell_not_a_smaller_matrix(tmp_path: Path) -> None:
    text = SMP4.read_text(errors="replace").splitlines()
    edited = [line.replace('"name":"ipi.fixed.3.0","group":"ipi","status":"ok"',
                           '"name":"ipi.fixed.3.0","group":"ipi","status":"skip","reason":"x"')
              for line in text]
    assert edited != text
    log = tmp_path / "skip.log"
    log.write_text("\n".join(edited) + "\n")
    # (the summary's counts now disagree with the results: one warning)
    cpus, cells = analysis.ipi_matrix(run_of(log, diagnostics=1), "fixed")
    assert cpus == 4 and (3, 0) not in cells and len(cells) == 11


def test_plot_draws_the_heatmap_only_when_there_are_ipi_results(run_cli, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    r = run_cli("plot", "-q", SMP4, "-o", tmp_path / "smp", "--formats", "png")
    assert r.code == 0, r
    assert [Path(p).name for p in r.out.split()] == ["ipi-matrix.png"]
    assert (tmp_path / "smp" / "ipi-matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    other = FIXTURES / "kernel" / "tcg-max-quick.log"
    r = run_cli("plot", "-q", other, "-o", tmp_path / "one", "--formats", "png")
    assert "ipi-matrix" not in r.out


def test_shootdown_curves_come_from_the_records_fields() -> None:
    run = run_of(BOCHS2)
    curves = analysis.shootdown_curves(run)
    # INVLPGB skipped on Bochs: only the IPI schemes, one target, the five page counts.
    assert set(curves) == {"nopti", "pti.pcid"}
    for scheme, per_targets in curves.items():
        assert set(per_targets) == {1}
        pts = per_targets[1]
        assert [p.x for p in pts] == [1.0, 8.0, 33.0, 64.0, 512.0]
        for p in pts:
            r = run.results[f"shootdown.{scheme}.t1.p{int(p.x)}"]
            assert p.value.median == r.median and r.stale_reads == 0
    assert run.results["shootdown.pti.pcid.t1.p8"].user_pcid == "invpcid"
    assert run.results["shootdown.pti.pcid.t1.p64"].user_pcid == "lazy"


def test_plot_draws_the_shootdown_curves(run_cli, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    r = run_cli("plot", "-q", BOCHS2, "-o", tmp_path, "--formats", "png,svg")
    assert r.code == 0, r
    assert sorted(Path(p).name for p in r.out.split()) == [
        "ipi-matrix.png", "ipi-matrix.svg", "shootdown.png", "shootdown.svg"]


BOCHS2_04 = FIXTURES / "kernel" / "bochs-smp2-shootdown-0.4.log"


def test_the_return_to_user_curves_are_the_pti_schemes_return_fields() -> None:
    run = run_of(BOCHS2_04)
    # 0.4's schemes: PTI without PCID beside the others; INVLPGB skipped on Bochs.
    assert set(analysis.shootdown_curves(run)) == {"nopti", "pti", "pti.pcid"}
    returns = analysis.shootdown_return_curves(run)
    assert set(returns) == {"pti", "pti.pcid"}  # nopti makes no CR3 switch: no return figure
    for scheme, per_targets in returns.items():
        pts = per_targets[1]
        assert [p.x for p in pts] == [1.0, 8.0, 33.0, 64.0, 512.0]
        for p in pts:
            r = run.results[f"shootdown.{scheme}.t1.p{int(p.x)}"]
            assert r.user_stale_reads == 0 and r.return_to_user_n >= r.n
            assert (p.value.q1, p.value.median, p.value.q3) == (
                r.return_to_user_q1, r.return_to_user_median, r.return_to_user_q3)
    hz = run.env.tsc_hz
    ns = analysis.shootdown_return_curves(run, "ns")["pti"][1][0]
    assert ns.value.median == pytest.approx(returns["pti"][1][0].value.median * 1e9 / hz)
    assert analysis.shootdown_return_curves(run, "cycles") == {}  # no counters on the returns
    # A log from before 0.4 has none.
    assert analysis.shootdown_return_curves(run_of(BOCHS2)) == {}


def test_plot_draws_the_return_to_user_figure(run_cli, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    r = run_cli("plot", "-q", BOCHS2_04, "-o", tmp_path, "--formats", "png")
    assert r.code == 0, r
    assert sorted(Path(p).name for p in r.out.split()) == [
        "shootdown-return.png", "shootdown.png"]


def test_compare_warns_when_shootdowns_from_both_sides_of_0_4_are_compared(run_cli) -> None:
    # 0.4 made the shot pages user pages and added the targets' return to user space: a 0.2
    # capture's shootdowns against a 0.4 one are compared, with a warning that says why not.
    r = run_cli("compare", "-q", BOCHS2, BOCHS2_04, "--filter", "shootdown.*")
    assert r.code == 0, r
    assert "shootdown.nopti.t1.p8" in r.out
    warnings = [ln for ln in r.err.splitlines() if "changed meaning" in ln]
    assert warnings == ["ptibench-report compare: warning: shootdown.* records changed meaning in "
                        "0.4 (docs/output-format.md): runs from before and after it are "
                        "compared, their figures are not comparable"], r.err
    same = run_cli("compare", "-q", BOCHS2_04, BOCHS2_04, "--filter", "shootdown.*")
    assert same.code == 0 and "changed meaning" not in same.err, same
    ipi = run_cli("compare", "-q", BOCHS2, BOCHS2_04, "--filter", "ipi.*")  # none in the 0.4 log
    assert "changed meaning" not in ipi.err, ipi
