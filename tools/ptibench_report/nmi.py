"""NMIs for tests: run-qemu.sh --nmi SPEC (QEMU only; docs/running.md, "NMI injection").

run-qemu.sh starts QEMU with `-monitor unix:SOCKET,server,nowait`, then, beside it,

    python3 -m ptibench_report.harness nmi --socket SOCKET --spec SPEC --pid PID [--log FILE]
                                           [--from-env SERIAL-LOG]

which connects to QEMU's human monitor and sends the command `nmi` (one NMI to every CPU) at
the moments SPEC names, counted from its own start (right after QEMU's) or, with --from-env
(run-qemu.sh --nmi-from env), from when the kernel's first env record appears in the serial
log (an NMI before the kernel has its IDT triple-faults the guest, and how long firmware and
GRUB take depends on the machine's load):

    SPEC      = ITEM[,ITEM...]
    ITEM      = SECONDS          once, e.g. 0.5
              | every:SECONDS    at SECONDS, 2*SECONDS, ... until the emulator exits
    (the union of the items' moments: where two coincide, one NMI is sent)

It stops when it has sent them all, when the monitor closes or when PID (the emulator) has
exited. Each NMI sent is one line `run-qemu.sh: nmi: sent NMI N at T s` on stderr (bootlib's
Run.nmis_sent counts them) and, once the emulator has ended, the same lines are appended to
FILE (QEMU's own log, which QEMU writes while it runs). Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import sys
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Sequence

from .plan import PROG
PROMPT = b"(qemu) "
SENT = re.compile(r"^run-qemu\.sh: nmi: sent NMI (\d+) at (\d+\.\d+) s$", re.M)
MIN_INTERVAL = 0.01  # every: faster than this would only flood the monitor
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


class BadSpec(ValueError):
    pass


@dataclass(frozen=True)
class Spec:
    times: tuple[float, ...]  # once each, sorted
    every: tuple[float, ...]  # repeating intervals
    # moments(): the union of all items' moments; where two coincide, one NMI is sent

    def moments(self) -> Iterator[float]:
        """Every moment in order (endless when there is an every: item)."""
        once = list(self.times)
        counts = [1] * len(self.every)  # the next multiple of each interval
        while once or counts:
            t = min(once[:1] + [n * s for n, s in zip(counts, self.every)])
            if once and once[0] == t:
                once.pop(0)
            counts = [n + 1 if n * s <= t + 1e-9 else n for n, s in zip(counts, self.every)]
            yield t


def parse_spec(text: str) -> Spec:
    """SPEC as above; BadSpec (with the reason) otherwise."""
    times: list[float] = []
    every: list[float] = []
    if not text.strip():
        raise BadSpec("empty")
    for item in text.split(","):
        item = item.strip()
        kind, _, number = item.rpartition(":")
        if kind not in ("", "every") or not _NUMBER.fullmatch(number):
            raise BadSpec(f"'{item}' is neither SECONDS nor every:SECONDS")
        value = float(number)
        if kind == "every":
            if value < MIN_INTERVAL:
                raise BadSpec(f"'{item}': the interval must be at least {MIN_INTERVAL} s")
            every.append(value)
        else:
            times.append(value)
    return Spec(tuple(sorted(set(times))), tuple(sorted(set(every))))


def note(message: str) -> None:
    print(f"{PROG}: nmi: {message}", file=sys.stderr, flush=True)


def _alive(pid: Optional[int]) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped) still answers kill(0): ask /proc
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


class Monitor:
    """A connection to QEMU's human monitor (HMP) on a unix socket."""

    def __init__(self, sock: socket.socket):
        self.sock = sock

    @classmethod
    def connect(cls, path: str, alive: Callable[[], bool], patience: float = 30.0
                ) -> Optional["Monitor"]:
        """Wait (while the emulator lives, up to `patience` s) for QEMU to open the socket."""
        deadline = time.monotonic() + patience
        while alive() and time.monotonic() < deadline:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
            except OSError:
                sock.close()
                time.sleep(0.02)
                continue
            mon = cls(sock)
            mon.read_prompt(5.0)  # the banner
            return mon
        return None

    def read_prompt(self, timeout: float) -> Optional[bytes]:
        """What the monitor says up to its next prompt; None if it closed."""
        self.sock.settimeout(timeout)
        got = b""
        try:
            while not got.endswith(PROMPT):
                chunk = self.sock.recv(4096)
                if not chunk:
                    return None
                got += chunk
        except socket.timeout:
            pass
        except OSError:
            return None
        return got

    def command(self, line: str, timeout: float = 5.0) -> Optional[str]:
        """Send one HMP command; its output (without the echo and prompt), None if closed."""
        try:
            self.sock.sendall(line.encode() + b"\n")
        except OSError:
            return None
        reply = self.read_prompt(timeout)
        if reply is None:
            return None
        # HMP's readline echoes (and redraws) the line up to the newline; then the output
        text = reply.decode("utf-8", "replace").replace("\r", "")
        text = text.split("\n", 1)[1] if "\n" in text else ""
        if text.endswith(PROMPT.decode()):
            text = text[: -len(PROMPT)]
        return text.strip()

    def close(self) -> None:
        self.sock.close()


