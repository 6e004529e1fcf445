"""Boot the ptibench image through run-qemu.sh and read what it printed.

    from bootlib import boot
    run = boot("quick-bios", "--accel", "tcg", "--entry", "quick", timeout=300)
    assert run.returncode == 0, run.describe()
    assert run.summary()["status"] == "pass"
    assert run.results()["cr3.write.nopcid"]["status"] == "ok"

Every `PTIBENCH {json}` of the serial log is a record (docs/output-format.md), found by the
report tool's reader (tools/ptibench_report/records.py) that run-qemu.sh also uses; markers that
do not start a whole record are kept in `Run.damaged`. Runs are cached for the life of
the Python process: the same run-qemu.sh arguments give the same Run, so several test functions
can assert on one boot.

Environment:
  PTIBENCH_ISO            the image (ctest sets it), default build/kernel/ptibench.iso
  PTIBENCH_TEST_LOGS      where serial logs go (ctest sets it), default build/test-logs
  PTIBENCH_BOOT_TIMEOUT   default --timeout for boot() in seconds (600)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_QEMU = ROOT / "run-qemu.sh"
sys.path.insert(0, str(ROOT / "tools"))

# One reader for run-qemu.sh, these tests and the report tool (tools/ptibench_report/records.py).
from ptibench_report.harness import LONG_MODE_MESSAGE  # noqa: E402,F401  (re-exported)
from ptibench_report.records import MARKER, clean_line, scan  # noqa: E402,F401
from ptibench_report import nmi as _nmi  # noqa: E402
from ptibench_report.nmi import SENT as _NMI_SENT  # noqa: E402


def iso_path() -> Path:
    return Path(os.environ.get("PTIBENCH_ISO") or ROOT / "build" / "kernel" / "ptibench.iso")


def log_dir() -> Path:
    return Path(os.environ.get("PTIBENCH_TEST_LOGS") or ROOT / "build" / "test-logs")


def default_timeout() -> int:
    return int(os.environ.get("PTIBENCH_BOOT_TIMEOUT") or 600)


def parse_records(text: str) -> tuple[list[dict], list[str]]:
    """All records of a capture, in order, and the marker segments that are not whole records.

    Stricter than the report tool, which warns and goes on: for a test of the kernel's output a
    record without a "type" string, or with text after its JSON, is damaged.
    """
    records: list[dict] = []
    damaged: list[str] = []
    for found in scan(text):
        rec = found.record
        if rec is None or not isinstance(rec.get("type"), str) or found.trailing.strip():
            damaged.append(found.segment)
        else:
            records.append(rec)
    return records, damaged


class Run:
    """One boot: run-qemu.sh's exit status, the serial log and its records."""

    def __init__(self, name: str, args: tuple[str, ...], returncode: int, log_path: Path,
                 text: str, stderr: str, elapsed: float):
        self.name = name
        self.args = args
        self.returncode = returncode
        self.log_path = log_path
        self.text = text
        self.stderr = stderr  # run-qemu.sh's own messages (verdict, log path, build output)
        self.elapsed = elapsed
        self.records, self.damaged = parse_records(text)

    # -- the records ------------------------------------------------------------------------
    def of_type(self, kind: str) -> list[dict]:
        return [r for r in self.records if r.get("type") == kind]

    def runs(self) -> list[list[dict]]:
        """The records split into runs: each starts at an env record (docs/output-format.md)."""
        runs: list[list[dict]] = []
        for r in self.records:
            if r.get("type") == "env" or not runs:
                runs.append([])
            runs[-1].append(r)
        return runs

    def env(self) -> dict | None:
        """The last env record."""
        envs = self.of_type("env")
        return envs[-1] if envs else None

    def summary(self) -> dict | None:
        """The last summary record."""
        sums = self.of_type("summary")
        return sums[-1] if sums else None

    def results(self) -> dict[str, dict]:
        """result records by name (a later record of the same name wins)."""
        return {r.get("name"): r for r in self.of_type("result")}

    def checks(self) -> dict[str, dict]:
        """check records by name."""
        return {r.get("name"): r for r in self.of_type("check")}

    def faults(self) -> list[dict]:
        return self.of_type("fault")

    # -- the rest of the capture --------------------------------------------------------------
    def lines(self) -> list[str]:
        """All serial lines, cleaned (no \\r, no ANSI escapes)."""
        return [clean_line(line) for line in self.text.split("\n")]

    def human_lines(self) -> list[str]:
        """The serial lines that are not records."""
        return [line for line in self.lines() if MARKER not in line]

    @property
    def nmis_sent(self) -> int:
        """How many NMIs run-qemu.sh --nmi injected (its "nmi: sent NMI N" lines)."""
        return len(_NMI_SENT.findall(self.stderr))

    @property
    def timed_out(self) -> bool:
        return self.returncode == 124

    @property
    def emulator_log_path(self) -> Path:
        """QEMU's -D log (<log>.qemu.log) or Bochs' log (<log>.bochs.log)."""
        stem = str(self.log_path)
        stem = stem[:-4] if stem.endswith(".log") else stem
        kind = "bochs" if "--bochs" in self.args or any(
            a.startswith("--bochs=") for a in self.args) else "qemu"
        return Path(f"{stem}.{kind}.log")

    def emulator_log(self) -> str:
        try:
            return self.emulator_log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def describe(self, tail: int = 40) -> str:
        """A paragraph for assertion messages: how it ran, how it ended, the end of the log."""
        last = "\n".join(f"    {line}" for line in self.lines()[-tail:])
        msgs = "\n".join(f"    {line}" for line in self.stderr.splitlines()[-8:])
        return (f"boot {self.name!r}: run-qemu.sh {' '.join(self.args)}\n"
                f"  exit status {self.returncode} after {self.elapsed:.0f}s; "
                f"{len(self.records)} records, {len(self.damaged)} damaged\n"
                f"  log: {self.log_path}\n"
                f"  run-qemu.sh said:\n{msgs}\n"
                f"  last lines of the log:\n{last}")

    def __repr__(self) -> str:
        return f"<Run {self.name} rc={self.returncode} records={len(self.records)} log={self.log_path}>"


