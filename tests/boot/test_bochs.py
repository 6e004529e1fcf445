"""Bochs: a CPU with PCID and INVPCID runs the quick suite and passes; a 32-bit-only CPU gets a
clear message and a clean stop (the kernel ends the emulator through the shutdown port)."""

from bootlib import LONG_MODE_MESSAGE, boot

TRIPLE_FAULT = ("triple fault", "exception with no resolution")


def no_triple_fault(run):
    log = run.emulator_log().lower()
    return not any(t in log for t in TRIPLE_FAULT)


def haswell():
    return boot("haswell", "--bochs", "corei7_haswell_4770", "--entry", "quick", timeout=900)


def willamette():
    return boot("p4-willamette", "--bochs", "p4_willamette", "--entry", "quick", timeout=300)


def test_haswell_passes():
    run = haswell()
    assert run.returncode == 0, run.describe()
    summary = run.summary()
    assert summary is not None and summary["status"] == "pass", run.describe()


def test_haswell_capture_is_well_formed():
    run = haswell()
    env = run.env()
    assert env is not None, run.describe()
    assert env["features"]["pcid"] is True and env["features"]["invpcid"] is True, env
    assert run.damaged == [], "damaged records:\n" + "\n".join(run.damaged)
    assert no_triple_fault(run), f"triple fault, see {run.emulator_log_path}"


def test_32bit_cpu_reports_missing_long_mode():
    run = willamette()
    assert not run.timed_out, "Bochs had to be killed: the kernel did not shut it down\n" + run.describe()
    assert any(LONG_MODE_MESSAGE in line for line in run.human_lines()), run.describe()
    assert no_triple_fault(run), f"triple fault, see {run.emulator_log_path}"
    # run-qemu.sh turns the message into a fail verdict (there is no summary record).
    assert run.returncode == 1, run.describe()
    assert run.summary() is None or run.summary()["status"] == "fail", run.describe()


def test_a_run_that_ends_before_the_acpi_tables_still_stops_bochs():
    # `help` ends the run before ACPI is read; Bochs has no CPUID signature, so the kernel knows
    # it from the boot loader's RSDP copy (OEM "BOCHS "), else it would halt and time out.
    run = boot("help", "--bochs", "corei7_haswell_4770", "--entry", "selftest", "--cmdline",
               "help", timeout=120)
    assert run.returncode == 0, run.describe()
    assert any(line.startswith("ptibench options") for line in run.human_lines()), run.describe()