ENV_RECORD = b'PTIBENCH {"type":"env"'


def wait_for_env(serial_log: str, alive: Callable[[], bool]) -> Optional[float]:
    """The moment the kernel's env record is in the serial log; None if the emulator ended."""
    seen = b""
    while alive():
        try:
            with open(serial_log, "rb") as fh:
                fh.seek(max(0, len(seen) - len(ENV_RECORD)))
                seen = seen[: max(0, len(seen) - len(ENV_RECORD))] + fh.read()
        except OSError:
            pass
        if ENV_RECORD in seen:
            return time.monotonic()
        time.sleep(0.02)
    return None


def inject(spec: Spec, socket_path: str, pid: Optional[int] = None,
           start: Optional[float] = None, from_env: Optional[str] = None) -> list[str]:
    """Send the NMIs; return the lines it said (also on stderr)."""
    start = time.monotonic() if start is None else start
    said: list[str] = []

    def say(message: str) -> None:
        said.append(f"{PROG}: nmi: {message}")
        note(message)

    alive = lambda: _alive(pid)  # noqa: E731
    mon = Monitor.connect(socket_path, alive)
    if mon is None:
        say(f"no monitor at {socket_path} (the emulator ended or never opened it); sent none")
        return said
    if from_env is not None:
        env_at = wait_for_env(from_env, alive)
        if env_at is None:
            mon.close()
            say("the emulator ended before the kernel's env record; sent none")
            return said
        say(f"the kernel's env record at {env_at - start:.2f} s: counting from there")
        start = env_at
    sent, ended = 0, False
    try:
        for t in spec.moments():
            while True:  # sleep in short steps, so that an exited emulator ends this soon
                left = start + t - time.monotonic()
                if left <= 0 or not alive():
                    break
                time.sleep(min(left, 0.05))
            reply = mon.command("nmi") if alive() else None
            if reply is None:
                ended = True
                break
            sent += 1
            say(f"sent NMI {sent} at {time.monotonic() - start:.2f} s")
            if reply:
                say(f"the monitor answered: {reply}")
    finally:
        mon.close()
    say(f"{sent} NMI(s) sent; " + ("the emulator ended" if ended else "all sent"))
    return said


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="python3 -m ptibench_report.harness nmi")
    p.add_argument("--socket", required=True)
    p.add_argument("--spec", required=True)
    p.add_argument("--pid", type=int)
    p.add_argument("--log", help="append what was sent here once the emulator has ended")
    p.add_argument("--from-env", metavar="SERIAL_LOG",
                   help="count from the first env record in this serial log")
    args = p.parse_args(argv)
    start = time.monotonic()
    try:
        spec = parse_spec(args.spec)
    except BadSpec as err:
        note(f"bad --nmi '{args.spec}': {err}")
        return 2
    said = inject(spec, args.socket, args.pid, start, args.from_env)
    if args.log:
        while args.pid is not None and _alive(args.pid):  # QEMU writes that log while it runs
            time.sleep(0.05)
        try:
            with open(args.log, "a") as fh:
                fh.write("\n==== NMIs sent through the monitor ====\n" + "\n".join(said) + "\n")
        except OSError as err:
            note(f"cannot append to {args.log}: {err}")
    return 0
