"""The log reader: clean fixtures, real-life noise and hand-corrupted copies."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import (
    HASWELL,
    KVM,
    METAL,
    SYNTHETIC,
    TCG,
    line_number,
    oracle,
    record,
    replace_field,
    text_of,
)

from ptibench_report.parse import parse_text, read_capture
from ptibench_report.records import strip_ansi


def messages(cap) -> list[str]:
    return [str(d) for d in cap.diagnostics]


# --- clean fixtures ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", SYNTHETIC, ids=lambda p: p.name)
def test_fixture_results_match_the_log(path: Path) -> None:
    """Every result record the simple oracle sees is read with the same numbers."""
    cap = read_capture(str(path))
    expected = oracle(path)
    complete = [r for r in cap.runs if r.complete]
    assert len(complete) == 1
    run = complete[0]
    raw = [r for r in expected[-1] if r["type"] == "result"]
    assert len(run.results) == len(raw) > 100
    for rec in raw:
        got = run.results[rec["name"]]
        assert got.status == rec["status"]
        assert got.median == rec.get("median")
        assert got.q1 == rec.get("q1") and got.q3 == rec.get("q3")
        assert got.reason == rec.get("reason")


def test_haswell_is_one_clean_run() -> None:
    cap = read_capture(str(HASWELL))
    assert cap.diagnostics == []
    assert cap.damaged == 0
    [run] = cap.runs
    assert run.state == "complete, pass"
    assert run.env is not None and run.env.brand == "Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz"
    assert run.env.features["invpcid"] is True and run.env.features["smap"] is False
    assert run.env.tsc_hz == 50_000_000 and run.env.params["reps"] == 31
    assert run.env.is_bare_metal is False  # Bochs: no hypervisor bit, but ACPI OEM "BOCHS "
    assert run.env.hypervisor_short == "emulator"
    assert run.instruction_counted
    assert run.results["cr3.read"].median == 1.0
    assert run.results["cr4.pge.toggle"].median == 2.0
    assert run.summary is not None and run.summary.ok == 162
    assert [c.name for c in run.checks] == ["paging.kernel", "memory.frames", "pti.user_tables",
                                            "pti.user_read_faults", "nopti.user_read_faults"]
    # the family fields, not the names, say what a refill record is
    r = run.results["tlb.refill.global.invpcid.single.64"]
    assert (r.flush, r.pages, r.global_) == ("invpcid.single", 64, True)
    c = run.results["crossing.pf.pti.k2u"]
    assert (c.kind, c.direction, c.pti, c.pcid) == ("pf", "k2u", True, False)


def test_tcg_has_a_cut_off_run_then_a_complete_one() -> None:
    cap = read_capture(str(TCG))
    assert [r.state for r in cap.runs] == ["incomplete (cut off)", "complete, pass"]
    first, second = cap.runs
    assert first.summary is None and "tlb.refill.cr3.16" in first.results
    assert "tlb.refill.cr3.32" not in first.results  # the record the reset cut in half
    text = text_of(TCG)
    cut = line_number(text, '"name":"tlb.refill.cr3.32","gro')
    assert cap.damaged == 1
    assert any(f":{cut}: damaged PTIBENCH record" in m for m in messages(cap))
    assert any("run 1 (from line" in m and "incomplete (cut off)" in m for m in messages(cap))
    # the record behind a CR-overwritten progress line is found
    assert second.results["cr3.read"].median == record(TCG, "cr3.read")["median"]
    skip = second.results["invpcid.single"]
    assert skip.status == "skip" and skip.reason == "CPU lacks pcid (CPUID.01H:ECX[17])"
    assert second.env is not None and second.env.hypervisor_vendor == "TCGTCGTCGTCG"
    assert second.env.hypervisor_short == "QEMU TCG"


def test_metal_truncated_human_line_and_crcrlf_are_harmless() -> None:
    cap = read_capture(str(METAL))
    assert cap.diagnostics == []
    [run] = cap.runs
    assert run.env is not None and run.env.is_bare_metal is True and run.env.boot == "uefi"
    assert not run.instruction_counted


def test_kvm_is_not_bare_metal() -> None:
    [run] = read_capture(str(KVM)).runs
    assert run.env is not None and run.env.is_bare_metal is False
    assert run.env.hypervisor_short == "KVM"


# --- line handling ----------------------------------------------------------------------------

ENV = '{"type":"env","vendor":"GenuineIntel","bare_metal":true,"tsc_hz":0}'
OK = ('{"type":"result","name":"cr3.read","group":"cr3","status":"ok","unit":"tsc","n":3,'
      '"min":1.000,"q1":1.000,"median":2.000,"mean":2.000,"q3":3.000,"max":3.000,'
      '"stddev":1.000}')
SUMMARY = '{"type":"summary","ok":1,"skipped":0,"failed":0,"checks_failed":0,"status":"pass"}'


def test_ansi_escapes_before_and_around_records() -> None:
    text = (f"\x1b[2J\x1b[0mGNU GRUB  version 2.06\r\n"
            f"\x1b[0m\x1b[37m\x1b]0;title\x07PTIBENCH {ENV}\x1b[0m\r\n"
            f"\x1b[1;1HPTIBENCH {OK}\r\r\n"
            f"PTIBENCH {SUMMARY}")  # no final newline, but complete
    cap = parse_text(text, "t.log")
    assert cap.diagnostics == []
    [run] = cap.runs
    assert run.complete and run.results["cr3.read"].median == 2.0
    assert run.first_line == 2 and run.last_line == 4


def test_strip_ansi_never_eats_text_after_an_unterminated_osc() -> None:
    assert strip_ansi("\x1b]0;no terminator PTIBENCH {}") == "0;no terminator PTIBENCH {}"
    assert strip_ansi("a\x1b[1;31mb\x1b(Bc\x1bcd") == "abcd"


def test_lone_cr_separates_segments() -> None:
    text = f"PTIBENCH {ENV}\n[1/1] cr3.read ...\rPTIBENCH {OK}\rdone\nPTIBENCH {SUMMARY}\n"
    cap = parse_text(text)
    assert cap.diagnostics == [] and cap.runs[0].results["cr3.read"].q3 == 3.0


def test_lf_cr_line_ends_as_grub_prints_them() -> None:
    cap = parse_text(f"GRUB\n\rPTIBENCH {ENV}\n\rPTIBENCH {OK}\n\rPTIBENCH {SUMMARY}\n\r")
    assert cap.diagnostics == [] and cap.runs[0].complete


def test_two_records_glued_on_one_line() -> None:
    """A reset mid-record, then the next boot's record on the same line: one damaged, one read."""
    text = f'PTIBENCH {ENV}\nPTIBENCH {{"type":"resPTIBENCH {ENV}\nPTIBENCH {OK}\n'
    cap = parse_text(text, "g.log")
    assert len(cap.runs) == 2 and cap.damaged == 1
    assert cap.runs[1].results["cr3.read"].median == 2.0
    assert any(m.startswith("g.log:2: damaged PTIBENCH record") for m in messages(cap))


