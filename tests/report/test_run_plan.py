"""run-qemu.sh's options in Python (tools/ptibench_report/plan.py), without an emulator: parsing,
the checks and their messages, the defaults, the log names, and the bash the script evals."""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest
from conftest import ROOT

from ptibench_report import harness, plan
from ptibench_report.plan import BadUsage, Plan, check, choose_log, parse, shell_quote

NOW = time.strptime("2026-12-01 21:05:09", "%Y-%m-%d %H:%M:%S")


def checked(*argv: str, kvm: bool = False, virt: bool = False,
            cpus: tuple[int, ...] = (0, 1, 2, 3)) -> Plan:
    return check(parse(argv), kvm=lambda: kvm, virt=lambda: virt, cpus=lambda: list(cpus))


def test_values_as_next_argument_or_after_equals():
    p = parse(["--mem", "1G", "--smp=2", "--cmdline", "--x=y", "--log=a=b", "--iso", "-"])
    assert (p.mem, p.smp, p.cmdline, p.log, p.iso) == ("1G", "2", "--x=y", "a=b", "-")
    assert not p.build  # --iso implies --no-build


def test_bochs_takes_the_next_word_as_model_unless_it_is_an_option():
    assert parse(["--bochs", "ryzen"]).cpu == "ryzen"
    p = parse(["--bochs", "--mem", "1G"])
    assert p.bochs and p.cpu == "" and p.mem == "1G"
    assert parse(["--bochs=p4_willamette"]).cpu == "p4_willamette"


def test_double_dash_passes_the_rest_verbatim():
    p = parse(["--usb", "--", "--bogus", "-name", "x y"])
    assert p.usb and p.extra == ["--bogus", "-name", "x y"]


def test_help_stops_parsing():
    assert parse(["--help", "--bogus"]).help
    assert parse(["-h"]).help
    with pytest.raises(BadUsage, match="unknown option: --bogus"):
        parse(["--bogus", "--help"])


@pytest.mark.parametrize("argv,message", [
    (["--timeout"], "option --timeout needs a value"),
    (["--usb=yes"], "option --usb takes no value"),
    (["-h=x"], "unknown option: -h=x"),
    (["-x"], "unknown option: -x"),
])
def test_parse_errors(argv, message):
    with pytest.raises(BadUsage) as err:
        parse(argv)
    assert str(err.value) == message


@pytest.mark.parametrize("argv,message", [
    (["--accel", "xen"], "--accel must be auto, kvm or tcg (got 'xen')"),
    (["--entry", "all"], "--entry must be full, quick, selftest or seeds (got 'all')"),
    (["--mem", "0"], "--mem must be a size like 256M or 1G (got '0')"),
    (["--mem", "1T"], "--mem must be a size like 256M or 1G (got '1T')"),
    (["--smp", "1\n"], "--smp must be a positive integer (got '1\n')"),
    (["--timeout", "-1"], "--timeout must be a positive number of seconds (got '-1')"),
    (["--cpu", "a b"], "--cpu: unexpected characters in 'a b'"),
    (["--iso", "/nonexistent.iso"], "--iso: no such file: /nonexistent.iso"),
    (["--bochs", "--accel", "tcg"], "--accel is for QEMU; Bochs always emulates"),
    (["--bochs", "--uefi"], "--uefi is not supported with --bochs"),
    (["--bochs", "--usb"], "--usb is not supported with --bochs"),
    (["--accel", "kvm", "--deterministic"], "--deterministic needs TCG (icount), not --accel kvm"),
    (["--accel", "kvm"], "--accel kvm: /dev/kvm is missing or not accessible"),
    (["--cpu", "host"], "--cpu host needs KVM; with TCG use max or a named model"),
    (["--nmi", "soon"], "--nmi: 'soon' is neither SECONDS nor every:SECONDS (want e.g."),
    (["--nmi", "every:0"], "--nmi: 'every:0': the interval must be at least 0.01 s"),
    (["--nmi-from", "grub"], "--nmi-from must be start or env (got 'grub')"),
    (["--bochs", "--nmi", "1"], "--nmi is for QEMU (it goes through QEMU's monitor)"),
])
def test_check_errors(argv, message):
    with pytest.raises(BadUsage) as err:
        checked(*argv)
    assert str(err.value).startswith(message)


def test_a_dry_run_does_not_need_the_image_or_kvm():
    p = checked("--dry-run", "--iso", "/nonexistent.iso", "--accel", "kvm")
    assert (p.kind, p.cpu) == ("kvm", plan.KVM_DEFAULT_CPU)


