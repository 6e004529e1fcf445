"""compare's significance: a Mann-Whitney U test when both runs carry `samples` (the kernel's
samples=raw) and scipy is importable, the IQR overlap rule, labelled as such, otherwise."""

from __future__ import annotations

import csv
import io
import json
import statistics
import sys
from math import comb
from pathlib import Path

import pytest
from conftest import write

from ptibench_report import analysis
from ptibench_report.parse import parse_text

ENV = ('PTIBENCH {"type":"env","version":"0.1.0","vendor":"GenuineIntel","brand":"Test CPU",'
       '"hypervisor":false,"bare_metal":true,"tsc_hz":1000000000,"tsc_source":"cpuid.15h"}')


def result(name: str, samples: list[float], with_samples: bool = True) -> str:
    """An ok record whose statistics are those of `samples`."""
    q1, med, q3 = statistics.quantiles(samples, n=4, method="inclusive") \
        if len(samples) > 1 else (samples[0],) * 3
    fields = (f'"type":"result","name":"{name}","group":"{name.split(".")[0]}","status":"ok",'
              f'"unit":"tsc","n":{len(samples)},"min":{min(samples):.3f},"q1":{q1:.3f},'
              f'"median":{med:.3f},"q3":{q3:.3f},"max":{max(samples):.3f}')
    if with_samples:
        fields += ',"samples":[' + ",".join(f"{v:.3f}" for v in samples) + "]"
    return "PTIBENCH {" + fields + "}"


def log(tmp_path: Path, name: str, *records: str) -> Path:
    summary = ('PTIBENCH {"type":"summary","ok":%d,"skipped":0,"failed":0,"checks_failed":0,'
               '"status":"pass"}' % len(records))
    return write(tmp_path, name, "\r\n".join(["GRUB", ENV, *records, summary]) + "\r\n")


# A: 1..5 and B: 6..10, no ties: the exact two-sided p of U = 0 is 2 / C(10, 5).
APART_A, APART_B = [1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0]
# Three against three, IQRs far apart: the smallest p a U test can give is 2 / C(6, 3) = 0.1.
FEW_A, FEW_B = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]
SAME = [5.0] * 31


@pytest.fixture
def logs(tmp_path: Path) -> tuple[Path, Path]:
    a = log(tmp_path, "a.log", result("cr3.apart", APART_A), result("cr3.few", FEW_A),
            result("cr3.same", SAME), result("cr3.one_side", APART_A),
            result("cr3.mixed", [1.0, 3.0, 5.0, 7.0, 9.0]))
    b = log(tmp_path, "b.log", result("cr3.apart", APART_B), result("cr3.few", FEW_B),
            result("cr3.same", SAME), result("cr3.one_side", APART_B, with_samples=False),
            result("cr3.mixed", [2.0, 4.0, 6.0, 8.0, 10.0]))
    return a, b


def cells(run_cli, a: Path, b: Path, *extra: str) -> dict[str, dict]:
    r = run_cli("compare", "-f", "json", a, b, *extra)
    assert r.code == 0, r
    return {row["variant"]: row["cells"][1] for row in json.loads(r.out)["rows"]}


