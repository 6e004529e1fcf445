"""Shared helpers of the report tool's tests.

The tool is imported from tools/ (it is not installed), and nothing may be written into the
source tree: outputs go to pytest's tmp_path, and bytecode caching is off for anything imported
from here on (ctest also sets PYTHONDONTWRITEBYTECODE=1 and runs with -p no:cacheprovider).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

sys.dont_write_bytecode = True

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
TOOL = TOOLS / "ptibench-report"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(TOOLS))

from ptibench_report import cli  # noqa: E402

HASWELL = FIXTURES / "synthetic-haswell.log"
TCG = FIXTURES / "synthetic-tcg.log"
KVM = FIXTURES / "synthetic-kvm.log"
METAL = FIXTURES / "synthetic-metal.log"
SYNTHETIC = [HASWELL, TCG, KVM, METAL]
#: Synthetic 0.3 logs with performance counters (fixtures/pmu/README.md).
COUNTING = FIXTURES / "pmu" / "synthetic-counting.log"
NOT_COUNTING = FIXTURES / "pmu" / "synthetic-not-counting.log"


def oracle(path: Path) -> list[list[dict[str, Any]]]:
    """The runs of a log as lists of raw records, read the simple way.

    Deliberately independent of the tool's parser (no shared code), so that tests compare the
    tool's numbers with the log's own, not with themselves. Only good for clean logs.
    """
    runs: list[list[dict[str, Any]]] = []
    for line in path.read_bytes().decode("ascii", "replace").split("\n"):
        at = line.find("PTIBENCH {")
        if at < 0:
            continue
        try:
            rec = json.loads(line[at + 9:].rstrip("\r"))
        except ValueError:
            continue
        if rec["type"] == "env":
            runs.append([])
        if runs:
            runs[-1].append(rec)
    return runs


def record(path: Path, name: str, run: int = -1) -> dict[str, Any]:
    """The raw result record `name` of a run (default: the last)."""
    for rec in oracle(path)[run]:
        if rec.get("type") == "result" and rec.get("name") == name:
            return rec
    raise KeyError(name)


class Result:
    """What one CLI invocation gave."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"Result(code={self.code}, err={self.err[-2000:]!r})"


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run the CLI in-process; returns exit code, stdout and stderr.

    argparse signals usage errors and --help through SystemExit; those become codes too, the
    way the shell would see them.
    """

    def go(*argv: Any) -> Result:
        capsys.readouterr()
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return go


# --- run-qemu.sh with a stand-in emulator ------------------------------------------------------

def run_qemu_with(tmp_path: Path, fake_qemu: str, *args: str, **env: str):
    """run-qemu.sh --no-build --accel tcg --iso X --log tmp/serial.log ARGS with `fake_qemu`
    (a script) as qemu-system-x86_64 on PATH; returns the CompletedProcess (text)."""
    import os
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "qemu-system-x86_64").write_text(fake_qemu)
    (bin_dir / "qemu-system-x86_64").chmod(0o755)
    iso = tmp_path / "any.iso"
    iso.write_bytes(b"not used by the stand-in")
    full_env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", **env)
    return subprocess.run([str(ROOT / "run-qemu.sh"), "--no-build", "--accel", "tcg", "--iso",
                           str(iso), "--log", str(tmp_path / "serial.log"), *args],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env=full_env, timeout=60)


# --- corruptions ------------------------------------------------------------------------------

def text_of(path: Path) -> str:
    return path.read_bytes().decode("ascii")


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


def line_number(text: str, needle: str) -> int:
    """1-based physical line (LF-counted) of the first line containing needle."""
    for i, line in enumerate(text.split("\n"), 1):
        if needle in line:
            return i
    raise KeyError(needle)


def replace_field(text: str, name: str, field: str, new: str) -> str:
    """Replace `field`'s JSON value in the record of variant `name` (first occurrence)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if f'"name":"{name}"' in line and "PTIBENCH {" in line:
            head, _, tail = line.partition(f'"{field}":')
            assert tail, (name, field)
            depth, j = 0, 0
            while j < len(tail):  # the value ends at the next top-level , or }
                c = tail[j]
                if c in "[{":
                    depth += 1
                elif c in "]}":
                    if depth == 0:
                        break
                    depth -= 1
                elif c == "," and depth == 0:
                    break
                elif c == '"':
                    j = tail.index('"', j + 1)
                j += 1
            lines[i] = head + f'"{field}":' + new + tail[j:]
            return "\n".join(lines)
    raise KeyError(name)