_cache: dict[tuple, Run] = {}
_names: dict[str, tuple] = {}


def _module_stem() -> str:
    """The current test file's name (pytest sets PYTEST_CURRENT_TEST), so that test files run
    in parallel by ctest never share a log file."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    path = current.split("::", 1)[0]
    return Path(path).stem if path else "adhoc"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name)


def _fail(message: str):
    try:
        import pytest
    except ImportError:  # pragma: no cover - bootlib used outside pytest
        raise RuntimeError(message)
    pytest.fail(message, pytrace=False)


def boot(name: str, *run_qemu_args: str, timeout: int | None = None,
         iso: str | os.PathLike | None = None) -> Run:
    """Boot once with run-qemu.sh (--no-build --iso ISO --log LOG --timeout T ARGS...) and
    return the Run; the same arguments within one process return the cached Run.

    name names the log file: <PTIBENCH_TEST_LOGS>/<test file>.<name>.log.
    timeout is run-qemu.sh's --timeout (default PTIBENCH_BOOT_TIMEOUT or 600 s).
    iso overrides PTIBENCH_ISO.
    """
    image = Path(iso) if iso is not None else iso_path()
    args = tuple(str(a) for a in run_qemu_args)
    key = (str(image), args)
    if key in _cache:
        return _cache[key]
    if not image.is_file():
        _fail(f"no ptibench image at {image}: build it (cmake --build build) or set PTIBENCH_ISO")

    stem = f"{_module_stem()}.{_safe(name)}"
    if stem in _names and _names[stem] != key:
        raise ValueError(f"boot name {name!r} already used for other arguments {_names[stem]}")
    _names[stem] = key
    logs = log_dir()
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{stem}.log"
    limit = timeout if timeout is not None else default_timeout()

    cmd = [str(RUN_QEMU), "--no-build", "--iso", str(image), "--log", str(log),
           "--timeout", str(limit), *args]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, errors="replace", cwd=ROOT)
    try:
        # run-qemu.sh enforces the limit itself; this only guards against the script hanging.
        _, stderr = proc.communicate(timeout=limit + 180)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # run-qemu.sh stops the emulator on SIGTERM
        try:
            _, stderr = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
        stderr += f"\nbootlib: run-qemu.sh did not end within {limit + 180}s; stopped it"
    elapsed = time.monotonic() - start
    try:
        text = log.read_text(errors="replace")
    except FileNotFoundError:
        text = ""
    run = Run(name, args, proc.returncode, log, text, stderr, elapsed)
    _cache[key] = run
    return run


def variant_image(entry: str, cmdline: str) -> Path:
    """The image with GRUB's default entry and command line set (the harness's `variant`), for
    tests that start QEMU themselves (no serial port, a monitor of their own)."""
    cache = log_dir() / "variant-iso"
    cache.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        ["/usr/bin/python3", "-B", "-m", "ptibench_report.harness", "variant", "--iso",
         str(iso_path()), "--entry", entry, "--cmdline", cmdline, "--cache", str(cache)],
        env={**os.environ, "PYTHONPATH": str(ROOT / "tools")}, capture_output=True, text=True,
        check=True)
    return Path(out.stdout.strip().splitlines()[-1])


def monitor(path: str, proc: subprocess.Popen) -> _nmi.Monitor:
    """The tool's connection to QEMU's human monitor (-monitor unix:PATH,server,nowait) of a
    QEMU the test started itself; a test failure if it never opens while QEMU runs."""
    mon = _nmi.Monitor.connect(path, lambda: proc.poll() is None)
    if mon is None:
        _fail(f"QEMU's monitor never opened at {path} (QEMU exit code {proc.poll()})")
    return mon
