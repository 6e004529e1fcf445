"""run-qemu.sh --nmi without an emulator: the SPEC grammar, and the injector
(tools/ptibench_report/nmi.py) against a fake QEMU human monitor on a unix socket; last,
run-qemu.sh end to end with a stand-in qemu-system-x86_64 that serves such a monitor."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import run_qemu_with

from ptibench_report import nmi
from ptibench_report.nmi import BadSpec, parse_spec

BANNER = b"QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) "


def hmp_echo(line: bytes) -> bytes:
    """What QEMU's readline writes back while a line is typed (as seen from QEMU 7.2)."""
    out = b""
    for i in range(1, len(line) + 1):
        out += b"\x1b[D" * (i - 1) + line[:i] + b"\x1b[K"
    return out + b"\r\n"


class FakeMonitor:
    """A unix-socket server that answers like HMP; records when each command came."""

    def __init__(self, path: Path, close_after: int | None = None, delay: float = 0.0,
                 answer: bytes = b""):
        self.path, self.close_after, self.answer = str(path), close_after, answer
        self.commands: list[tuple[float, str]] = []
        self.start = time.monotonic()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.thread = threading.Thread(target=self._serve, args=(delay,), daemon=True)
        self.thread.start()

    def _serve(self, delay: float) -> None:
        time.sleep(delay)  # QEMU opens the socket a moment after it starts
        self.sock.bind(self.path)
        self.sock.listen(1)
        conn, _ = self.sock.accept()
        with conn:
            conn.sendall(BANNER)
            buf = b""
            while True:
                chunk = conn.recv(1024)
                if not chunk:
                    return
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self.commands.append((time.monotonic() - self.start, line.decode()))
                    if self.close_after is not None and len(self.commands) >= self.close_after:
                        return  # the emulator exited
                    conn.sendall(hmp_echo(line) + self.answer + b"(qemu) ")

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def sock_path(tmp_path):
    # unix socket paths are limited to 107 bytes; pytest's tmp_path may be long
    short = Path(f"/tmp/ptb-nmi-{os.getpid()}-{time.monotonic_ns()}")
    short.mkdir()
    yield short / "monitor.sock"
    for p in short.iterdir():
        p.unlink()
    short.rmdir()


# --- SPEC -------------------------------------------------------------------------------------

def first(spec: str, n: int) -> list[float]:
    return [round(t, 6) for t in itertools.islice(parse_spec(spec).moments(), n)]


def test_times_are_sorted_and_merged():
    assert first("2,0.5,.5, 1.", 9) == [0.5, 1.0, 2.0]


def test_every_repeats_and_merges_with_times():
    assert first("every:0.2", 5) == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert first("0.5,1,every:0.4", 6) == [0.4, 0.5, 0.8, 1.0, 1.2, 1.6]
    assert first("every:0.3,every:0.2", 5) == [0.2, 0.3, 0.4, 0.6, 0.8]


@pytest.mark.parametrize("spec", ["", " ", "x", "1,,2", "-1", "1e3", "every:", "every:0",
                                  "every:0.001", "each:1", "every:every:1", "1s", "nan"])
def test_bad_specs_say_why(spec):
    with pytest.raises(BadSpec) as err:
        parse_spec(spec)
    assert str(err.value)


# --- the injector against a fake monitor ----------------------------------------------------

def test_sends_nmi_at_the_moments(sock_path, capsys):
    mon = FakeMonitor(sock_path, delay=0.2)
    start = time.monotonic()
    said = nmi.inject(parse_spec("0.3,0.6"), str(sock_path), start=start)
    mon.close()
    assert [c for _, c in mon.commands] == ["nmi", "nmi"]
    got = [t - (start - mon.start) for t, _ in mon.commands]
    # never early; late only by scheduling (the machines are shared: a generous bound)
    assert 0.3 <= got[0] < 0.8 and 0.6 <= got[1] < 1.1, got
    err = capsys.readouterr().err
    assert [int(n) for n, _ in nmi.SENT.findall(err)] == [1, 2]
    assert said[-1] == "run-qemu.sh: nmi: 2 NMI(s) sent; all sent"
    assert "answered" not in err  # the echo is not taken for an answer


def test_an_answer_of_the_monitor_is_reported(sock_path, capsys):
    mon = FakeMonitor(sock_path, answer=b"unknown command: 'nmi'\r\n")
    nmi.inject(parse_spec("0"), str(sock_path))
    mon.close()
    assert "the monitor answered: unknown command: 'nmi'" in capsys.readouterr().err


def test_stops_when_the_monitor_closes(sock_path, capsys):
    mon = FakeMonitor(sock_path, close_after=3)
    t0 = time.monotonic()
    said = nmi.inject(parse_spec("every:0.05"), str(sock_path))
    mon.close()
    assert time.monotonic() - t0 < 5
    assert len(mon.commands) == 3
    # the third was never answered: two were surely delivered
    assert len(nmi.SENT.findall(capsys.readouterr().err)) == 2
    assert said[-1].endswith("2 NMI(s) sent; the emulator ended")