@pytest.mark.parametrize("argv,kvm,virt,kind,cpu", [
    ((), False, False, "tcg", "max"),
    ((), True, False, "tcg", "max"),  # a software /dev/kvm (no vmx/svm) is never picked
    ((), False, True, "tcg", "max"),
    ((), True, True, "kvm", "host,migratable=no,+invtsc"),
    (("--accel", "kvm", "--hide", "pcid,invpcid"), True, True, "kvm",
     "host,migratable=no,+invtsc,-pcid,-invpcid"),
    (("--hide", "x2apic"), False, False, "tcg", "max,-x2apic"),
    (("--deterministic",), True, True, "tcg", "max"),
    (("--accel", "kvm", "--cpu", "Nehalem"), True, False, "kvm", "Nehalem"),
    (("--bochs",), True, True, "bochs", plan.DEFAULT_BOCHS_MODEL),
])
def test_accelerator_and_cpu_defaults(argv, kvm, virt, kind, cpu):
    p = checked(*argv, kvm=kvm, virt=virt)
    assert (p.kind, p.cpu) == (kind, cpu)


def test_mem_in_mib():
    assert checked("--mem", "12").mem_mib == 12
    assert checked("--mem", "2g").mem_mib == 2048
    assert checked("--mem", "300M").mem == "300M"  # QEMU gets it as given


def test_default_log_name_and_emulator_log(tmp_path):
    p = choose_log(checked("--uefi", "--usb", "--deterministic", "--cpu", "Nehalem,+pcid"),
                   tmp_path, NOW)
    assert p.log == str(tmp_path / "logs" / "20261201-210509-tcg-Nehalem_+pcid-uefi-usb-det.log")
    assert p.aux_log == p.log[:-4] + ".qemu.log"
    assert os.path.isfile(p.log)


def test_runs_in_the_same_second_never_share_a_log(tmp_path):
    logs = [choose_log(checked("--bochs"), tmp_path, NOW).log for _ in range(3)]
    base = str(tmp_path / "logs" / f"20261201-210509-bochs-{plan.DEFAULT_BOCHS_MODEL}")
    assert logs == [f"{base}.log", f"{base}-2.log", f"{base}-3.log"]
    assert choose_log(checked("--bochs"), tmp_path, NOW).aux_log == f"{base}-4.bochs.log"