def test_marker_inside_a_json_string_does_not_split_the_record() -> None:
    env = ENV[:-1] + ',"cmdline":"x PTIBENCH {y"}'
    cap = parse_text(f"PTIBENCH {env}\n")
    assert cap.diagnostics[-1].message.startswith("run 1")  # only: no summary
    assert cap.runs[0].env is not None and cap.runs[0].env.cmdline == "x PTIBENCH {y"


def test_text_after_a_record_is_reported_but_the_record_kept() -> None:
    cap = parse_text(f"PTIBENCH {ENV}\nPTIBENCH {OK} trailing\n")
    assert "cr3.read" in cap.runs[0].results
    assert any(":2: text after the PTIBENCH record" in m for m in messages(cap))


def test_truncated_last_line() -> None:
    cut = f"PTIBENCH {ENV}\nPTIBENCH {OK}\nPTIBENCH {SUMMARY[:30]}"
    cap = parse_text(cut, "cut.log")
    assert any(m.startswith("cut.log:3: truncated last line") for m in messages(cap))
    assert cap.runs[0].state == "incomplete (cut off)"
    assert cap.runs[0].results["cr3.read"].median == 2.0


def test_nan_and_infinity_are_not_json() -> None:
    cap = parse_text(f"PTIBENCH {ENV}\nPTIBENCH {OK.replace('2.000', 'NaN', 1)}\n")
    assert "cr3.read" not in cap.runs[0].results
    assert any("NaN is not valid JSON" in m for m in messages(cap))


