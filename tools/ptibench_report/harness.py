"""run-qemu.sh's helpers in Python: its options, the variant image and the verdict
(docs/running.md).

run-qemu.sh keeps the emulator command line; it calls this module for what is easier to get
right (and to unit-test) in Python:

  python3 -m ptibench_report.harness variant --iso IMAGE --entry ENTRY [--cmdline WORDS]
                                             --cache DIR
      Make (or reuse) the image that boots menu entry ENTRY with WORDS appended to every
      multiboot2 line; print its path on stdout. Messages on stderr; exit 2 on failure.

  python3 -m ptibench_report.harness verdict --log LOG --aux-log AUX --emulator qemu|bochs
                                             --program NAME --status RC --elapsed S
                                             --timeout T --cpu MODEL [--accel ACCEL]
      Judge a finished run from the emulator's exit status and the serial log: print the
      messages on stderr and the exit status run-qemu.sh must give (0, 1, 2 or 124) on stdout.
      Always exits 0 itself, so that run-qemu.sh can tell a verdict from a crash of this code.

  python3 -m ptibench_report.harness plan ROOT [run-qemu.sh OPTIONS...]
      Parse and check run-qemu.sh's options; print the shell assignments it evals (plan.py).

  python3 -m ptibench_report.harness nmi --socket PATH --spec SPEC [--pid PID] [--log FILE]
      Beside a running QEMU: send `nmi` on its monitor at SPEC's moments (nmi.py, --nmi).

  python3 -m ptibench_report.harness quote WORDS...
      Print the words as one shell command line, quoted only where needed (--dry-run).

Standard library only (Debian's python3, 3.11).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from . import nmi, plan
from .plan import ENTRIES, PROG
from .records import decode, scan

LONG_MODE_MESSAGE = "ptibench: this CPU has no 64-bit long mode"

CACHE_KEEP = 30  # variant images kept in the cache (about 20 MB each)

EXIT_PASS, EXIT_FAIL, EXIT_NO_VERDICT, EXIT_TIMEOUT = 0, 1, 2, 124


def note(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


class Failure(Exception):
    """Something run-qemu.sh reports and ends on with status 2 (no verdict)."""


# --- the variant image ------------------------------------------------------------------------

def cmdline_words(cmdline: str) -> list[str]:
    """The --cmdline words: split at spaces, tabs and newlines (bash's default IFS), no more."""
    return [w for w in re.split(r"[ \t\n]+", cmdline) if w]


def grub_quote(word: str) -> str:
    """One word single-quoted for GRUB's shell-like parser: no globbing, no $ expansion."""
    return "'" + word.replace("'", "'\\''") + "'"


@dataclass
class GrubCfg:
    text: str  # the new grub.cfg
    default: int  # the menu entry it boots
    found: Optional[int]  # where suite=<entry> was found (None: nowhere)


def rewrite_grub_cfg(cfg: str, entry: str, cmdline: str) -> GrubCfg:
    """grub.cfg with the words appended to every multiboot2 line and `set default=N` and
    `set timeout=0` appended to the file (GRUB reads them after the whole file), N being the entry
    whose multiboot2 line has suite=<entry>, else the entry's place in ENTRIES. No countdown: an
    emulated run has no one to choose, and under deterministic QEMU GRUB's 2-second countdown is
    two billion instructions of busy waiting."""
    extra = "".join(" " + grub_quote(w) for w in cmdline_words(cmdline))
    want = re.compile(r"[ \t]suite=" + re.escape(entry) + r"([ \t]|$)")
    lines = cfg.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    n, found, out = -1, None, []
    for line in lines:
        if re.match(r"[ \t]*(menuentry|submenu)[ \t]", line):
            n += 1
        if re.match(r"[ \t]*multiboot2[ \t]", line):
            if found is None and want.search(line):
                found = n
            line = line.rstrip(" \t") + extra
        out.append(line)
    default = ENTRIES.index(entry) if found is None else found
    out += ["", f"# added by {PROG}", f"set default={default}", "set timeout=0"]
    return GrubCfg("\n".join(out) + "\n", default, found)


def cache_key(kernel: bytes, cfg: bytes) -> str:
    """16 hex digits over the kernel and the grub.cfg (the names run-qemu.sh has always used:
    sha256 of `sha256sum` output of the kernel followed by the config)."""
    inner = hashlib.sha256(kernel).hexdigest() + "  -\n"
    return hashlib.sha256(inner.encode() + cfg).hexdigest()[:16]


def prune_cache(cache: Path, keep: int = CACHE_KEEP) -> None:
    """Keep the `keep` most recently used images."""
    try:
        images = sorted(cache.glob("*.iso"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in images[keep:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # another run pruned at the same time


def _run_tool(argv: list[str], what: str) -> None:
    """Run a tool quietly; on failure show its output and fail with `what`."""
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace")
    except OSError as err:
        raise Failure(f"{what} ({argv[0]}: {err.strerror or err})") from None
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise Failure(what)


def variant_iso(iso: Path, entry: str, cmdline: str, cache: Path) -> Path:
    """The image that boots `entry` with `cmdline`: from the cache, or made with grub-mkrescue
    from the kernel and grub.cfg read out of `iso` itself (so it matches what `iso` boots)."""
    with tempfile.TemporaryDirectory(prefix="ptibench-variant.") as tmp:
        tmp_dir = Path(tmp)
        tree = tmp_dir / "iso"
        (tree / "boot" / "grub").mkdir(parents=True)
        kernel, orig = tree / "boot" / "ptibench.elf", tmp_dir / "grub.cfg.orig"
        _run_tool(["xorriso", "-osirrox", "on", "-indev", str(iso),
                   "-extract", "/boot/ptibench.elf", str(kernel),
                   "-extract", "/boot/grub/grub.cfg", str(orig)],
                  f"could not read boot/ptibench.elf and boot/grub/grub.cfg from {iso}")
        kernel.chmod(0o644)  # extracted read-only, as on the image
        cfg = rewrite_grub_cfg(orig.read_bytes().decode("utf-8", "surrogateescape"), entry,
                               cmdline)
        if cfg.found is None:
            note(f"warning: no menu entry with suite={entry} in grub.cfg; using entry "
                 f"{cfg.default}")
        elif cfg.found != ENTRIES.index(entry):
            note(f"note: suite={entry} is menu entry {cfg.found} (not {ENTRIES.index(entry)})")
        data = cfg.text.encode("utf-8", "surrogateescape")
        (tree / "boot" / "grub" / "grub.cfg").write_bytes(data)
        out = cache / f"{cache_key(kernel.read_bytes(), data)}.iso"
        what = f"variant image (entry {entry}, cmdline '{cmdline}'): {out}"
        if out.is_file():
            try:
                out.touch()  # most recently used: kept by the pruning
            except OSError:
                pass
            note(f"{what} (cached)")
            return out
        cache.mkdir(parents=True, exist_ok=True)
        part = out.with_name(f"{out.name}.tmp.{os.getpid()}")  # parallel runs never collide
        try:
            _run_tool(["grub-mkrescue", "-o", str(part), str(tree)], "grub-mkrescue failed")
            os.replace(part, out)
        finally:
            part.unlink(missing_ok=True)
        note(what)
        prune_cache(cache)
        return out


# --- the verdict ------------------------------------------------------------------------------

_ENV_TEXT = re.compile(r'"type"\s*:\s*"env"')


@dataclass
class LogFacts:
    """What the verdict needs from the serial log."""

    summary: Optional[str]  # "pass"/"fail": the last run's summary status; None: no summary
    started: bool  # an env record (even a damaged one): the kernel ran
    no_long_mode: bool  # the kernel's message for a 32-bit-only CPU


def read_facts(text: str) -> LogFacts:
    """A summary counts only when it is a whole record, with nothing but blanks after it (as for
    bootlib), after the last env record; a damaged env record (a reset cut it) still starts a
    new run, so a summary before it does not count."""
    summary: Optional[str] = None
    started = False
    for found in scan(text):
        rec = found.record
        if rec is None:
            if _ENV_TEXT.search(found.segment, found.start):
                summary, started = None, True
            continue
        if rec.get("type") == "env":
            summary, started = None, True
        elif rec.get("type") == "summary" and rec.get("status") in ("pass", "fail") and \
                not found.trailing.strip():
            summary = rec["status"]
    return LogFacts(summary, started, LONG_MODE_MESSAGE in text)


def triple_faulted(aux_log: str) -> bool:
    """QEMU's -d cpu_reset log says `Triple fault`; Bochs' log `exception with no resolution`."""
    return "Triple fault" in aux_log or "exception with no resolution" in aux_log


@dataclass
class Outcome:
    """How the run ended."""

    emulator: str  # "qemu" or "bochs"
    program: str  # the emulator's executable, for messages
    status: int  # its exit status (as `timeout` returned it)
    elapsed: int  # seconds
    timeout: int  # --timeout
    cpu: str
    accel: str = ""  # tcg or kvm (QEMU)
    aux_log: str = ""  # the emulator's own log file, for messages


def judge(o: Outcome, facts: LogFacts, triple: bool) -> tuple[int, list[str]]:
    """(run-qemu.sh's exit status, its messages) for a run that was not interrupted."""
    msgs: list[str] = []
    s = facts.summary
    not_started = "" if facts.started else (
        " (and no env record: the kernel never started; was the image bootable, did GRUB "
        "load it?)")
    long_mode = f"FAIL: the kernel reports that this CPU ({o.cpu}) has no 64-bit long mode"

    def done(code: int, message: str) -> tuple[int, list[str]]:
        return code, msgs + [message]

    # timeout -s KILL (Bochs) ends with 137; so does a KILL from outside, hence the time check
    if o.status == 124 or (o.status == 137 and o.elapsed >= o.timeout):
        return done(EXIT_TIMEOUT, f"TIMEOUT: no end after {o.timeout}s; killed {o.program} "
                                  f"(summary: {s or 'none'})")
    if triple:
        msgs.append(f"the guest triple-faulted (see {o.aux_log})")
    if o.emulator == "bochs":  # its exit status means nothing: the shutdown port exits 1
        if s == "pass":
            return done(EXIT_PASS, f"PASS (Bochs {o.cpu}, {o.elapsed}s)")
        if s == "fail":
            return done(EXIT_FAIL, f"FAIL (Bochs {o.cpu}, {o.elapsed}s)")
        if facts.no_long_mode:
            return done(EXIT_FAIL, long_mode)
        return done(EXIT_NO_VERDICT, f"NO VERDICT: bochs ended (status {o.status}) without a "
                                     f"summary record{not_started}; see {o.aux_log}")
    # QEMU: isa-debug-exit makes it exit 1 (pass) or 3 (fail); it also exits 1 when it fails
    # to start, so a pass needs the summary as well.
    if o.status == 1 and s == "pass":
        return done(EXIT_PASS, f"PASS ({o.accel}, cpu {o.cpu}, {o.elapsed}s)")
    if o.status == 3:
        if s == "fail":
            return done(EXIT_FAIL, f"FAIL ({o.accel}, cpu {o.cpu}, {o.elapsed}s)")
        if facts.no_long_mode:
            return done(EXIT_FAIL, long_mode)
        return done(EXIT_FAIL, "FAIL: the kernel exited with 'fail' (QEMU status 3) without a "
                               "summary record")
    if o.status == 1:
        if s == "fail":
            return done(EXIT_FAIL, "FAIL: the summary says fail although the exit port said "
                                   "pass")
        return done(EXIT_NO_VERDICT, "NO VERDICT: QEMU exited with status 1 and no summary "
                                     "record: QEMU failed (see above) or the kernel wrote "
                                     "'pass' without a summary")
    if s is not None:
        return done(EXIT_PASS if s == "pass" else EXIT_FAIL,
                    f"{s.upper()}: per the summary record, but QEMU ended with status "
                    f"{o.status}, not through isa-debug-exit")
    if triple:
        return done(EXIT_NO_VERDICT, f"NO VERDICT: triple fault (QEMU status {o.status}) before "
                                     f"a summary record{not_started}")
    return done(EXIT_NO_VERDICT, f"NO VERDICT: QEMU ended with status {o.status} without a "
                                 f"summary record{not_started}")


def _read(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return decode(fh.read())
    except OSError:
        return ""


def verdict(o: Outcome, log: str) -> int:
    """Judge, say it (and the log path) on stderr, return the exit status."""
    code, msgs = judge(o, read_facts(_read(log)), triple_faulted(_read(o.aux_log)))
    for m in msgs:
        note(m)
    note(f"log: {log}")
    return code


# --- command line -----------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python3 -m ptibench_report.harness",
                                description="run-qemu.sh's variant images and verdicts")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("variant", help="make or reuse a variant image; print its path")
    v.add_argument("--iso", required=True, type=Path)
    v.add_argument("--entry", required=True, choices=ENTRIES)
    v.add_argument("--cmdline", default="")
    v.add_argument("--cache", required=True, type=Path)
    j = sub.add_parser("verdict", help="judge a finished run; print run-qemu.sh's exit status")
    j.add_argument("--log", required=True)
    j.add_argument("--aux-log", required=True)
    j.add_argument("--emulator", required=True, choices=("qemu", "bochs"))
    j.add_argument("--program", required=True)
    j.add_argument("--status", required=True, type=int)
    j.add_argument("--elapsed", required=True, type=int)
    j.add_argument("--timeout", required=True, type=int)
    j.add_argument("--cpu", required=True)
    j.add_argument("--accel", default="")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # plan and quote take run-qemu.sh's own arguments verbatim: no argparse in between
    if argv[:1] == ["plan"]:
        return plan.main(argv[1:])
    if argv[:1] == ["nmi"]:
        return nmi.main(argv[1:])
    if argv[:1] == ["quote"]:
        print(" ".join(plan.shell_quote(a) for a in argv[1:]))
        return 0
    args = _parser().parse_args(argv)
    if args.command == "variant":
        try:
            print(variant_iso(args.iso, args.entry, args.cmdline, args.cache))
        except (Failure, OSError) as err:
            note(str(err))
            return EXIT_NO_VERDICT
        return 0
    o = Outcome(args.emulator, args.program, args.status, args.elapsed, args.timeout, args.cpu,
                args.accel, args.aux_log)
    print(verdict(o, args.log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
