"""Inputs that are valid JSON, or nearly, but that Python's defaults turn into tracebacks: a
309-digit integer (float overflow), nesting ~1000 deep (recursion limit), a lone surrogate
escape (not encodable as UTF-8); and two records of one variant in a run. Each must give a
message naming file and line while every other record is kept. The tool is run as a process
under a UTF-8 locale, as a user runs it: only then does a lone surrogate reach an encoder."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import TOOL, write

from ptibench_report.harness import read_facts
from ptibench_report.parse import parse_text
from ptibench_report.records import scan

ENV = 'PTIBENCH {"type":"env","vendor":"GenuineIntel","bare_metal":true,"tsc_source":"pit"}'


def ok(name: str, median: str = "2.000") -> str:
    return ('PTIBENCH {"type":"result","name":"%s","group":"cr3","status":"ok","unit":"tsc",'
            '"n":3,"q1":1.000,"median":%s,"q3":3.000}' % (name, median))


SUMMARY = 'PTIBENCH {"type":"summary","ok":3,"skipped":1,"failed":0,"checks_failed":0,"status":"pass"}'


def capture(tmp_path: Path, bad: str) -> Path:
    """env, cr3.before, the bad record (line 3), cr3.after, summary."""
    return write(tmp_path, "hostile.log",
                 "\n".join([ENV, ok("cr3.before"), bad, ok("cr3.after"), SUMMARY]) + "\n")


def tool(*args: object) -> subprocess.CompletedProcess:
    env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
    env.pop("PYTHONIOENCODING", None)
    return subprocess.run([str(TOOL), *map(str, args)], capture_output=True, env=env,
                          timeout=60)


def results_in(log: Path) -> dict[str, dict]:
    proc = tool("table", "-f", "json", log)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr.decode()
    return {r["name"]: r for r in json.loads(proc.stdout)["runs"][0]["results"]}


@pytest.mark.parametrize("fmt", ["md", "json", "csv"])
def test_huge_integer_is_a_message_not_an_overflow(tmp_path: Path, fmt: str) -> None:
    log = capture(tmp_path, ok("cr3.huge", "1" + "0" * 400))
    proc = tool("table", "-f", fmt, log)
    err = proc.stderr.decode()
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert (f'{log}:3: result "cr3.huge": field "median" should be a number, got a number too '
            f'large to use (401 digits); treated as missing') in err
    assert b"cr3.before" in proc.stdout and b"cr3.after" in proc.stdout


def test_huge_integer_in_integer_fields_and_params(tmp_path: Path) -> None:
    big = "9" * 320
    log = write(tmp_path, "big.log", "\n".join([
        ENV.replace('"pit"', '"pit","tsc_hz":%s,"memory_bytes":%s,"params":{"reps":%s}'
                    % (big, big, big)),
        ok("cr3.a").replace('"n":3', f'"n":{big}'), SUMMARY]) + "\n")
    proc = tool("table", log)
    err = proc.stderr.decode()
    assert proc.returncode == 0 and "Traceback" not in err, err
    for field in ('env: field "tsc_hz"', 'env: field "memory_bytes"', 'env.params: "reps"',
                  'result "cr3.a": field "n"'):
        assert f"{log}:{2 if 'cr3.a' in field else 1}: {field}" in err, (field, err)
    assert err.count("too large to use (320 digits)") == 4


def test_deep_nesting_is_a_damaged_record_not_a_recursion_error(tmp_path: Path) -> None:
    deep = 'PTIBENCH {"type":"env","a":' + "[" * 1000 + "]" * 1000 + "}"
    log = capture(tmp_path, deep)
    proc = tool("table", log)
    err = proc.stderr.decode()
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert f"{log}:3: damaged PTIBENCH record (nested too deeply to read); ignored" in err
    assert set(results_in(log)) == {"cr3.before", "cr3.after"}
    # the same reader serves run-qemu.sh's verdict and bootlib: no exception there either
    found = list(scan(log.read_text()))
    assert [f.record is None for f in found] == [False, False, True, False, False]
    assert read_facts(log.read_text()).summary == "pass"


def test_every_depth_near_the_limit_is_read_or_reported() -> None:
    """Somewhere below the depth the decoder refuses, a value still decodes but is too deep to
    be written back into a message; no depth may raise."""
    for depth in range(850, 1000):
        text = "\n".join([ENV, ok("cr3.deep", "[" * depth + "]" * depth), SUMMARY])
        cap = parse_text(text, "d.log")
        msgs = [str(d) for d in cap.diagnostics]
        assert any(m.startswith('d.log:2: result "cr3.deep": field "median" should be a number')
                   or m.startswith("d.log:2: damaged PTIBENCH record (nested too deeply")
                   for m in msgs), (depth, msgs)


@pytest.mark.parametrize("output", ["stdout", "file"])
def test_lone_surrogate_is_replaced_and_reported(tmp_path: Path, output: str) -> None:
    bad = ('PTIBENCH {"type":"result","name":"cr3.s\\udc80","group":"cr3","status":"skip",'
           '"reason":"lacks \\ud800 x","extra":{"k\\udfff":["\\ud801"]}}')
    log = capture(tmp_path, bad)
    out = tmp_path / "out.md"
    proc = tool("table", log, *(["-o", out] if output == "file" else []))
    err = proc.stderr.decode()
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert (f'{log}:3: a lone UTF-16 surrogate (not a character) in field "extra", field '
            f'"name", field "reason"; replaced by U+FFFD') in err
    text = out.read_text(encoding="utf-8") if output == "file" else proc.stdout.decode("utf-8")
    assert "| cr3.s\ufffd |" in text and "skip: lacks \ufffd x" in text
    assert "cr3.before" in text and "cr3.after" in text


def test_surrogate_pair_is_a_character_not_a_problem(tmp_path: Path) -> None:
    log = capture(tmp_path, ok("cr3.x").replace('"unit":"tsc"',
                                                '"unit":"tsc","note":"\\ud83d\\ude00"'))
    proc = tool("table", log)
    assert proc.returncode == 0 and "UTF-16 surrogate" not in proc.stderr.decode()


def test_two_records_of_one_variant_keep_the_first_and_warn(tmp_path: Path) -> None:
    log = capture(tmp_path, ok("cr3.before", "9.000"))
    proc = tool("table", log)
    err = proc.stderr.decode()
    assert proc.returncode == 0
    assert f'{log}:3: result "cr3.before" repeats line 2 in the same run; the first is kept' \
        in err
    assert results_in(log)["cr3.before"]["median"] == 2.0
    # a variant measured again in a later run is no repeat
    again = write(tmp_path, "two-runs.log", "\n".join(
        [ENV, ok("cr3.a"), SUMMARY, ENV, ok("cr3.a", "5.000"), SUMMARY]) + "\n")
    assert "repeats" not in tool("table", again).stderr.decode()
