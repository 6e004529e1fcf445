"""The report tool's address-space lab views: `aspace` (a table per schedule, the footprint rows,
the kernel flushes with and without INVPCID) and the `plot` figures (ticks per slice against P,
one line per policy; against Kk, global and not; with and without INVPCID on one CPU)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import FIXTURES

from ptibench_report import analysis, plot
from ptibench_report.parse import read_capture

HASWELL = FIXTURES / "kernel" / "aspace-bochs-haswell.log"
SANDY = FIXTURES / "kernel" / "aspace-bochs-sandy-bridge.log"


def _row(markdown: str, section: str, name: str) -> list[str]:
    part = markdown.split(section, 1)[1]
    for line in part.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells and cells[0] == name:
            return cells
    raise AssertionError(f"no row {name} after {section} in\n{markdown}")


def _record(log: Path, name: str) -> dict:
    for line in log.read_text().splitlines():
        if f'"name":"{name}"' in line:
            return json.loads(line[line.index("{"):])
    raise AssertionError(name)


def test_a_table_per_schedule_with_every_policy_and_p(run_cli) -> None:
    r = run_cli("aspace", "-q", HASWELL)
    assert r.code == 0, r
    for sched in ("rr", "random", "hotpair"):
        assert f"### schedule `{sched}` (Kk = 4)" in r.out
    header = _row(r.out, "### schedule `rr`", "policy")
    assert header[1:] == ["P=2", "P=4", "P=8"], header
    rec = _record(HASWELL, "aspace.linux.6.rr.p8.kk4")
    cells = _row(r.out, "### schedule `rr`", "linux.6")
    assert cells[3] == (f"{rec['median']:.3f} [{rec['q1']:.3f}\u2013{rec['q3']:.3f}] "
                        f"h{rec['asid_hits']}/m{rec['asid_misses']}"), cells
    order = [line.split("|")[1].strip() for line in r.out.split("### schedule `rr`")[1]
             .split("###")[0].splitlines() if line.startswith("| ") and "P=" not in line]
    assert order == ["nopcid", "linux.1", "linux.2", "linux.6", "perprocess", "deferred"], order


def test_footprint_rows_global_against_non_global(run_cli) -> None:
    r = run_cli("aspace", "-q", HASWELL)
    part = r.out.split("### kernel footprint", 1)[1].split("###", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in part.splitlines()
            if line.startswith("| linux.6") or line.startswith("| nopcid")]
    assert [(x[0], x[1], x[2]) for x in rows] == [
        ("nopcid", "0", "non-global"), ("nopcid", "0", "global"), ("nopcid", "4", "non-global"),
        ("nopcid", "4", "global"), ("linux.6", "0", "non-global"), ("linux.6", "0", "global"),
        ("linux.6", "4", "non-global"), ("linux.6", "4", "global")], rows


def test_a_stale_read_is_bold(run_cli, tmp_path: Path) -> None:
    text = HASWELL.read_text()
    line = next(x for x in text.splitlines() if '"name":"aspace.linux.2.rr.p4.kk4"' in x)
    bad = line.replace('"status":"ok"', '"status":"fail","reason":"stale read"').replace(
        '"stale_reads":0', '"stale_reads":3')
    log = tmp_path / "stale.log"
    log.write_text(text.replace(line, bad))
    r = run_cli("aspace", "-q", log)
    assert r.code == 0, r
    assert _row(r.out, "### schedule `rr`", "linux.2")[2] == "**3 stale**"


def test_json_has_the_decision_counts_of_both_cpus(run_cli) -> None:
    r = run_cli("aspace", "-q", "-f", "json", HASWELL, SANDY)
    assert r.code == 0, r
    runs = json.loads(r.out)["runs"]
    assert len(runs) == 2
    name = "aspace.linux.6.rr.p8.kk4"
    a, b = runs[0]["results"][name], runs[1]["results"][name]
    assert a["invpcids"] > 0 and a["invalidate_others"] == 0, a
    assert b["invpcids"] == 0 and b["invalidate_others"] > 0, b
    assert a["stale_reads"] == b["stale_reads"] == 0


def test_no_lab_records_is_said(run_cli) -> None:
    r = run_cli("aspace", "-q", FIXTURES / "kernel" / "probes-qemu-det.log")
    assert r.code == 0, r
    assert "No address-space lab records" in r.out


def test_plot_draws_one_figure_per_schedule(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "fig"
    r = run_cli("plot", "-q", HASWELL, "-o", out, "--formats", "png")
    assert r.code == 0, r.err
    drawn = sorted(Path(p).name for p in r.out.split())
    assert drawn == ["aspace-footprint.png", "aspace-hotpair.png", "aspace-invpcid.png",
                     "aspace-random.png", "aspace-rr.png"], drawn
    assert (out / "aspace-rr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "aspace-invpcid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


NOINVPCID = ("aspace.linux.6.rr.p8.kk4.noinvpcid", "aspace.perprocess.rr.p8.kk4.noinvpcid",
             "aspace.deferred.rr.p8.kk4.noinvpcid")


def test_noinvpcid_rows_stay_out_of_the_main_tables() -> None:
    run = read_capture(str(HASWELL)).runs[-1]
    assert all(run.results[n].noinvpcid for n in NOINVPCID)
    for t in analysis.lab_tables(run):
        for cells in t.cells.values():
            assert not any(r.noinvpcid for r in cells.values()), t
    # linux.6 at P = 8 in the rr table is the INVPCID row, not its twin.
    rr = next(t for t in analysis.lab_tables(run) if t.schedule == "rr")
    assert rr.cells["linux.6"][8].name == "aspace.linux.6.rr.p8.kk4"
    assert not any(r.noinvpcid for r in analysis.lab_footprint(run))


def test_kernel_flushes_with_and_without_invpcid_on_one_cpu(run_cli) -> None:
    r = run_cli("aspace", "-q", HASWELL)
    assert r.code == 0, r
    section = "### kernel flushes with and without INVPCID (one CPU)"
    for name in NOINVPCID:
        twin = name[:-len(".noinvpcid")]
        a, b = _record(HASWELL, twin), _record(HASWELL, name)
        label = "linux.6" if ".linux.6." in name else name.split(".")[1]
        cells = _row(r.out, section, label)
        assert cells[1] == f"{a['flush_median']:.3f}" and cells[2] == f"{b['flush_median']:.3f}"
        assert cells[3].startswith(f"{a['median']:.3f} [") and \
            cells[4].startswith(f"{b['median']:.3f} ["), cells
        # The records themselves: INVPCIDs on one side, invalidate_other on the other.
        assert a["invpcid"] and a["invpcids"] > 0 and a["invalidate_others"] == 0, a
        assert not b["invpcid"] and b["invpcids"] == 0 and b["invalidate_others"] > 0, b
    # Sandy Bridge has no INVPCID: its .noinvpcid rows skip, so there is no pair to show.
    r = run_cli("aspace", "-q", SANDY)
    assert r.code == 0, r
    assert section not in r.out


def test_the_invpcid_figure_plots_each_pairs_flush_and_slice() -> None:
    run = read_capture(str(HASWELL)).runs[-1]
    pairs = analysis.lab_invpcid_pairs(run)
    assert [p.label for p in pairs] == ["linux.6", "perprocess", "deferred"]
    fig = plot._lab_invpcid_figure(run, "tsc")
    assert fig is not None
    flush_ax, slice_ax = fig.axes[:2]
    heights = [[round(b.get_height(), 3) for b in c] for c in flush_ax.containers
               if hasattr(c, "patches")]
    assert heights == [[p.with_invpcid.flush_median for p in pairs],
                       [p.without.flush_median for p in pairs]], heights
    heights = [[round(b.get_height(), 3) for b in c] for c in slice_ax.containers
               if hasattr(c, "patches")]
    assert heights == [[p.with_invpcid.median for p in pairs],
                       [p.without.median for p in pairs]], heights
    assert "instructions (emulator TSC)" in flush_ax.get_ylabel()
    # Without a pair (Sandy Bridge) the figure is not drawn.
    assert plot._lab_invpcid_figure(read_capture(str(SANDY)).runs[-1], "tsc") is None