def test_records_before_any_env_form_an_env_less_run() -> None:
    cap = parse_text(f"PTIBENCH {OK}\nPTIBENCH {SUMMARY}\nPTIBENCH {ENV}\n", "late.log")
    assert [r.env is None for r in cap.runs] == [True, False]
    assert cap.runs[0].state.startswith("no env")
    assert any("late.log:1: result \"cr3.read\" outside a run" in m for m in messages(cap))


def test_summary_counts_against_records() -> None:
    fatal = SUMMARY.replace('"failed":0', '"failed":1').replace('"pass"', '"fail"')
    cap = parse_text(f"PTIBENCH {ENV}\nPTIBENCH {OK}\nptibench: fatal: x\nPTIBENCH {fatal}\n")
    assert cap.diagnostics == []  # a fatal error counts as failed without a result record
    assert cap.runs[0].state == "complete, FAIL"
    lost = SUMMARY.replace('"ok":1', '"ok":2')
    cap = parse_text(f"PTIBENCH {ENV}\nPTIBENCH {OK}\nPTIBENCH {lost}\n", "l.log")
    assert "l.log:3: summary of run 1 disagrees with the results read (ok 2 vs 1 read)" in \
        messages(cap)[0]


def test_summary_without_a_run_is_ignored() -> None:
    cap = parse_text(f"PTIBENCH {SUMMARY}\n")
    assert cap.runs == [] and "summary outside a run" in messages(cap)[0]


def test_unknown_record_type_and_unknown_fields() -> None:
    rec = OK[:-1] + ',"future":{"x":[1,2]}}'
    cap = parse_text(f'PTIBENCH {ENV}\nPTIBENCH {{"type":"histogram","bins":[]}}\n'
                     f"PTIBENCH {rec}\n")
    assert cap.runs[0].results["cr3.read"].median == 2.0  # unknown field ignored silently
    assert [d.line for d in cap.diagnostics if "unknown record type" in d.message] == [2]


# --- hand-corrupted copies of the fixtures ----------------------------------------------------

def test_wrong_types_are_reported_with_file_and_line() -> None:
    text = text_of(HASWELL)
    text = replace_field(text, "cr3.read", "median", '"abc"')
    text = replace_field(text, "invlpg", "n", '"31"')
    text = replace_field(text, "invlpg.unmapped", "status", "5")
    text = replace_field(text, "tlb.refill.cr3.4", "global", '"yes"')
    text = replace_field(text, "cr4.pge.toggle", "q1", "true")
    cap = parse_text(text, "bad.log")
    msgs = messages(cap)
    run = cap.runs[0]

    line = line_number(text, '"name":"cr3.read"')
    assert (f'bad.log:{line}: result "cr3.read": field "median" should be a number, got string '
            '"abc"; treated as missing') in msgs
    assert run.results["cr3.read"].median is None
    assert run.results["cr3.read"].q1 == 1.0  # the other fields survive
    assert not run.results["cr3.read"].usable
    assert run.results["invlpg"].n is None
    assert "invlpg.unmapped" not in run.results  # an unreadable status drops the record
    assert any("status 5 is not one of ok/skip/fail" in m for m in msgs)
    assert run.results["tlb.refill.cr3.4"].global_ is None
    assert any('"tlb.refill.cr3.4": ok but without usable global' in m for m in msgs)
    assert run.results["cr4.pge.toggle"].q1 is None  # true is not a number
    assert run.complete  # the run itself is fine
    assert any("summary of run 1 disagrees" in m for m in msgs)  # one ok record was dropped