def test_stops_when_the_emulator_exits(sock_path, capsys):
    proc = subprocess.Popen(["sleep", "0.4"])
    mon = FakeMonitor(sock_path)
    threading.Thread(target=proc.wait, daemon=True).start()  # reaped, as bash reaps it
    t0 = time.monotonic()
    said = nmi.inject(parse_spec("every:0.1"), str(sock_path), pid=proc.pid)
    assert time.monotonic() - t0 < 2
    mon.close()
    assert len(mon.commands) <= 5, mon.commands  # about 4 in 0.4 s, then none
    assert said[-1].endswith("NMI(s) sent; the emulator ended"), said


def test_a_zombie_counts_as_exited():
    proc = subprocess.Popen(["true"])
    deadline = time.monotonic() + 5
    while nmi._alive(proc.pid) and time.monotonic() < deadline:  # exited, not reaped
        time.sleep(0.01)
    assert not nmi._alive(proc.pid)
    proc.wait()


def test_no_monitor_sends_none(sock_path, capsys):
    proc = subprocess.Popen(["sleep", "0.3"])
    threading.Thread(target=proc.wait, daemon=True).start()
    said = nmi.inject(parse_spec("0.1"), str(sock_path), pid=proc.pid)
    assert "sent none" in said[-1] and not nmi.SENT.search(capsys.readouterr().err)


def test_from_env_counts_from_the_env_record(sock_path, tmp_path, capsys):
    serial = tmp_path / "serial.log"
    serial.write_bytes(b"SeaBIOS\r\n")

    def kernel():
        time.sleep(0.4)
        with open(serial, "ab") as fh:
            fh.write(b'PTIBENCH {"type":"env","version":"x"}\r\n')

    mon = FakeMonitor(sock_path)
    threading.Thread(target=kernel, daemon=True).start()
    nmi.inject(parse_spec("0.1"), str(sock_path), from_env=str(serial))
    mon.close()
    assert len(mon.commands) == 1 and mon.commands[0][0] >= 0.5, mon.commands
    assert "the kernel's env record at 0." in capsys.readouterr().err


def test_main_appends_to_the_emulator_log_after_it_ended(sock_path, tmp_path):
    aux = tmp_path / "x.qemu.log"
    aux.write_text("CPU Reset\n")
    mon = FakeMonitor(sock_path, close_after=2)
    proc = subprocess.Popen(["sleep", "0.5"])
    waiter = threading.Thread(target=proc.wait, daemon=True)  # reaps it, as run-qemu.sh's wait
    waiter.start()
    assert nmi.main(["--socket", str(sock_path), "--spec", "every:0.05", "--pid",
                     str(proc.pid), "--log", str(aux)]) == 0
    mon.close()
    # It waited for the emulator before writing: the process had ended, so the waiter is done
    # at once. (Popen.poll() is no test of that: it answers None while another thread is in
    # wait(), which made this test fail at random.)
    waiter.join(timeout=0.2)  # well before the sleep would end had main returned early
    assert proc.returncode is not None
    text = aux.read_text()
    assert text.startswith("CPU Reset\n\n==== NMIs sent through the monitor ====\n")
    assert "run-qemu.sh: nmi: sent NMI 1 at " in text


# --- run-qemu.sh --nmi end to end, with a stand-in QEMU ---------------------------------------

FAKE_QEMU = r"""#!/usr/bin/python3
# serves HMP on -monitor unix:PATH,server,nowait; writes an env record to the serial log
# after 0.3 s; exits 3 (a kernel "fail") after the second nmi command or after 5 s
import socket, sys, time
args = sys.argv[1:]
mon = args[args.index("-monitor") + 1]
log = [a.split("logfile=")[1] for a in args if "logfile=" in a][0]
srv = socket.socket(socket.AF_UNIX)
srv.bind(mon[len("unix:"):].split(",")[0]); srv.listen(1); srv.settimeout(5)
time.sleep(0.3)
open(log, "w").write('PTIBENCH {"type":"env"}\r\n')
conn, _ = srv.accept(); conn.sendall(b"(qemu) "); conn.settimeout(5)
n, buf = 0, b""
while n < 2:
    chunk = conn.recv(100)
    if not chunk: break
    buf += chunk; n = buf.count(b"nmi\n")
    if n < 2: conn.sendall(b"nmi\r\n(qemu) ")
open(log, "a").write('PTIBENCH {"type":"summary","status":"fail"}\r\n')
sys.exit(3)
"""


def test_run_qemu_nmi_end_to_end(tmp_path):
    proc = run_qemu_with(tmp_path, FAKE_QEMU, "--timeout", "30", "--nmi", "0.1,every:0.2",
                         "--nmi-from", "env", TMPDIR="/tmp")
    assert proc.returncode == 1, proc.stderr
    assert len(nmi.SENT.findall(proc.stderr)) == 1, proc.stderr  # the 2nd ended the "guest"
    assert "NMIs at 0.1,every:0.2 s from the env" in proc.stderr
    assert "the emulator ended" in proc.stderr
    assert "==== NMIs sent through the monitor ====" in (tmp_path / "serial.qemu.log").read_text()

