"""Tests of the harness itself (run-qemu.sh and bootlib), independent of the real kernel: a
stand-in kernel (fixtures/fakekernel.asm) that speaks the output contract is booted through
run-qemu.sh in every mode, and the verdicts, entry selection, command-line quoting and the
record parser are checked."""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from bootlib import LONG_MODE_MESSAGE, ROOT, RUN_QEMU, boot, clean_line, log_dir, parse_records

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# The menu the contract prescribes (boot/grub.cfg): entry order and arguments.
GRUB_CFG = """\
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
set default=0

menuentry "ptibench: full suite" {
  multiboot2 /boot/ptibench.elf suite=full
  boot
}
menuentry "ptibench: quick run" {
  multiboot2 /boot/ptibench.elf suite=quick
  boot
}
menuentry "ptibench: self-tests" {
  multiboot2 /boot/ptibench.elf suite=selftest
  boot
}
menuentry "ptibench: seed experiments" {
  multiboot2 /boot/ptibench.elf suite=seeds
  boot
}
"""


@pytest.fixture(scope="module")
def fake_iso():
    for tool in ("nasm", "grub-mkrescue", "xorriso"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run scripts/install-deps.sh")
    log_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fake-iso.", dir=log_dir()) as tmp:
        tmp = Path(tmp)
        iso_dir = tmp / "isodir"
        (iso_dir / "boot" / "grub").mkdir(parents=True)
        subprocess.run(["nasm", "-f", "bin", "-o", str(iso_dir / "boot" / "ptibench.elf"),
                        str(FIXTURES / "fakekernel.asm")], check=True)
        (iso_dir / "boot" / "grub" / "grub.cfg").write_text(GRUB_CFG)
        subprocess.run(["grub-mkrescue", "-o", str(tmp / "fake.iso"), str(iso_dir)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        yield tmp / "fake.iso"


def fake(fake_iso, name, *args, timeout=120):
    return boot(name, "--accel", "tcg", *args, iso=fake_iso, timeout=timeout)


def run_qemu(*args):
    return subprocess.run([str(RUN_QEMU), *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


# -- bootlib's reader ----------------------------------------------------------------------------

def test_parser_finds_records_anywhere_and_keeps_damaged_lines():
    text = ("GRUB noise\r\n"
            "\x1b[2J\x1b[1;1HPTIBENCH {\"type\":\"env\",\"cmdline\":\"a\"}\r\n"
            "human line with PTIBENCH in it\r\n"
            "PTIBENCH {\"type\":\"result\",\"name\":\"x\",\"status\":\"ok\"}\n"
            "PTIBENCH {\"type\":\"result\",\"name\":\"cut\r\n"
            "PTIBENCH {\"type\":\"check\",\"name\":\"c\",\"status\":\"ok\"} trailing\r\n"
            "PTIBENCH [1,2]\n"
            "PTIBENCH {\"no\":\"type\"}\n"
            "  PTIBENCH {\"type\":\"summary\",\"status\":\"pass\"}  \r\r\n")
    records, damaged = parse_records(text)
    assert [r["type"] for r in records] == ["env", "result", "summary"]
    assert len(damaged) == 3
    assert all("\x1b" not in d and "\r" not in d for d in damaged)
    assert clean_line("\x1b]0;title\x07ab\x1b[0mc\r\n") == "abc"
    # a record glued behind half a record of the previous boot: one damaged, one read
    records, damaged = parse_records('PTIBENCH {"type":"res'
                                     'PTIBENCH {"type":"env","boot":"bios"}\n')
    assert records == [{"type": "env", "boot": "bios"}] and damaged == ['PTIBENCH {"type":"res'
                                                                        'PTIBENCH {"type":"env"'
                                                                        ',"boot":"bios"}']


# -- run-qemu.sh without booting --------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["--bogus"], ["--accel", "xen"], ["--mem", "lots"], ["--smp", "0"], ["--timeout", "-1"],
    ["--entry", "all"], ["--timeout"], ["--bochs", "--uefi"], ["--bochs", "--usb"],
    ["--deterministic", "--accel", "kvm"], ["--accel", "tcg", "--cpu", "host"],
    ["--iso", "/nonexistent.iso"], ["--usb=yes"], ["--nmi", "soon"], ["--nmi", "every:0"],
    ["--bochs", "--nmi", "1"], ["--nmi-from", "grub"],
])
def test_bad_options_exit_2(args):
    proc = run_qemu("--no-build", *args)
    assert proc.returncode == 2, (args, proc.stderr)
    assert proc.stderr.startswith("run-qemu.sh: "), proc.stderr


def test_help_lists_every_option():
    proc = run_qemu("--help")
    assert proc.returncode == 0
    for opt in ("--accel", "--cpu", "--mem", "--smp", "--uefi", "--usb", "--deterministic",
                "--bochs", "--entry", "--cmdline", "--timeout", "--log", "--iso", "--no-build",
                "--dry-run", "--nmi", "--nmi-from", "--"):
        assert opt in proc.stdout, opt


def test_dry_run_qemu_command(fake_iso):
    proc = run_qemu("--dry-run", "--iso", str(fake_iso), "--accel", "tcg", "--uefi", "--usb",
                    "--deterministic", "--mem", "512M", "--smp", "2", "--", "-name", "x y")
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert line.startswith("qemu-system-x86_64 "), line
    for part in ("-accel tcg", "-cpu max", "-m 512M", "-smp 2", "-no-reboot", "-display none",
                 "isa-debug-exit,iobase=0xf4,iosize=0x04", "-icount shift=0,sleep=off",
                 "qemu-xhci", "usb-storage,bus=xhci.0,drive=stick,bootindex=0",
                 "-name 'x y'"):
        assert part in line, part
    assert "-bios " in line or "if=pflash" in line, line
    assert "-cdrom" not in line
    # default log name: logs/<YYYYmmdd-HHMMSS>-tcg-max-uefi-usb-det.log
    assert re.search(r"logfile=\S*/logs/\d{8}-\d{6}-tcg-max-uefi-usb-det\.log", line), line


def test_dry_run_nmi_opens_the_monitor_on_a_socket(fake_iso):
    line = run_qemu("--dry-run", "--iso", str(fake_iso), "--accel", "tcg",
                    "--nmi", "0.5,every:1").stdout
    assert re.search(r" -monitor unix:/\S+/ptibench-run\.\w+/monitor\.sock,server,nowait ", line), line
    assert "-monitor none" not in line
    assert " -monitor none " in run_qemu("--dry-run", "--iso", str(fake_iso), "--accel",
                                         "tcg").stdout


def test_dry_run_bochs_config(fake_iso):
    proc = run_qemu("--dry-run", "--iso", str(fake_iso), "--bochs", "p4_willamette",
                    "--mem", "1G", "--log", "/tmp/x.log")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "cpu: model=p4_willamette, count=1," in out
    assert "megs: 1024" in out
    assert "reset_on_triple_fault=0" in out
    assert "com1: enabled=1, mode=file" in out
    assert "display_library: term" in out
    assert "TERM=dumb bochs -q -f bochsrc -rc debugger.rc" in out


def test_dry_run_default_model_and_accel(fake_iso):
    out = run_qemu("--dry-run", "--iso", str(fake_iso), "--bochs").stdout
    assert "cpu: model=corei7_haswell_4770," in out
    cpuinfo = Path("/proc/cpuinfo").read_text()
    if not re.search(r"\b(vmx|svm)\b", cpuinfo):
        # a software /dev/kvm must never be picked automatically
        line = run_qemu("--dry-run", "--iso", str(fake_iso)).stdout
        assert "-accel tcg -cpu max " in line, line


# -- run-qemu.sh booting the stand-in kernel ---------------------------------------------------

@pytest.mark.parametrize("mode,args,boot_kind", [
    ("bios-cd", (), "bios"),
    ("bios-usb", ("--usb",), "bios"),
    ("uefi-cd", ("--uefi",), "uefi"),
    ("uefi-usb", ("--uefi", "--usb"), "uefi"),
    ("deterministic", ("--deterministic",), "bios"),
])
def test_pass_in_every_mode(fake_iso, mode, args, boot_kind):
    run = fake(fake_iso, mode, *args)
    assert run.returncode == 0, run.describe()
    assert run.summary()["status"] == "pass"
    assert run.env()["boot"] == boot_kind
    assert run.env()["cmdline"] == "suite=full"
    assert run.damaged == []
    assert set(run.results()) == {"fake.nop"} and set(run.checks()) == {"fake.check"}
    assert run.log_path.parent == log_dir() and run.log_path.name == f"test_harness.{mode}.log"
    assert "PASS" in run.stderr and str(run.log_path) in run.stderr.splitlines()[-1]


def test_same_arguments_same_run(fake_iso):
    assert fake(fake_iso, "bios-cd") is fake(fake_iso, "bios-cd")


@pytest.mark.parametrize("entry", ["quick", "selftest", "seeds"])
def test_entry_selects_menu_entry(fake_iso, entry):
    run = fake(fake_iso, f"entry-{entry}", "--entry", entry)
    assert run.returncode == 0, run.describe()
    assert run.env()["cmdline"] == f"suite={entry}"


def test_cmdline_reaches_kernel_verbatim(fake_iso):
    words = "bench=cr3.* a,b=c $HOME {x} ;echo =x ,,, reps=abc"
    run = fake(fake_iso, "cmdline", "--entry", "quick", "--cmdline", words)
    assert run.returncode == 0, run.describe()
    assert run.env()["cmdline"] == "suite=quick " + words


def test_variant_images_are_cached(fake_iso):
    first = run_qemu("--dry-run", "--iso", str(fake_iso), "--cmdline", "fake=damaged")
    fake(fake_iso, "damaged", "--cmdline", "fake=damaged")
    again = run_qemu("--dry-run", "--iso", str(fake_iso), "--cmdline", "fake=damaged")
    assert "(cached)" in again.stderr, again.stderr
    path = re.search(r"(\S+/build/run-iso/[0-9a-f]{16}\.iso)", again.stderr).group(1)
    assert path in first.stderr and Path(path).is_file()


def test_damaged_record_is_collected(fake_iso):
    run = fake(fake_iso, "damaged", "--cmdline", "fake=damaged")
    assert run.returncode == 0, run.describe()
    assert len(run.damaged) == 1 and '"name":"cut' in run.damaged[0]
    assert "fake.nop" in run.results()  # the record after an ANSI escape still parses


def test_fail_verdict(fake_iso):
    run = fake(fake_iso, "fail", "--cmdline", "fake=fail")
    assert run.returncode == 1, run.describe()
    assert run.summary()["status"] == "fail"


def test_no_long_mode_is_a_fail(fake_iso):
    run = fake(fake_iso, "nolm", "--cmdline", "fake=nolm")
    assert run.returncode == 1, run.describe()
    assert any(LONG_MODE_MESSAGE in line for line in run.human_lines())


def test_triple_fault_is_no_verdict(fake_iso):
    run = fake(fake_iso, "triple", "--cmdline", "fake=triple")
    assert run.returncode == 2, run.describe()
    assert "triple" in run.stderr.lower()
    assert "Triple fault" in run.emulator_log()


def test_hang_times_out(fake_iso):
    run = fake(fake_iso, "hang", "--cmdline", "fake=hang", timeout=5)
    assert run.returncode == 124, run.describe()
    assert run.timed_out and "TIMEOUT" in run.stderr
    assert run.env() is not None and run.summary() is None
    assert run.elapsed < 60


def test_bochs_pass(fake_iso):
    run = boot("bochs", "--bochs", iso=fake_iso, timeout=120)
    assert run.returncode == 0, run.describe()
    assert run.summary()["status"] == "pass" and run.damaged == []
    assert "quit_sim called" in run.emulator_log()  # ended by the shutdown port


def test_bochs_32bit_cpu_no_long_mode(fake_iso):
    run = boot("bochs-nolm", "--bochs", "p4_willamette", "--cmdline", "fake=nolm",
               iso=fake_iso, timeout=120)
    assert run.returncode == 1, run.describe()
    assert any(LONG_MODE_MESSAGE in line for line in run.human_lines())


def test_bochs_triple_fault_is_no_verdict(fake_iso):
    run = boot("bochs-triple", "--bochs", "--cmdline", "fake=triple", iso=fake_iso, timeout=120)
    assert run.returncode == 2, run.describe()
    assert "exception with no resolution" in run.emulator_log()


def test_bochs_hang_times_out(fake_iso):
    run = boot("bochs-hang", "--bochs", "--cmdline", "fake=hang", iso=fake_iso, timeout=5)
    assert run.returncode == 124, run.describe()
    assert run.elapsed < 60


def test_unbootable_image_is_no_verdict_quickly(tmp_path):
    junk = tmp_path / "junk.iso"
    junk.write_bytes(b"not an image\n" * 100000)
    run = boot("junk", "--accel", "tcg", iso=junk, timeout=60)
    assert run.returncode == 2, run.describe()
    assert "kernel never started" in run.stderr
    assert run.elapsed < 30
