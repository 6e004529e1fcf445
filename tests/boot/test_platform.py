"""The machine as the kernel sees it: ACPI tables, the TSC's source and its cross-check, the
platform that decides whether the emulators' exit ports are written (issue 9, items 4 and 7).

Each boot runs the self-tests only. QEMU's firmware provides an HPET and an ACPI PM timer (q35 and
i440fx alike); `-machine hpet=off` leaves the PM timer; Bochs' BIOS has both too.
"""
# ctest-timeout: 900

from bootlib import boot


def selftest(name, *args):
    run = boot(name, "--entry", "selftest", *args, timeout=300)
    assert run.returncode == 0, run.describe()
    env = run.env()
    assert env is not None, run.describe()
    return run, env


def assert_cross_checked(env, source, check):
    assert env["tsc_source"] == source, env
    assert env["tsc_check"]["source"] == check, env
    assert env["tsc_hz"] > 0 and env["tsc_check"]["hz"] > 0, env
    assert env["acpi"]["rsdp"] is True and env["acpi"]["problems"] == 0, env


def test_qemu_q35_measures_against_the_hpet_and_checks_with_the_pm_timer():
    _, env = selftest("q35")
    assert env["platform"] == "qemu"
    assert env["acpi"]["hpet"] and env["acpi"]["pm_timer"] and env["acpi"]["madt_cpus"] == 1
    assert_cross_checked(env, "hpet", "pm-timer")


def test_qemu_i440fx_too():
    _, env = selftest("i440fx", "--", "-machine", "pc")
    assert env["platform"] == "qemu"
    assert_cross_checked(env, "hpet", "pm-timer")


def test_without_an_hpet_the_pm_timer_leads_and_the_pit_checks():
    _, env = selftest("hpet-off", "--", "-machine", "hpet=off")
    assert env["acpi"]["hpet"] is False
    assert_cross_checked(env, "pm-timer", "pit")


def test_under_deterministic_qemu_the_clocks_agree():
    # The TSC counts instructions and the virtual clocks follow them: the figures must agree.
    _, env = selftest("det", "--deterministic")
    assert_cross_checked(env, "hpet", "pm-timer")
    assert env["tsc_check"]["agree"] is True and env["tsc_check"]["diff_ppm"] < 10_000, env


def test_uefi_firmware_has_the_same_clocks():
    _, env = selftest("uefi", "--uefi")
    assert env["platform"] == "qemu"
    assert_cross_checked(env, "hpet", "pm-timer")


def test_bochs_is_known_as_bochs_and_cross_checked():
    _, env = selftest("bochs", "--bochs")
    assert env["platform"] == "bochs" and env["hypervisor"] is False
    assert env["tsc_check"]["agree"] is True, env
    assert env["tsc_source"] in ("hpet", "pm-timer"), env


def test_a_tsc_hz_from_the_command_line_is_checked_against_a_measurement():
    run, env = selftest("cmdline-hz", "--deterministic", "--cmdline", "tsc_hz=2000000000")
    assert env["tsc_source"] == "cmdline" and env["tsc_hz"] == 2_000_000_000
    # The instruction-counting TSC runs at 1 GHz of virtual time: half the claim.
    assert env["tsc_check"]["agree"] is False and env["tsc_check"]["diff_ppm"] > 400_000, env
    assert any(line.startswith("warning: tsc: cmdline gives") for line in run.human_lines()), \
        run.describe()


def test_a_machine_without_a_pit_gives_up_on_it_at_once():
    # QEMU's pit=off: port 0x61 and channel 2 do not count. The PIT measurement must give up in
    # milliseconds (the boot is not held for its 10 s bound), leaving the PM timer unchecked.
    run, env = selftest("no-pit", "--", "-machine", "hpet=off,pit=off")
    assert env["tsc_source"] == "pm-timer", env
    assert env["tsc_check"] == {"source": "none", "hz": 0, "diff_ppm": 0, "agree": False}, env
    assert run.elapsed < 60, run.describe()
