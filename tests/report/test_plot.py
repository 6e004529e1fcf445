"""Figures: produced, valid PNG/SVG, deterministic; and the path without matplotlib."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import HASWELL, KVM, METAL, TCG, TOOL, text_of, write

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, path
    assert data[12:16] == b"IHDR" and data[-8:-4] == b"IEND", path
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 300 and height > 200, (path, width, height)


def assert_svg(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()  # raises on malformed XML
    assert root.tag == f"{SVG_NS}svg", path
    assert len(list(root.iter(f"{SVG_NS}path"))) > 10, path  # something was drawn
    return root


def names(paths: str) -> list[str]:
    return sorted(Path(p).name for p in paths.split())


def test_single_run_figures(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "fig"
    r = run_cli("plot", METAL, "-o", out)
    assert r.code == 0, r.err
    expected = sorted(f"{n}.{ext}" for n in ("crossings", "syscall", "syscall-touch", "tlb-refill")
                      for ext in ("png", "svg"))
    assert names(r.out) == expected
    assert sorted(p.name for p in out.iterdir()) == expected
    for name in ("tlb-refill", "syscall", "crossings", "syscall-touch"):
        assert_png(out / f"{name}.png")
        assert_svg(out / f"{name}.svg")


def test_svg_carries_no_date_and_is_deterministic(run_cli, tmp_path: Path) -> None:
    run_cli("plot", METAL, "-o", tmp_path / "a", "--formats", "svg")
    run_cli("plot", METAL, "-o", tmp_path / "b", "--formats", "svg")
    for name in ("tlb-refill", "syscall", "crossings"):
        a = (tmp_path / "a" / f"{name}.svg").read_bytes()
        b = (tmp_path / "b" / f"{name}.svg").read_bytes()
        assert a == b, name
        assert b"<dc:date>" not in a and b"Matplotlib v" not in a  # no date, no version


def test_png_is_deterministic(run_cli, tmp_path: Path) -> None:
    run_cli("plot", KVM, "-o", tmp_path / "a", "--formats", "png")
    run_cli("plot", KVM, "-o", tmp_path / "b", "--formats", "png")
    a = (tmp_path / "a" / "syscall.png").read_bytes()
    assert a == (tmp_path / "b" / "syscall.png").read_bytes()
    assert b"Software" not in a[:200]


def test_titles_say_not_bare_metal(run_cli, tmp_path: Path) -> None:
    run_cli("plot", KVM, "-o", tmp_path, "--formats", "svg")
    assert_svg(tmp_path / "syscall.svg")
    # Text is drawn as paths (svg.fonttype=path); matplotlib keeps each string in a comment.
    raw = (tmp_path / "syscall.svg").read_text(encoding="utf-8")
    assert "<!-- Null system call, PTI variants" in raw and "KVM (not bare metal)" in raw


def test_tcg_and_bochs_runs_plot(run_cli, tmp_path: Path) -> None:
    """Skipped PCID variants (gaps, not zeros) and all-zero Bochs refill curves still draw."""
    for log in (TCG, HASWELL):
        out = tmp_path / log.stem
        r = run_cli("plot", log, "-o", out, "--formats", "png", "--unit", "ns")
        assert r.code == 0, r.err
        for name in ("tlb-refill", "syscall", "crossings"):
            assert_png(out / f"{name}.png")


def test_compare_figures(run_cli, tmp_path: Path) -> None:
    r = run_cli("plot", METAL, KVM, f"{TCG}:2", "-o", tmp_path)
    assert r.code == 0, r.err
    families = ["cr3", "invpcid", "invlpg", "cr4", "syscall", "fault", "trap", "int",
                "crossings", "tlb-refill", "syscall-touch"]
    assert names(r.out) == sorted(f"compare-{f}.{e}" for f in families for e in ("png", "svg"))
    for f in families:
        assert_png(tmp_path / f"compare-{f}.png")
        assert_svg(tmp_path / f"compare-{f}.svg")
    raw = (tmp_path / "compare-cr3.svg").read_text(encoding="utf-8")
    assert "synthetic-kvm.log:1 (KVM)" in raw  # the legend names the runs


def test_plot_a_run_with_nothing_to_draw(run_cli, tmp_path: Path) -> None:
    """Only CR3 results: every figure is skipped with a reason, exit 1, no files."""
    keep = [line for line in text_of(METAL).split("\n")
            if "PTIBENCH" not in line or '"group":"cr3"' in line or '"type":"env"' in line]
    log = write(tmp_path, "cr3only.log", "\n".join(keep))
    r = run_cli("plot", log, "-o", tmp_path / "out")
    assert r.code == 1
    assert "tlb-refill: not drawn" in r.err and "nothing to draw" in r.err
    assert list((tmp_path / "out").iterdir()) == []


def test_plot_a_corrupted_log(run_cli, tmp_path: Path) -> None:
    data = text_of(KVM).replace('"median":', '"median":"x"+', 40)  # 40 damaged records
    log = write(tmp_path, "bad.log", data)
    r = run_cli("plot", log, "-o", tmp_path / "out", "--formats", "png")
    assert r.code == 0, r.err
    assert "damaged PTIBENCH record" in r.err
    assert_png(tmp_path / "out" / "tlb-refill.png")


def test_bad_formats_option(run_cli, tmp_path: Path) -> None:
    assert run_cli("plot", METAL, "-o", tmp_path, "--formats", "pdf").code == 2
    assert run_cli("plot", METAL, "-o", tmp_path, "--formats", ",").code == 2


# --- without matplotlib -------------------------------------------------------------------------

def test_plot_without_matplotlib_in_process(run_cli, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """sys.modules[name] = None makes `import name` raise ImportError, as if not installed."""
    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, mod, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    r = run_cli("plot", METAL, "-o", tmp_path / "out")
    assert r.code == 3
    assert "python3-matplotlib" in r.err and "apt install" in r.err
    assert not (tmp_path / "out").exists()
    # everything else still works in the same state
    assert run_cli("table", METAL).code == 0
    assert run_cli("compare", METAL, KVM).code == 0
    assert run_cli("seeds", METAL).code == 0


def test_plot_without_matplotlib_subprocess(tmp_path: Path) -> None:
    """A fake `matplotlib` package that fails to import shadows the real one, as a machine
    without python3-matplotlib would behave."""
    fake = tmp_path / "fake" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named matplotlib')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "fake"), PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([str(TOOL), "plot", str(METAL), "-o", str(tmp_path / "out")], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 3, p.stderr
    assert "sudo apt install python3-matplotlib" in p.stderr and "Traceback" not in p.stderr
    p = subprocess.run([str(TOOL), "seeds", str(METAL)], env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0 and "PTI with PCID" in p.stdout
