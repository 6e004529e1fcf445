"""Isolation, fault reports, memory sizes and `help`, booted for real (seed tables: test_seeds)."""

import re

from bootlib import ROOT, boot


def quick_det():
    return boot("selftest-det", "--deterministic", "--entry", "selftest", timeout=300)


def test_user_tables_expose_only_the_entry_area():
    run = quick_det()
    c = run.checks()["pti.user_tables"]
    assert c["status"] == "ok", c
    # The exact list: runs of pages with their permissions, and nothing of the kernel proper.
    runs = re.findall(r"0x[0-9a-f]+-0x[0-9a-f]+ r[w-][x-]", c["detail"])
    assert len(runs) == 3, c["detail"]
    assert [r.split()[1] for r in runs] == ["r-x", "r--", "rw-"], runs
    assert "kernel text absent" in c["detail"] and "kernel data absent" in c["detail"]


def test_ring3_read_of_kernel_data_faults_under_pti_and_says_why():
    checks = quick_det().checks()
    pti, nopti = checks["pti.user_read_faults"], checks["nopti.user_read_faults"]
    assert pti["status"] == "ok", pti
    assert "not mapped in the user page tables (PTI isolation)" in pti["detail"], pti
    assert nopti["status"] == "ok" and "protection violation" in nopti["detail"], nopti


def test_unexpected_ring3_read_gives_a_fault_report_naming_pti():
    run = boot("fault-user-read", "--deterministic", "--entry", "selftest", "--cmdline", "fault=user-read", timeout=300)
    assert run.returncode == 1, run.describe()
    (fault,) = run.faults()
    assert fault["mnemonic"] == "#PF" and fault["ring"] == 3 and fault["pti"] is True, fault
    assert any("not mapped in the user page tables (PTI isolation)" in l for l in run.human_lines())
    assert run.summary()["status"] == "fail"


def test_kernel_stack_overflow_is_reported_through_the_double_fault_stack():
    run = boot("fault-stack", "--entry", "selftest", "--cmdline", "fault=stack", timeout=300)
    assert run.returncode == 1, run.describe()
    (fault,) = run.faults()
    assert fault["mnemonic"] == "#DF", fault
    assert any("kernel stack overflow" in l for l in run.human_lines()), run.describe()


def test_every_deliberate_fault_reports_registers_and_phase():
    for kind, mnemonic in (("pf", "#PF"), ("gp", "#GP"), ("de", "#DE")):
        run = boot(f"fault-{kind}", "--entry", "selftest", "--cmdline", f"fault={kind}", timeout=300)
        assert run.returncode == 1, run.describe()
        (fault,) = run.faults()
        assert fault["mnemonic"] == mnemonic and fault["ring"] == 0, fault
        assert fault["phase"].startswith("fault:"), fault
        text = "\n".join(run.human_lines())
        for reg in ("RIP=", "RSP=", "CR2=", "CR3=", "CR4=", "RAX=", "R15="):
            assert reg in text, (reg, run.describe())


def test_memory_above_4gib_is_used_with_8gib():
    run = boot("mem-8g", "--mem", "8G", "--entry", "selftest", timeout=300)
    assert run.returncode == 0, run.describe()
    c = run.checks()["memory.frames"]
    assert c["status"] == "ok" and "above 4 GiB" in c["detail"], c
    assert run.env()["memory_bytes"] > 7 * 2**30


def test_64mib_is_enough_for_the_quick_suite():
    run = boot("mem-64m", "--mem", "64M", "--entry", "quick", timeout=600)
    assert run.returncode == 0, run.describe()
    assert run.env()["memory_bytes"] < 64 * 2**20


def option_names_in_the_sources():
    """Every key the kernel's option tables define (cmdline::make_*("key", ...))."""
    names = []
    for src in ("bench/options.cpp", "kernel/options.cpp"):
        names += re.findall(r'make_\w+\(\s*"(\w+)"', (ROOT / src).read_text())
    return names


def test_help_lists_every_option():
    names = option_names_in_the_sources()
    assert {"suite", "bench", "reps", "pmu", "cpus", "help"} <= set(names), names
    run = boot("help", "--entry", "selftest", "--cmdline", "help", timeout=300)
    assert run.returncode == 0, run.describe()
    text = "\n".join(run.human_lines())
    assert "beyond the table" not in text, text
    listed = set(re.findall(r"^\s+(\w+)\[?=", text, re.M))
    assert set(names) <= listed, sorted(set(names) - listed)


def test_bench_selection_runs_only_the_matching_variants():
    run = boot("select", "--deterministic", "--cmdline", "bench=cr3.read,invlpg* reps=5", timeout=300)
    assert run.returncode == 0, run.describe()
    assert set(run.results()) == {"cr3.read", "invlpg", "invlpg.unmapped"}
    assert all(r["reps"] == 5 and r["n"] == 5 for r in run.results().values())