def test_given_log_is_created_and_resolved(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    p = choose_log(checked("--log", str(tmp_path / "link" / "sub" / "run")), tmp_path)
    assert p.log == str(tmp_path / "real" / "sub" / "run")
    assert p.aux_log == p.log + ".qemu.log"  # no .log to strip
    with pytest.raises(BadUsage, match="--log: cannot write"):
        choose_log(checked("--log", p.log + "/x.log"), tmp_path)  # under a file


def test_dry_run_creates_nothing(tmp_path):
    p = choose_log(checked("--dry-run", "--log", str(tmp_path / "d" / "x.log")), tmp_path, NOW)
    assert p.aux_log == str(tmp_path / "d" / "x.qemu.log")
    p = choose_log(checked("--dry-run"), tmp_path, NOW)
    assert p.log.endswith("/logs/20261201-210509-tcg-max.log")
    assert list(tmp_path.iterdir()) == []


def test_nmi_options():
    p = checked("--nmi", "0.5,every:1", "--nmi-from=env")
    assert (p.nmi, p.nmi_from) == ("0.5,every:1", "env")
    assert "NMIs at 0.5,every:1 s from the env" in p.describe()
    assert "\nnmi=0.5,every:1\nnmi_from=env\n" in plan.assignments(p)
    assert checked().nmi == "" and "NMI" not in checked().describe()


@pytest.mark.parametrize("argv,cpus,pin", [
    (("--accel", "kvm"), (0, 1, 2, 3), "3"),  # auto: the last CPU, away from CPU 0
    (("--accel", "kvm", "--smp", "2"), (0, 1, 2, 3), "2,3"),
    (("--accel", "kvm", "--smp", "4"), (0, 1), ""),  # too few to pin each vCPU: unpinned
    (("--accel", "kvm", "--pin", "none"), (0, 1), ""),
    (("--accel", "kvm", "--pin", "1"), (0, 1), "1"),
    (("--accel", "tcg",), (0, 1), ""),  # auto pins under KVM only
    (("--accel", "tcg", "--pin", "0-1"), (0, 1), "0-1"),
    (("--bochs", "--pin", "1"), (0, 1), ""),
])
def test_pinning(argv, cpus, pin):
    assert checked("--dry-run", *argv, kvm=True, virt=True, cpus=cpus).pin == pin


@pytest.mark.parametrize("argv,message", [
    (["--pin", "first"], "--pin must be auto, none or a CPU list like 3 or 2,3 (got 'first')"),
    (["--hide", "PCID!"], "--hide must be CPUID feature names like pcid,invpcid (got 'PCID!')"),
    (["--bochs", "--hide", "pcid"], "--hide is for QEMU; choose a Bochs model without the feature"),
    (["--cpu", "host,-pcid"], "--cpu host needs KVM; with TCG use max or a named model"),
])
def test_pin_and_hide_errors(argv, message):
    with pytest.raises(BadUsage, match="^" + re.escape(message) + "$"):
        checked(*argv)


def test_kvm_dry_run_pins_and_passes_the_invariant_tsc(tmp_path):
    """The seed-000 guest experiment's two runs, as run-qemu.sh would start them."""
    for extra, want_cpu in (([], "host,migratable=no,+invtsc"),
                            (["--hide", "pcid,invpcid"], "host,migratable=no,+invtsc,-pcid,-invpcid")):
        out = subprocess.run([str(ROOT / "run-qemu.sh"), "--dry-run", "--accel", "kvm",
                              "--pin", "1", "--iso", "/nonexistent.iso", *extra],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        words = out.stdout.split()
        assert words[:3] == ["taskset", "-c", "1"], out.stdout
        assert words[3] == "qemu-system-x86_64", out.stdout
        assert words[words.index("-cpu") + 1] == want_cpu, out.stdout
        assert words[words.index("-accel") + 1] == "kvm", out.stdout


def test_describe():
    p = checked("--uefi", "--entry", "quick", "--cmdline", "reps=3", "--mem", "1G")
    assert p.describe() == 'tcg, cpu max, 1024 MiB, 1 cpu(s), UEFI, entry quick, cmdline "reps=3"'


@pytest.mark.parametrize("word,quoted", [
    ("abc-1.2/x:y=z,w+@%", "abc-1.2/x:y=z,w+@%"), ("", "''"), ("x y", "'x y'"),
    ("it's", "'it'\\''s'"), ("$HOME", "'$HOME'"), ("é", "'é'"), ("a\nb", "'a\nb'"),
])
def test_shell_quote(word, quoted):
    assert shell_quote(word) == quoted


def test_bash_reads_back_every_value(tmp_path):
    """What bash gets from eval is what was given, whatever the characters."""
    nasty = ["it's", "$(false)", "`x`", "a\nb", "\\", "", "*", "-- x", "é"]
    p = choose_log(checked("--dry-run", "--cmdline", "'$x' \"y\"\n\\z", "--", *nasty),
                   tmp_path, NOW)
    script = plan.assignments(p) + 'printf "%s\\0" "$cmdline" "$what" "$log" "${extra[@]}"'
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True).stdout
    assert out.decode().split("\0")[:-1] == [p.cmdline, p.describe(), p.log, *nasty]


def test_plan_command(tmp_path, capsys):
    assert harness.main(["plan", str(tmp_path), "--dry-run", "--smp", "3"]) == 0
    out = capsys.readouterr().out
    assert "smp=3\n" in out and "dry=1\n" in out and "build=1\n" in out and "extra=()\n" in out
    assert harness.main(["plan", str(tmp_path), "--smp", "x"]) == 2
    assert capsys.readouterr().err == ("run-qemu.sh: --smp must be a positive integer (got 'x')\n"
                                       "Try './run-qemu.sh --help'.\n")
    assert harness.main(["plan", str(tmp_path), "--help"]) == 0
    assert capsys.readouterr().out.startswith("help_text='Usage: ./run-qemu.sh [OPTIONS]")


def test_help_names_every_option_the_parser_knows():
    for opt in (*plan.VALUE_OPTIONS, *plan.FLAG_OPTIONS, "--bochs"):
        assert f"  {opt}" in plan.USAGE or f", {opt}" in plan.USAGE, opt


def test_run_qemu_stays_short():
    """The script is the emulator command lines; the rest belongs here (docs/running.md)."""
    assert len((ROOT / "run-qemu.sh").read_text().splitlines()) <= 250
