"""run-qemu.sh's Python side (tools/ptibench_report/harness.py), without any emulator: the
grub.cfg rewrite and cache names of variant images, what the verdict reads from a serial log,
and every verdict run-qemu.sh can give. The last tests run run-qemu.sh itself with a stand-in
`qemu-system-x86_64` on PATH, so the exit status is checked end to end."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import run_qemu_with

from ptibench_report import harness
from ptibench_report.harness import LogFacts, Outcome, judge, read_facts, rewrite_grub_cfg

GRUB_CFG = """\
set timeout=0
set default=0
menuentry "ptibench: full suite" {
  multiboot2 /boot/ptibench.elf suite=full  \t
  boot
}
menuentry "ptibench: quick run" {
  multiboot2 /boot/ptibench.elf suite=quick
}
submenu "more" {
  menuentry "ptibench: self-tests" {
    multiboot2 /boot/ptibench.elf suite=selftest
  }
}
menuentry "ptibench: seed experiments" {
\tmultiboot2\t/boot/ptibench.elf suite=seeds
}
"""


# --- grub.cfg and the cache ---------------------------------------------------------------------

def _multiboot_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip().startswith("multiboot2")]


@pytest.mark.parametrize("entry,index", [("full", 0), ("quick", 1), ("selftest", 3),
                                         ("seeds", 4)])
def test_default_is_the_entry_whose_line_has_the_suite(entry, index):
    # the submenu counts as an entry, as GRUB counts it: self-tests is 3, seeds 4
    cfg = rewrite_grub_cfg(GRUB_CFG, entry, "")
    assert cfg.found == index and cfg.default == index
    assert cfg.text.endswith(f"\n# added by run-qemu.sh\nset default={index}\nset timeout=0\n")
    assert cfg.text.startswith(GRUB_CFG.split("\n", 3)[0])


def test_missing_entry_falls_back_to_its_fixed_place():
    cfg = rewrite_grub_cfg(GRUB_CFG.replace("suite=quick", "suite=other"), "quick", "")
    assert cfg.found is None and cfg.default == 1


def test_words_are_appended_single_quoted_to_every_multiboot2_line():
    cfg = rewrite_grub_cfg(GRUB_CFG, "quick", "bench=cr3.*  $HOME\tit's\n=x ,,,")
    lines = _multiboot_lines(cfg.text)
    assert len(lines) == 4
    tail = " 'bench=cr3.*' '$HOME' 'it'\\''s' '=x' ',,,'"
    assert all(line.endswith("suite=" + s + tail) for line, s in
               zip(lines, ("full", "quick", "selftest", "seeds"))), lines
    # everything else is untouched
    added = "\n# added by run-qemu.sh\nset default=1\nset timeout=0\n"
    assert cfg.text.endswith(added)
    assert [line for line in cfg.text[: -len(added)].rstrip("\n").split("\n") if "multiboot2" not in line] == \
        [line for line in GRUB_CFG.rstrip("\n").split("\n") if "multiboot2" not in line]


def test_words_split_only_at_space_tab_newline():
    assert harness.cmdline_words(" a\tb\nc  d,e\u00a0f\rg ") == ["a", "b", "c", "d,e\u00a0f\rg"]
    assert harness.cmdline_words(" \t\n") == []


def test_cache_key_is_the_shell_pipelines_hash(tmp_path):
    """The image names stay those of the shell version (images already cached are reused)."""
    elf, cfg = tmp_path / "k.elf", tmp_path / "grub.cfg"
    elf.write_bytes(bytes(range(256)) * 40)
    cfg.write_text(rewrite_grub_cfg(GRUB_CFG, "seeds", "a=b").text)
    shell = subprocess.run(["bash", "-c", f"{{ sha256sum <'{elf}'; cat '{cfg}'; }} | sha256sum"],
                           capture_output=True, text=True, check=True).stdout
    assert harness.cache_key(elf.read_bytes(), cfg.read_bytes()) == shell[:16]


def test_prune_keeps_the_most_recently_used(tmp_path):
    for i in range(5):
        p = tmp_path / f"{i:016x}.iso"
        p.write_bytes(b"x")
        os.utime(p, (1000 + i, 1000 + i))
    (tmp_path / "other.txt").write_bytes(b"x")
    harness.prune_cache(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        [f"{3:016x}.iso", f"{4:016x}.iso", "other.txt"]


# --- what the verdict reads from the log ----------------------------------------------------------

ENV = 'PTIBENCH {"type":"env","cmdline":"suite=full"}'
PASS = 'PTIBENCH {"type":"summary","ok":1,"skipped":0,"failed":0,"status":"pass"}'
FAIL = PASS.replace('"pass"', '"fail"')


def facts(*lines: str) -> LogFacts:
    return read_facts("\r\n".join(lines) + "\r\n")


def test_summary_of_the_last_run_counts():
    assert facts("GRUB", ENV, PASS) == LogFacts("pass", True, False)
    assert facts(ENV, PASS, ENV, FAIL).summary == "fail"
    assert facts("\x1b[2J" + ENV, "progress\r" + PASS + "  ").summary == "pass"


def test_summary_before_the_last_env_does_not_count():
    assert facts(ENV, PASS, ENV, 'PTIBENCH {"type":"result","name":"x","status":"ok"}').summary \
        is None
    # a reset cut the next run's env record: it still starts a run
    assert facts(ENV, PASS, 'PTIBENCH {"type":"env","vers') == LogFacts(None, True, False)


def test_a_cut_or_odd_summary_does_not_count():
    assert facts(ENV, PASS[:-3]).summary is None
    assert facts(ENV, PASS + ' PTIBENCH {"type":"summary","status":"maybe"}').summary == "pass"
    assert facts(ENV, PASS.replace('"pass"', '"PASS"')).summary is None
    assert facts(ENV, PASS + " noise").summary is None  # not a whole line, as bootlib says
    assert facts(ENV, PASS + " \t").summary == "pass"


def test_started_and_long_mode():
    assert facts("SeaBIOS", "Booting from DVD/CD...") == LogFacts(None, False, False)
    assert facts('PTIBENCH {"type":"env","cut').started
    assert facts(harness.LONG_MODE_MESSAGE).no_long_mode
    assert not facts(ENV, PASS).no_long_mode


# --- the verdict ---------------------------------------------------------------------------------

def qemu(status, elapsed=3, timeout=900):
    return Outcome("qemu", "qemu-system-x86_64", status, elapsed, timeout, "max", "tcg",
                   "/l/x.qemu.log")


def bochs(status, elapsed=3, timeout=900):
    return Outcome("bochs", "bochs", status, elapsed, timeout, "p4_willamette", "",
                   "/l/x.bochs.log")


STARTED = LogFacts(None, True, False)
NEVER = LogFacts(None, False, False)
NOLM = LogFacts(None, False, True)
P, F = LogFacts("pass", True, False), LogFacts("fail", True, False)


@pytest.mark.parametrize("outcome,log,triple,code,says", [
    # timeout: QEMU through `timeout` (124); Bochs is killed with KILL (137)
    (qemu(124), P, False, 124, "TIMEOUT: no end after 900s; killed qemu-system-x86_64 "
                               "(summary: pass)"),
    (bochs(137, elapsed=5, timeout=5), STARTED, True, 124, "(summary: none)"),
    (qemu(137, elapsed=4, timeout=5), P, False, 0, "PASS: per the summary record, but QEMU "
                                                   "ended with status 137"),
    # QEMU: the exit port and the summary
    (qemu(1), P, False, 0, "PASS (tcg, cpu max, 3s)"),
    (qemu(3), F, False, 1, "FAIL (tcg, cpu max, 3s)"),
    (qemu(3), NOLM, False, 1, "FAIL: the kernel reports that this CPU (max) has no 64-bit long "
                              "mode"),
    (qemu(3), STARTED, False, 1, "FAIL: the kernel exited with 'fail' (QEMU status 3) without "
                                 "a summary record"),
    (qemu(3), P, False, 1, "without a summary record"),
    (qemu(1), F, False, 1, "FAIL: the summary says fail although the exit port said pass"),
    (qemu(1), STARTED, False, 2, "NO VERDICT: QEMU exited with status 1 and no summary record"),
    (qemu(1), NOLM, False, 2, "NO VERDICT: QEMU exited with status 1"),
    (qemu(0), F, True, 1, "FAIL: per the summary record, but QEMU ended with status 0, not "
                          "through isa-debug-exit"),
    (qemu(0), STARTED, True, 2, "NO VERDICT: triple fault (QEMU status 0) before a summary "
                                "record"),
    (qemu(0), NEVER, True, 2, "before a summary record (and no env record: the kernel never "
                              "started"),
    (qemu(0), NEVER, False, 2, "NO VERDICT: QEMU ended with status 0 without a summary record "
                               "(and no env record: the kernel never started"),
    (qemu(0), STARTED, False, 2, "NO VERDICT: QEMU ended with status 0 without a summary "
                                 "record"),
    # Bochs: only the log counts (its shutdown port exits 1)
    (bochs(1), P, False, 0, "PASS (Bochs p4_willamette, 3s)"),
    (bochs(1), F, False, 1, "FAIL (Bochs p4_willamette, 3s)"),
    (bochs(0), P, False, 0, "PASS (Bochs"),
    (bochs(1), NOLM, False, 1, "FAIL: the kernel reports that this CPU (p4_willamette) has no "
                               "64-bit long mode"),
    (bochs(1), NEVER, True, 2, "NO VERDICT: bochs ended (status 1) without a summary record "
                               "(and no env record"),
    (bochs(1), STARTED, False, 2, "without a summary record; see /l/x.bochs.log"),
])
def test_verdict(outcome, log, triple, code, says):
    got, msgs = judge(outcome, log, triple)
    assert got == code, msgs
    assert says in msgs[-1], msgs
    if log.started:
        assert "never started" not in msgs[-1]
    triple_note = f"the guest triple-faulted (see {outcome.aux_log})"
    assert (triple_note in msgs) == (triple and code != 124), msgs


def test_verdict_command_prints_the_status_and_the_messages(tmp_path, capsys):
    log, aux = tmp_path / "x.log", tmp_path / "x.qemu.log"
    log.write_bytes(("\r\n".join([ENV, FAIL]) + "\r\n").encode())
    aux.write_text("CPU Reset\nTriple fault\n")
    assert harness.main(["verdict", f"--log={log}", f"--aux-log={aux}", "--emulator=qemu",
                         "--program=qemu-system-x86_64", "--status=0", "--elapsed=2",
                         "--timeout=60", "--cpu=max", "--accel=tcg"]) == 0
    out, err = capsys.readouterr()
    assert out == "1\n"
    assert err.splitlines() == [
        f"run-qemu.sh: the guest triple-faulted (see {aux})",
        "run-qemu.sh: FAIL: per the summary record, but QEMU ended with status 0, not through "
        "isa-debug-exit",
        f"run-qemu.sh: log: {log}"]


def test_verdict_of_a_missing_log_is_no_verdict(tmp_path, capsys):
    harness.main(["verdict", f"--log={tmp_path / 'none.log'}", "--aux-log=/nonexistent",
                  "--emulator=bochs", "--program=bochs", "--status=1", "--elapsed=1",
                  "--timeout=9", "--cpu=x"])
    assert capsys.readouterr().out == "2\n"


# --- run-qemu.sh end to end, with a stand-in QEMU ---------------------------------------------------

FAKE_QEMU = r"""#!/bin/sh
# writes FAKE_SERIAL to the -chardev logfile, exits FAKE_STATUS
for a in "$@"; do
  case $a in *logfile=*) log=${a#*logfile=} ;; esac
done
printf '%b' "$FAKE_SERIAL" >"$log"
exit "$FAKE_STATUS"
"""


@pytest.mark.parametrize("serial,status,code,says", [
    (ENV + "\\n" + PASS + "\\n", 1, 0, "PASS (tcg, cpu max"),
    (ENV + "\\n" + FAIL + "\\n", 3, 1, "FAIL (tcg, cpu max"),
    (ENV + "\\n", 3, 1, "without a summary record"),
    ("", 1, 2, "NO VERDICT: QEMU exited with status 1"),
    ("", 0, 2, "the kernel never started"),
])
def test_run_qemu_exit_status(tmp_path, serial, status, code, says):
    proc = run_qemu_with(tmp_path, FAKE_QEMU, "--timeout", "60", FAKE_SERIAL=serial,
                         FAKE_STATUS=str(status))
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.splitlines()
    assert says in lines[-2], lines
    assert lines[-1] == f"run-qemu.sh: log: {tmp_path / 'serial.log'}"
