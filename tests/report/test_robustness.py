"""Random damage to the fixtures: the tool reports problems and never crashes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import METAL, SYNTHETIC, TCG

from ptibench_report.parse import parse_text


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random capture accident (or several)."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(8)
        at = rng.randrange(len(b) or 1)
        if op == 0:  # line noise: random bytes
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        elif op == 1:  # lost bytes (UART overrun)
            del b[at:at + rng.randint(1, 200)]
        elif op == 2:  # capture stops
            del b[at:]
        elif op == 3:  # a digit turns into a letter or a quote
            digits = [i for i in range(at, min(len(b), at + 2000)) if 48 <= b[i] <= 57]
            for i in digits[: rng.randint(1, 5)]:
                b[i] = rng.choice(b'x"-.{}[]')
        elif op == 4:  # lines duplicated or swapped
            lines = bytes(b).split(b"\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            lines.insert(i, lines[j])
            b = bytearray(b"\n".join(lines))
        elif op == 5:  # a value replaced by something of another JSON type
            text = bytes(b)
            k = text.find(b'":', at)
            if k > 0:
                end = min(x for x in (text.find(b",", k), text.find(b"}", k), len(text))
                          if x >= 0)
                b[k + 2:end] = rng.choice([b'"abc"', b"null", b"[]", b"{}", b"true", b"-1e999",
                                           b"1e400", b"12345678901234567890123"])
        elif op == 6:  # a reset: everything after a point repeated from the start
            b[at:at] = data[: rng.randrange(len(data))]
        else:  # CR/LF chaos
            b = bytearray(bytes(b).replace(b"\r\n", rng.choice([b"\n", b"\r", b"\n\r", b"\r\r\n"])))
    return bytes(b)


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