@pytest.fixture
def no_scipy(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine without python3-scipy: `import scipy.stats` fails."""
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    assert analysis.mann_whitney() is None


def test_samples_are_read_and_checked() -> None:
    text = "\n".join([ENV, result("cr3.a", APART_A),
                      result("cr3.b", APART_A).replace('"n":5', '"n":6'),
                      result("cr3.c", APART_A).replace('"samples":[1.000', '"samples":["x"'),
                      result("cr3.d", APART_A).replace('"samples":[1.000', '"samples":[true')])
    cap = parse_text(text, "s.log")
    res = cap.runs[0].results
    assert res["cr3.a"].samples == APART_A
    assert res["cr3.b"].samples == APART_A  # kept, but the count is reported
    assert res["cr3.c"].samples is None and res["cr3.d"].samples is None
    msgs = [str(d) for d in cap.diagnostics]
    assert 's.log:3: result "cr3.b": 5 samples but n is 6' in msgs
    assert any(m.startswith('s.log:4: result "cr3.c": field "samples" should be an array of '
                            'numbers') for m in msgs), msgs
    assert any(m.startswith("s.log:5:") for m in msgs), msgs


@pytest.mark.skipif(analysis.mann_whitney() is None, reason="python3-scipy is not installed")
def test_mann_whitney_when_both_runs_carry_samples(run_cli, logs) -> None:
    c = cells(run_cli, *logs)
    assert c["cr3.apart"]["test"] == analysis.MANN_WHITNEY
    assert c["cr3.apart"]["p_value"] == pytest.approx(2 / comb(10, 5))
    assert c["cr3.apart"]["significant"] is True
    # the IQR rule would call this one significant; the test cannot, with three values each
    assert c["cr3.few"]["p_value"] == pytest.approx(2 / comb(6, 3))
    assert c["cr3.few"]["significant"] is False
    # interleaved values: no evidence of a difference
    assert c["cr3.mixed"]["p_value"] > 0.5 and c["cr3.mixed"]["significant"] is False
    # an emulator's zero spread in both runs: all ties, not significant, no crash
    assert c["cr3.same"] == dict(c["cr3.same"], test=analysis.MANN_WHITNEY, p_value=1.0,
                                 significant=False, ratio=1.0)
    # only one run has samples: the IQR rule, said so
    assert c["cr3.one_side"]["test"] == analysis.IQR_RULE
    assert c["cr3.one_side"]["p_value"] is None and c["cr3.one_side"]["significant"] is True
    assert c["cr3.one_side"]["test_note"] is None


@pytest.mark.skipif(analysis.mann_whitney() is None, reason="python3-scipy is not installed")
def test_markdown_and_csv_name_the_test_and_the_p_value(run_cli, logs) -> None:
    md = run_cli("compare", *logs).out
    row = next(line for line in md.splitlines() if line.startswith("| cr3.few |"))
    ratio = statistics.median(FEW_B) / statistics.median(FEW_A)
    assert row.split(" | ")[-2:] == [f"~{ratio:.2f}", "MWU p=0.1 |"]
    assert "Mann-Whitney U (two-sided) test" in md and "p < 0.05" in md
    assert "IQR overlap (not a significance test)" in md  # cr3.one_side used it
    rows = {r["variant"]: r for r in csv.DictReader(io.StringIO(
        run_cli("compare", "-f", "csv", *logs).out))}
    assert rows["cr3.apart"]["B/A_test"] == analysis.MANN_WHITNEY
    assert float(rows["cr3.apart"]["B/A_p"]) == pytest.approx(2 / comb(10, 5), rel=1e-3)
    assert rows["cr3.one_side"]["B/A_test"] == analysis.IQR_RULE
    assert rows["cr3.one_side"]["B/A_p"] == ""


def test_without_scipy_the_iqr_rule_is_used_and_said(run_cli, logs, no_scipy) -> None:
    c = cells(run_cli, *logs)
    for name in ("cr3.apart", "cr3.few", "cr3.same", "cr3.mixed"):
        assert c[name]["test"] == analysis.IQR_RULE and c[name]["p_value"] is None, name
        assert "python3-scipy" in c[name]["test_note"]
    a, b = (statistics.quantiles(v, n=4, method="inclusive") for v in (FEW_A, FEW_B))
    assert a[2] < b[0], "premise: the IQRs of cr3.few do not overlap"
    assert c["cr3.few"]["significant"] is True
    assert c["cr3.same"]["significant"] is False
    md = run_cli("compare", *logs).out
    assert "scipy is not installed" in md and "MWU" not in md
    assert "| cr3.few |" in md and "IQR rule: apart" in md


def test_without_samples_the_old_rule_is_labelled(run_cli, tmp_path: Path) -> None:
    a = log(tmp_path, "a.log", result("cr3.x", APART_A, with_samples=False))
    b = log(tmp_path, "b.log", result("cr3.x", APART_A, with_samples=False))
    c = cells(run_cli, a, b)["cr3.x"]
    assert (c["test"], c["significant"], c["p_value"], c["test_note"]) == \
        (analysis.IQR_RULE, False, None, None)
    assert "scipy" not in run_cli("compare", a, b).out


def test_mann_whitney_p_all_ties_without_calling_scipy() -> None:
    def never(*_args, **_kw):
        raise AssertionError("scipy must not be asked about identical samples")

    assert analysis.mann_whitney_p([3.0] * 7, [3.0] * 9, never) == 1.0