def test_wrong_types_in_env_and_summary() -> None:
    text = text_of(HASWELL)
    text = text.replace('"tsc_hz":50000000', '"tsc_hz":"fast"')
    text = text.replace('"features":{"pcid":true', '"features":{"pcid":1')
    text = text.replace('"params":{"reps":31', '"params":{"reps":[31]')
    text = text.replace('"status":"pass"}', '"status":"maybe"}').replace('"ok":162', '"ok":-')
    cap = parse_text(text, "env.log")
    msgs = " | ".join(messages(cap))
    env = cap.runs[0].env
    assert env is not None and env.tsc_hz is None and "pcid" not in env.features
    assert "reps" not in env.params and env.params["unroll"] == 16
    assert 'field "tsc_hz" should be a number, got string "fast"' in msgs
    assert 'env.features: "pcid" should be a boolean, got number 1' in msgs
    assert "damaged PTIBENCH record" in msgs  # "ok":- is not JSON at all
    assert cap.runs[0].state == "incomplete (cut off)"


def test_cut_mid_line_then_the_log_goes_on(tmp_path: Path) -> None:
    text = text_of(METAL)
    lines = text.split("\n")
    i = line_number(text, '"name":"invpcid.all"') - 1
    lines[i] = lines[i][:80]  # the record loses its end, the next lines are intact
    cap = parse_text("\n".join(lines), "cut.log")
    assert any(m.startswith(f"cut.log:{i + 1}: damaged PTIBENCH record") for m in messages(cap))
    run = cap.runs[0]
    assert "invpcid.all" not in run.results and "invpcid.allnonglobal" in run.results
    assert run.complete


def test_log_cut_in_the_middle_of_a_record_at_the_end() -> None:
    text = text_of(KVM)
    at = text.index('"name":"syscall.pti.pcid"')
    cap = parse_text(text[:at + 40], "end.log")
    [run] = cap.runs
    assert run.state == "incomplete (cut off)" and "syscall.pti" in run.results
    last = len(text[:at + 40].split("\n"))
    assert any(m.startswith(f"end.log:{last}: truncated last line") for m in messages(cap))


def test_garbage_bytes(tmp_path: Path) -> None:
    """Random bytes sprinkled over the log: damaged lines reported, the rest read, no crash."""
    data = bytearray(HASWELL.read_bytes())
    rng = random.Random(7)
    for _ in range(60):
        data[rng.randrange(len(data))] = rng.randrange(256)
    data[100:100] = bytes(range(256)) * 4  # and a burst of every byte value
    p = tmp_path / "garbage.log"
    p.write_bytes(bytes(data))
    cap = read_capture(str(p))
    assert cap.runs, "the run must still be found"
    good = sum(len(r.results) for r in cap.runs)
    assert 100 < good < 162
    assert cap.damaged > 0 or any("should be" in m for m in messages(cap))
    assert all(d.line > 0 for d in cap.diagnostics)


def test_duplicated_run_gives_two_identical_runs() -> None:
    text = text_of(HASWELL)
    cap = parse_text(text + text, "dup.log")
    assert len(cap.runs) == 2 and cap.diagnostics == []
    a, b = cap.runs
    assert a.complete and b.complete
    assert [(r.name, r.median) for r in a.results.values()] == \
        [(r.name, r.median) for r in b.results.values()]
    assert b.first_line == a.first_line + len(text.split("\n")) - 1


def test_missing_summary() -> None:
    text = "\n".join(l for l in text_of(METAL).split("\n") if '"type":"summary"' not in l)
    cap = parse_text(text, "nosum.log")
    [run] = cap.runs
    assert run.state == "incomplete (cut off)" and len(run.results) == 162
    assert "incomplete (cut off) at the end of the capture" in messages(cap)[0]


def test_duplicate_variant_in_one_run_keeps_the_first() -> None:
    cap = parse_text(f"PTIBENCH {ENV}\nPTIBENCH {OK}\nPTIBENCH {OK.replace('2.000', '9.000')}\n")
    assert cap.runs[0].results["cr3.read"].median == 2.0
    assert any("repeats line 2" in m for m in messages(cap))


def test_empty_binary_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    assert read_capture(str(empty)).runs == []
    blob = tmp_path / "blob.log"
    blob.write_bytes(bytes(random.Random(1).randrange(256) for _ in range(50000)))
    assert read_capture(str(blob)).runs == []
    missing = read_capture(str(tmp_path / "nope.log"))
    assert missing.read_error and missing.runs == []
