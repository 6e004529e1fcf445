"""Random damage to the fixtures: the tool reports problems and never crashes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import METAL, SYNTHETIC, TCG
from mutations import mutate

from ptibench_report.parse import parse_text


CASES = [(log, seed) for log in SYNTHETIC for seed in range(12)]


@pytest.mark.parametrize("log,seed", CASES, ids=[f"{l.stem}-{s}" for l, s in CASES])
def test_random_damage_never_crashes(log: Path, seed: int, run_cli, tmp_path: Path) -> None:
    rng = random.Random(seed * 7919 + len(log.name))
    bad = tmp_path / "damaged.log"
    bad.write_bytes(mutate(log.read_bytes(), rng))
    cap = parse_text(bad.read_bytes().decode("utf-8", "replace"), str(bad))
    for d in cap.diagnostics:
        assert d.line >= 0 and d.message
    for argv in (["list", bad], ["table", bad], ["table", "-f", "csv", bad],
                 ["table", "-f", "json", bad], ["seeds", bad], ["seeds", "-f", "json", bad],
                 ["compare", bad, METAL], ["compare", "-f", "json", "--unit", "ns", METAL, bad]):
        r = run_cli(*argv)
        assert r.code in (0, 1), (argv, r)
        assert "Traceback" not in r.err
        if r.code == 1:
            assert not cap.runs or argv[0] == "list"


@pytest.mark.parametrize("seed", range(3))
def test_random_damage_still_plots(seed: int, run_cli, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    bad = tmp_path / "damaged.log"
    bad.write_bytes(mutate(TCG.read_bytes(), random.Random(seed)))
    r = run_cli("plot", "-q", bad, "-o", tmp_path / "out", "--formats", "png")
    assert r.code in (0, 1), r
    r = run_cli("plot", "-q", bad, METAL, "-o", tmp_path / "cmp", "--formats", "svg")
    assert r.code in (0, 1), r
