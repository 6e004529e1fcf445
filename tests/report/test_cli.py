"""The subcommands' output (real values, not just shapes) and exit statuses."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    HASWELL,
    KVM,
    METAL,
    ROOT,
    TCG,
    TOOL,
    line_number,
    record,
    replace_field,
    text_of,
    write,
)

# --- table ------------------------------------------------------------------------------------


def md_row(markdown: str, first_cell: str) -> list[str]:
    """The cells of the Markdown table row that starts with `first_cell`."""
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r}")


def test_table_markdown_has_the_fixture_values(run_cli) -> None:
    r = run_cli("table", METAL)
    assert r.code == 0
    rec = record(METAL, "cr3.read")
    row = md_row(r.out, "cr3.read")
    assert row[1] == f"{rec['median']:.3f}"
    assert row[2] == f"{rec['q1']:.3f}\u2013{rec['q3']:.3f}"
    assert row[3] == "31" and row[4] == f"{rec['ns_median']:.3f}" and row[5] == "ok"
    assert md_row(r.out, "CPU")[1].startswith("Intel(R) Core(TM) i7-6700 CPU @ 3.40GHz")
    assert md_row(r.out, "TSC")[1] == "3.400 GHz (cpuid.16h)"
    assert md_row(r.out, "bare metal")[1] == "yes"
    assert "Not bare metal" not in r.out
    assert "using run 1 of 1 (the last complete run" in r.err


def test_table_bochs_values_and_warnings(run_cli) -> None:
    r = run_cli("table", HASWELL)
    assert md_row(r.out, "cr3.read")[1:4] == ["1.000", "1.000\u20131.000", "31"]
    assert md_row(r.out, "cr3.read")[4] == "20.000"  # 50 MHz TSC: 20 ns a tick
    assert md_row(r.out, "syscall.pti")[1] == "23.000"  # instructions, as ring3.cpp counts
    assert "> **Warning:** Not bare metal (emulator)" in r.out
    assert "TSC counted instructions" in r.out


def test_table_skipped_variants_show_their_reason_and_the_warning(run_cli) -> None:
    r = run_cli("table", TCG)
    assert r.code == 0
    assert md_row(r.out, "invpcid.single")[-1] == "skip: CPU lacks pcid (CPUID.01H:ECX[17])"
    assert md_row(r.out, "invpcid.single")[1] == ""
    assert "> **Warning:** Not bare metal (QEMU TCG)" in r.out
    assert md_row(r.out, "hypervisor")[1] == "QEMU TCG (CPUID signature 'TCGTCGTCGTCG')"
    # the last complete run is chosen, and the others are listed
    assert r.out.startswith("# ptibench run 2 of 2")
    assert "using run 2 of 2 (the last complete run" in r.err
    text = text_of(TCG)
    first, last = line_number(text, '"type":"env"'), line_number(text, '"tlb.refill.cr3.16"')
    assert f"other runs: 1 (lines {first}-{last}, incomplete (cut off))" in r.err
    cut = line_number(text, '"tlb.refill.cr3.32","gro')
    assert f"{TCG}:{cut}: damaged PTIBENCH record" in r.err


def test_table_run_option_selects_the_cut_off_run(run_cli) -> None:
    r = run_cli("table", TCG, "--run", "1")
    assert r.code == 0 and r.out.startswith("# ptibench run 1 of 2")
    assert "Incomplete (cut off)" in r.out
    rec = record(TCG, "tlb.refill.cr3.16", 0)
    assert md_row(r.out, "tlb.refill.cr3.16")[1] == f"{rec['median']:.3f}"
    with pytest.raises(AssertionError):
        md_row(r.out, "syscall.direct")  # after the cut
    assert run_cli("table", f"{TCG}:1").out == r.out  # file:run says the same
    assert run_cli("table", TCG, "--run", "-2").out == r.out  # counted from the end


def test_table_csv(run_cli) -> None:
    r = run_cli("table", "-f", "csv", KVM)
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert len(rows) == 162
    by = {row["variant"]: row for row in rows}
    rec = record(KVM, "crossing.pf.u2k")
    assert float(by["crossing.pf.u2k"]["median"]) == rec["median"]
    assert by["crossing.pf.u2k"]["kind"] == "pf" and by["crossing.pf.u2k"]["pti"] == "false"
    assert by["cr3.read"]["hypervisor"] == "KVM" and by["cr3.read"]["bare_metal"] == "false"
    assert "warning: Not bare metal (KVM)" in r.err  # CSV cannot carry it


def test_table_json_and_filter(run_cli) -> None:
    r = run_cli("table", "-f", "json", "--filter", "invpcid.*", "--filter", "cr4.*", HASWELL)
    doc = json.loads(r.out)
    [run] = doc["runs"]
    assert [x["name"] for x in run["results"]] == [
        "invpcid.addr", "invpcid.single", "invpcid.all", "invpcid.allnonglobal",
        "cr4.pge.toggle"]
    assert run["results"][-1]["median"] == 2.0 and run["results"][-1]["instructions"] == 2
    assert run["env"]["bare_metal"] is False and run["env"]["acpi_oem"] == "BOCHS "
    assert run["complete"] is True and run["summary"]["ok"] == 162
    assert any("Not bare metal" in w for w in run["warnings"])


def test_table_several_logs(run_cli) -> None:
    r = run_cli("table", "-f", "json", METAL, f"{TCG}:1")
    runs = json.loads(r.out)["runs"]
    assert [(Path(x["file"]).name, x["run"]) for x in runs] == [
        ("synthetic-metal.log", 1), ("synthetic-tcg.log", 1)]
    assert runs[1]["state"] == "incomplete (cut off)"


def test_table_output_file(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "t.md"
    r = run_cli("table", METAL, "-o", out)
    assert r.code == 0 and r.out == ""
    assert "| cr3.read |" in out.read_text(encoding="utf-8")


def test_table_of_a_log_with_wrong_types_still_works(run_cli, tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.log", replace_field(text_of(METAL), "cr3.read", "median", '"abc"'))
    r = run_cli("table", bad)
    assert r.code == 0
    assert 'field "median" should be a number, got string "abc"' in r.err
    assert md_row(r.out, "cr3.read")[1] == "n/a"
    assert md_row(r.out, "cr3.read")[5] == "ok (no usable median)"
    rec = record(METAL, "cr3.write.nopcid")
    assert md_row(r.out, "cr3.write.nopcid")[1] == f"{rec['median']:.3f}"


def test_quiet_hides_line_diagnostics_but_counts(run_cli) -> None:
    r = run_cli("table", "-q", TCG)
    assert ":117:" not in r.err and "1 damaged, 2 problems" in r.err


# --- compare ----------------------------------------------------------------------------------

def test_compare_ratios_and_significance(run_cli) -> None:
    r = run_cli("compare", "-f", "json", METAL, KVM)
    assert r.code == 0
    doc = json.loads(r.out)
    rows = {row["variant"]: row["cells"] for row in doc["rows"]}
    a, b = record(METAL, "crossing.pf.u2k"), record(KVM, "crossing.pf.u2k")
    cell = rows["crossing.pf.u2k"][1]
    assert cell["ratio"] == pytest.approx(b["median"] / a["median"])
    assert cell["significant"] is True  # 440 vs 600 cycles: the IQRs are far apart
    a, b = record(METAL, "cr3.read"), record(KVM, "cr3.read")
    overlap = a["q1"] <= b["q3"] and b["q1"] <= a["q3"]
    assert overlap, "fixture premise: cr3.read is the same under KVM"
    assert rows["cr3.read"][1]["significant"] is False
    assert rows["cr3.read"][0]["ratio"] is None  # A is the baseline
    assert [x["label"] for x in doc["runs"]] == ["A", "B"]
    assert doc["runs"][1]["bare_metal"] is False


def test_compare_markdown_marks_overlap_with_tilde(run_cli) -> None:
    r = run_cli("compare", METAL, KVM, TCG)
    row = md_row(r.out, "cr3.read")
    a, b, c = (record(p, "cr3.read") for p in (METAL, KVM, TCG))
    assert row[1] == f"{a['median']:.3f} [{a['q1']:.3f}\u2013{a['q3']:.3f}]"
    assert row[4] == f"~{b['median'] / a['median']:.2f}"
    assert row[5] == f"{c['median'] / a['median']:.2f}"
    pcid = md_row(r.out, "cr3.write.pcid.noflush")
    assert pcid[3] == "skip" and pcid[5] == "n/a"
    assert "B (" in r.out and "Not bare metal (KVM)" in r.out
    assert "TSC rates differ" in r.out  # TCG's TSC is not 3.4 GHz


def test_compare_same_file_two_runs_and_ns(run_cli) -> None:
    r = run_cli("compare", "-f", "csv", "--unit", "ns", f"{TCG}:1", f"{TCG}:2")
    rows = {row["variant"]: row for row in csv.DictReader(io.StringIO(r.out))}
    rec1 = record(TCG, "cr3.read", 0)
    assert float(rows["cr3.read"]["A_median"]) == pytest.approx(rec1["median"] * 1e9 / 2599149476,
                                                                abs=1e-3)
    assert rows["syscall.direct"]["A_status"] == "absent"  # run 1 was cut before it
    assert rows["syscall.direct"]["B/A"] == ""


def test_compare_duplicated_run_is_all_not_significant(run_cli, tmp_path: Path) -> None:
    dup = write(tmp_path, "dup.log", text_of(METAL) + text_of(METAL))
    doc = json.loads(run_cli("compare", "-f", "json", f"{dup}:1", f"{dup}:2").out)
    cells = [row["cells"][1] for row in doc["rows"] if row["cells"][1]["ratio"] is not None]
    assert len(cells) > 100
    assert all(c["ratio"] == pytest.approx(1.0) and c["significant"] is False for c in cells)


def test_compare_needs_two_inputs(run_cli) -> None:
    assert run_cli("compare", METAL).code == 2
    assert run_cli("compare").code == 2


# --- seeds ------------------------------------------------------------------------------------

def test_seeds_loss_is_computed_from_the_medians(run_cli) -> None:
    r = run_cli("seeds", HASWELL)
    assert r.code == 0
    # Bochs figures are the instruction counts: direct 12, trampoline 17, pti 23, pcid 30
    assert md_row(r.out, "PTI off")[2:4] == ["12.000", "12.000\u201312.000"]
    assert md_row(r.out, "PTI off")[5] == "reference"
    assert md_row(r.out, "PTI without PCID")[5] == "47.8%"  # 1 - 12/23
    assert md_row(r.out, "PTI with PCID")[5] == "60.0%"  # 1 - 12/30
    assert md_row(r.out, "trampoline, PTI off")[5] == "29.4%"  # 1 - 12/17
    extra = md_row(r.out, "PTI with PCID, +1 mov-to-CR3")
    assert extra[5] == "61.3%" and extra[6] == "3.2% vs syscall.pti.pcid"  # 1-12/31, 1-30/31
    # pf u2k: 4 instructions and the faulting store, which Bochs counts too
    assert md_row(r.out, "pf")[1:] == ["5.000 [5.000\u20135.000]", "5.000 [5.000\u20135.000]",
                                       "8.000 [8.000\u20138.000]", "8.000 [8.000\u20138.000]"]


def test_seeds_json_matches_records(run_cli) -> None:
    doc = json.loads(run_cli("seeds", "-f", "json", METAL).out)
    direct = record(METAL, "syscall.direct")["median"]
    for row in doc["table1"][1:]:
        med = record(METAL, row["variant"])["median"]
        assert row["loss_vs_off_pct"] == pytest.approx((1 - direct / med) * 100)
        assert row["ratio_vs_off"] == pytest.approx(med / direct)
    assert doc["table1"][0]["ratio_vs_off"] == 1.0
    t2 = {(r["row"], r["direction"], r["pti"]): r for r in doc["table2"]}
    assert t2[("int3", "k2u", True)]["median"] == record(METAL, "crossing.int3.pti.k2u")["median"]
    assert len(doc["table2"]) == 16


def test_seeds_skipped_rows_show_reasons(run_cli) -> None:
    r = run_cli("seeds", TCG)
    row = md_row(r.out, "PTI with PCID")
    assert row[2] == "skip: CPU lacks pcid (CPUID.01H:ECX[17])"
    assert md_row(r.out, "PTI without PCID")[5].endswith("%")


def test_seeds_missing_rows(run_cli) -> None:
    r = run_cli("seeds", f"{TCG}:1")  # cut off before any syscall variant
    assert r.code == 0
    assert md_row(r.out, "PTI off")[2] == "missing: no record"
    assert md_row(r.out, "syscall")[1] == "\u2014"


def test_seeds_csv(run_cli) -> None:
    rows = list(csv.DictReader(io.StringIO(run_cli("seeds", "-f", "csv", HASWELL).out)))
    pti = next(r for r in rows if r["variant"] == "syscall.pti")
    assert pti["loss_vs_off_pct"] == "47.83" and pti["table"] == "1"


# --- list -------------------------------------------------------------------------------------

def test_list(run_cli) -> None:
    r = run_cli("list", TCG, HASWELL)
    assert r.code == 0
    text = text_of(TCG)
    first, last = line_number(text, '"type":"env"'), line_number(text, '"tlb.refill.cr3.16"')
    assert f"run 1: lines {first}-{last}, incomplete (cut off), 30 results" in r.out
    end = len(text.split("\n")) - 1  # the summary is the last line
    assert ", complete, pass, 162 results (103 ok, 59 skip, 0 fail)" in r.out
    assert f"-{end}, complete, pass" in r.out
    assert "QEMU TCG" in r.out and "emulator" in r.out


# --- exit statuses and help -----------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    [], ["bogus"], ["table"], ["table", "--format", "xml", "x"], ["table", "--run", "zero", "x"],
    ["table", "--run", "0", "x"], ["plot", "x"], ["seeds"], ["compare", "--unit", "s", "a", "b"],
])
def test_usage_errors_exit_2(run_cli, argv) -> None:
    assert run_cli(*argv).code == 2


def test_run_number_the_log_does_not_have_is_a_usage_error(run_cli) -> None:
    r = run_cli("table", TCG, "--run", "3")
    assert r.code == 2 and "has 2 run(s); there is no run 3" in r.err
    assert run_cli("seeds", f"{HASWELL}:2").code == 2


def test_no_record_exits_1(run_cli, tmp_path: Path) -> None:
    empty = write(tmp_path, "empty.log", "")
    noise = write(tmp_path, "noise.log", b"GNU GRUB\r\n\x00\xff\xfe garbage\r\nPTIBENCH {bad\r\n")
    for argv in (["table", empty], ["table", noise], ["seeds", noise], ["list", noise],
                 ["compare", METAL, noise], ["table", tmp_path / "missing.log"],
                 ["table", METAL, noise]):
        r = run_cli(*argv)
        assert r.code == 1, argv
    assert "no PTIBENCH record could be read" in run_cli("table", noise).err
    assert "cannot read" in run_cli("table", tmp_path / "missing.log").err


def test_unwritable_output_exits_1(run_cli, tmp_path: Path) -> None:
    r = run_cli("table", METAL, "-o", tmp_path / "no" / "such" / "dir.md")
    assert r.code == 1 and "error" in r.err


@pytest.mark.parametrize("sub", ["", "list", "table", "compare", "seeds", "plot"])
def test_help_everywhere(run_cli, sub) -> None:
    r = run_cli(*([sub] if sub else []), "--help")
    assert r.code == 0 and r.out.startswith("usage: ptibench-report")


def test_script_runs_through_its_shebang(tmp_path: Path) -> None:
    """The executable itself (Debian's /usr/bin/python3 via the shebang), from another cwd."""
    assert TOOL.read_text().startswith("#!/usr/bin/python3\n")
    assert os.access(TOOL, os.X_OK)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", LC_ALL="C")
    p = subprocess.run([str(TOOL), "table", str(METAL)], cwd=tmp_path, env=env,
                       capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert p.returncode == 0, p.stderr
    assert "| cr3.read |" in p.stdout
    p = subprocess.run([str(TOOL), "table"], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 2
    p = subprocess.run([str(TOOL), "table", str(tmp_path)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr  # a directory is not a log


def test_module_entry_point() -> None:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(ROOT / "tools"))
    p = subprocess.run([sys.executable, "-m", "ptibench_report", "list", str(HASWELL)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0 and "complete, pass" in p.stdout


def test_a_run_ended_by_a_fault(run_cli, tmp_path: Path) -> None:
    lines = text_of(METAL).split("\r\n")
    i = next(n for n, line in enumerate(lines) if '"name":"invlpg"' in line)
    fault = ('PTIBENCH {"type":"fault","vector":14,"mnemonic":"#PF","name":"page fault",'
             '"error_code":2,"rip":"0x10234a","cs":"0x8","rflags":"0x10046","rsp":"0x1fff88",'
             '"cr2":"0x0","cr3":"0x1a3000","cr4":"0x3006a0","ring":0,"pti":false,'
             '"phase":"bench:invlpg.unmapped"}')
    summary = ('PTIBENCH {"type":"summary","ok":12,"skipped":0,"failed":1,"checks_failed":0,'
               '"status":"fail"}')
    log = write(tmp_path, "fault.log", "\r\n".join(lines[:i + 1] + [fault, summary]) + "\r\n")
    r = run_cli("table", log)
    assert r.code == 0 and "problems" not in r.err
    assert "complete, FAIL" in r.out and "The kernel's summary says FAIL." in r.out
    assert ("ended with a CPU exception" in r.out
            and "#PF, error code 0x2, at rip 0x10234a, cr2 0x0, ring 0, PTI off, during "
                "bench:invlpg.unmapped" in r.out)
    doc = json.loads(run_cli("table", "-f", "json", log).out)
    assert doc["runs"][0]["faults"][0]["vector"] == 14
