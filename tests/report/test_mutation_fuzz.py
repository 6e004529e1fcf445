"""A mutation fuzzer of the report tool, in pytest: 2000 cases from a fixed seed, each a piece
of a real fixture log (synthetic and kernel captures) damaged by mutations.hostile (bit flips,
truncation, shuffled and repeated lines, huge numbers, deep nesting, surrogates, invalid UTF-8,
changed types) and fed to the parser and to one command of the tool (list, table, compare,
seeds, each output format). The tool must never raise, never print a traceback, exit only 0 or 1,
and write only text that a UTF-8 stdout can encode. A failing case names its number and saves its
input, so `pytest -k mutation_fuzz` with the same seed reproduces it."""

from __future__ import annotations

import contextlib
import io
import random
import time
import traceback
from pathlib import Path

from conftest import COUNTING, FIXTURES, NOT_COUNTING, SYNTHETIC
from mutations import hostile

from ptibench_report import cli
from ptibench_report.parse import parse_text

SEED = 20261201
CASES = 2000
BUDGET_S = 20.0  # CPU seconds for the whole loop (not wall time: the machines are shared)
SOURCES = SYNTHETIC + [COUNTING, NOT_COUNTING] + sorted((FIXTURES / "kernel").glob("*.log"))

COMMANDS = [
    ["list", "{bad}"],
    ["table", "{bad}"],
    ["table", "-f", "csv", "{bad}"],
    ["table", "-f", "json", "--filter", "cr3.*", "{bad}"],
    ["compare", "{bad}", "{clean}"],
    ["compare", "-f", "json", "--unit", "ns", "{clean}", "{bad}"],
    ["compare", "-f", "csv", "{bad}", "{bad}:1"],
    ["compare", "--unit", "cycles", "{clean}", "{bad}"],
    ["table", "--counters", "all", "{bad}"],
    ["seeds", "{bad}"],
    ["seeds", "-f", "json", "{bad}"],
    ["seeds", "-f", "csv", "{bad}"],
]


def excerpt(lines: list[bytes], rng: random.Random) -> bytes:
    """A run's start (env and the lines before it) and a window of its records, or all of it:
    small inputs keep 2000 cases fast and put the damage near the interesting parts."""
    if rng.random() < 0.03:
        return b"\n".join(lines)
    env = next((i for i, line in enumerate(lines) if b'"type":"env"' in line), 0)
    start = rng.randrange(env + 1, len(lines)) if env + 1 < len(lines) else env
    window = lines[start:start + rng.randint(1, 40)]
    tail = [line for line in lines[-3:] if b'"type":"summary"' in line]
    return b"\n".join(lines[max(0, env - 2):env + 1] + window + tail)


def run_cli(argv: list[str]) -> tuple[int, str, str, str]:
    """(exit status, stdout, stderr, the exception's traceback or "")."""
    out, err = io.StringIO(), io.StringIO()
    raised = ""
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException:  # noqa: BLE001 - any escape is the failure being looked for
            code, raised = -1, traceback.format_exc()
    return code, out.getvalue(), err.getvalue(), raised


def test_mutated_logs_never_break_the_tool(tmp_path: Path):
    rng = random.Random(SEED)
    sources = [p.read_bytes().split(b"\n") for p in SOURCES]
    clean = tmp_path / "clean.log"
    clean.write_bytes(b"\n".join(sources[0][:200]))
    bad = tmp_path / "bad.log"
    failures: list[str] = []
    codes: dict[int, int] = {}
    start = time.process_time()
    for case in range(CASES):
        data = hostile(excerpt(rng.choice(sources), rng), rng)
        bad.write_bytes(data)
        argv = [a.format(bad=bad, clean=clean) for a in COMMANDS[case % len(COMMANDS)]]
        problem = ""
        try:
            cap = parse_text(data.decode("utf-8", "replace"), str(bad))
            if any(d.line < 0 or not d.message for d in cap.diagnostics):
                problem = "a diagnostic without a line or a message"
        except BaseException:  # noqa: BLE001
            problem = "parse_text raised:\n" + traceback.format_exc()
        code, out, err, raised = run_cli(argv)
        codes[code] = codes.get(code, 0) + 1
        if not problem:
            if raised:
                problem = "raised:\n" + raised
            elif code not in (0, 1):
                problem = f"exit status {code}: {err[-500:]}"
            elif "Traceback" in err or "Traceback" in out:
                problem = "printed a traceback:\n" + err[-2000:]
            else:
                try:
                    out.encode("utf-8")
                    err.encode("utf-8")
                except UnicodeEncodeError as exc:
                    problem = f"output a UTF-8 stdout cannot take: {exc}"
        if problem:
            saved = tmp_path / f"case-{case}.log"
            saved.write_bytes(data)
            failures.append(f"case {case} (seed {SEED}): ptibench-report "
                            f"{' '.join(argv[:-1])} {saved}: {problem}")
            if len(failures) >= 5:
                break
    elapsed = time.process_time() - start
    assert not failures, "\n\n".join(failures)
    # both outcomes occur: the cases do reach past the first check, and do break things
    assert codes.get(0, 0) > CASES // 10 and codes.get(1, 0) > CASES // 10, codes
    print(f"exit statuses {codes}, {elapsed:.1f} CPU s")
    assert elapsed < BUDGET_S, f"{CASES} cases took {elapsed:.1f} CPU s (budget {BUDGET_S})"
