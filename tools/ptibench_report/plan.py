"""run-qemu.sh's options: parsed, checked and turned into the shell variables the script uses.

    python3 -m ptibench_report.harness plan ROOT [OPTIONS...] [-- EMULATOR-ARGS...]

prints bash assignments (every value quoted for `eval`) on stdout and exits 0; a bad option
prints run-qemu.sh's message and the "Try ..." line on stderr and exits 2. With --help the
assignments hold `help_text`, which the script prints before it exits 0. See docs/running.md.

The emulator command lines stay in run-qemu.sh; everything before them (validation, the
accelerator and CPU defaults, the log names) is here, where it is unit-tested
(tests/report/test_run_plan.py). Standard library only.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

PROG = "run-qemu.sh"
DEFAULT_BOCHS_MODEL = "corei7_haswell_4770"
#: The menu entries boot/grub.cfg has, in order (docs/running.md, "Entries and command line").
ENTRIES = ("full", "quick", "selftest", "seeds")

USAGE = f"""\
Usage: ./run-qemu.sh [OPTIONS] [-- EMULATOR-ARGS...]

Boot build/kernel/ptibench.iso (building it first if needed) in QEMU, or in Bochs with --bochs,
with COM1 on stdout and in a log file. Exit status: 0 the kernel reported pass, 1 fail, 2 no
verdict (emulator died, triple fault, no summary record) or a bad option, 124 timeout.

Emulator:
  --accel auto|kvm|tcg   QEMU accelerator (auto: kvm only when /proc/cpuinfo shows vmx or svm
                         and /dev/kvm is usable, else tcg)
  --cpu MODEL            CPU model (default: host,migratable=no,+invtsc with kvm, max with
                         tcg; the Bochs model)
  --hide FEATURES        hide CPUID features from the guest (QEMU), e.g. pcid,invpcid
  --pin auto|none|CPUS   run QEMU on these host CPUs (taskset -c); auto: with kvm, the last
                         --smp CPUs this process may use; none: unpinned (default: auto)
  --mem SIZE             guest RAM, e.g. 256M or 1G (default: 256M)
  --smp N                number of CPUs (default: 1)
  --uefi                 boot with OVMF (UEFI) instead of the BIOS (QEMU only)
  --usb                  boot the image as a USB stick instead of a CD (QEMU only)
  --deterministic        -icount shift=0,sleep=off: the TSC counts instructions (TCG only)
  --nmi SPEC             inject NMIs through QEMU's monitor (QEMU only) at SPEC, seconds after
                         the emulator starts: a list of SECONDS and every:SECONDS items, e.g.
                         0.5,1,2 or every:0.2 or 1,every:0.5
  --nmi-from start|env   count --nmi's seconds from the emulator's start (default) or from the
                         kernel's first env record in the serial log
  --bochs [MODEL]        run Bochs instead of QEMU (default model: {DEFAULT_BOCHS_MODEL})
Kernel:
  --entry full|quick|selftest|seeds   GRUB menu entry to boot (default: full)
  --cmdline "k=v ..."    words appended to the entry's kernel command line
  --iso PATH             boot this image instead (implies --no-build)
  --no-build             do not build; use the image as it is
Run:
  --timeout SECONDS      hard limit for the emulator run (default: 900)
  --log FILE             serial log (default: logs/<YYYYmmdd-HHMMSS>-<tcg|kvm|bochs>-<cpu>
                         [-uefi][-usb][-det].log); the emulator's log goes beside it
                         (<name>.qemu.log or <name>.bochs.log)
  --dry-run              print the emulator command (and Bochs config), exit 0; builds no
                         kernel, but does make the variant image
  -h, --help             this text
  -- ARGS...             passed to the emulator verbatim (Bochs: extra config lines)

--entry other than full, or --cmdline, boots a variant image made from the image's own kernel
and grub.cfg (cached in build/run-iso/). See docs/running.md.
"""

VALUE_OPTIONS = ("--accel", "--cpu", "--mem", "--smp", "--entry", "--cmdline", "--timeout",
                 "--log", "--iso", "--nmi", "--nmi-from", "--pin", "--hide")
#: The CPU model under KVM unless --cpu names one: the host's CPU with an invariant TSC (QEMU
#: exposes invtsc only on a non-migratable vCPU), so that ticks keep their meaning in the guest.
KVM_DEFAULT_CPU = "host,migratable=no,+invtsc"
FLAG_OPTIONS = {"--uefi": "uefi", "--usb": "usb", "--deterministic": "det",
                "--no-build": "no_build", "--dry-run": "dry", "-h": "help", "--help": "help"}
_SAFE_WORD = re.compile(r"[A-Za-z0-9_./:=,+@%-]+")


class BadUsage(Exception):
    """A bad option: run-qemu.sh says the message, then "Try ...", and exits 2."""


def shell_quote(word: str) -> str:
    """One word for bash, quoted only when it needs it (run-qemu.sh's --dry-run style)."""
    if _SAFE_WORD.fullmatch(word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


@dataclass
class Plan:
    """The options as given (strings, as on the command line), then as checked."""

    accel: str = "auto"
    cpu: str = ""
    mem: str = "256M"
    smp: str = "1"
    entry: str = "full"
    cmdline: str = ""
    timeout: str = "900"
    log: str = ""
    iso: str = ""
    nmi: str = ""  # --nmi SPEC (nmi.py), "" for none
    nmi_from: str = "start"  # or env
    pin: str = "auto"  # host CPUs for QEMU (taskset -c): auto (KVM: the last ones), none, a list
    hide: str = ""  # CPUID features to hide from the guest: "pcid,invpcid" -> ",-pcid,-invpcid"
    uefi: bool = False
    usb: bool = False
    det: bool = False
    bochs: bool = False
    no_build: bool = False
    dry: bool = False
    help: bool = False
    extra: list[str] = field(default_factory=list)
    # set by check() and choose_log()
    mem_mib: int = 0
    kind: str = ""  # tcg, kvm or bochs
    aux_log: str = ""

    @property
    def build(self) -> bool:
        return not self.no_build and not self.iso

    def describe(self) -> str:
        """The parenthesis of run-qemu.sh's "booting IMAGE (...)" line."""
        parts = [f"{self.kind}, cpu {self.cpu}, {self.mem_mib} MiB, {self.smp} cpu(s)"]
        parts += [s for on, s in ((self.uefi, "UEFI"), (self.usb, "USB stick"),
                                  (self.det, "deterministic")) if on]
        if self.nmi:
            parts.append(f"NMIs at {self.nmi} s from the {self.nmi_from}")
        if self.pin not in ("", "auto", "none"):
            parts.append(f"pinned to host CPU {self.pin}")
        parts.append(f"entry {self.entry}")
        if self.cmdline:
            parts.append(f'cmdline "{self.cmdline}"')
        return ", ".join(parts)


def parse(argv: Sequence[str]) -> Plan:
    """The options in order; --help stops at once (later arguments are not looked at)."""
    plan = Plan()
    args = list(argv)
    while args:
        arg = opt = args.pop(0)
        val: Optional[str] = None
        if opt.startswith("--") and "=" in opt:
            opt, val = opt.split("=", 1)
        if opt in VALUE_OPTIONS:
            if val is None:
                if not args:
                    raise BadUsage(f"option {opt} needs a value")
                val = args.pop(0)
            setattr(plan, opt[2:].replace("-", "_"), val)
        elif opt == "--bochs":
            plan.bochs = True
            if val is not None:
                plan.cpu = val
            elif args and not args[0].startswith("-"):
                plan.cpu = args.pop(0)
        elif opt in FLAG_OPTIONS:
            if val is not None:
                raise BadUsage(f"option {opt} takes no value")
            setattr(plan, FLAG_OPTIONS[opt], True)
            if plan.help:
                return plan
        elif opt == "--":
            plan.extra = args
            break
        else:
            raise BadUsage(f"unknown option: {arg}")
    return plan


def kvm_usable() -> bool:
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def cpu_has_virtualization() -> bool:
    """vmx or svm among /proc/cpuinfo's flags (a software /dev/kvm has neither)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return re.search(r"\b(vmx|svm)\b", text) is not None


def host_cpus() -> list[int]:
    """The host CPUs this process may run on."""
    return sorted(os.sched_getaffinity(0))


def resolve_pin(plan: Plan, cpus: Callable[[], list[int]]) -> str:
    """taskset's CPU list, or "" for no pinning. auto pins under KVM only (TCG's timings mean
    nothing anyway): the last --smp CPUs the process may use, away from CPU 0's interrupts."""
    if plan.pin == "none":
        return ""
    if plan.pin != "auto":
        return plan.pin
    if plan.kind != "kvm":
        return ""
    allowed = cpus()
    n = int(plan.smp)
    return ",".join(str(c) for c in allowed[-n:]) if len(allowed) >= n else ""


def check(plan: Plan, kvm: Callable[[], bool] = kvm_usable,
          virt: Callable[[], bool] = cpu_has_virtualization,
          cpus: Callable[[], list[int]] = host_cpus) -> Plan:
    """Validate, in the order the messages have always come; fill in kind, cpu, mem_mib."""
    if plan.accel not in ("auto", "kvm", "tcg"):
        raise BadUsage(f"--accel must be auto, kvm or tcg (got '{plan.accel}')")
    if plan.entry not in ENTRIES:
        raise BadUsage(f"--entry must be full, quick, selftest or seeds (got '{plan.entry}')")
    mem = re.fullmatch(r"([1-9][0-9]*)([MmGg]?)", plan.mem)
    if not mem:
        raise BadUsage(f"--mem must be a size like 256M or 1G (got '{plan.mem}')")
    plan.mem_mib = int(mem[1]) * (1024 if mem[2] in ("G", "g") else 1)
    if not re.fullmatch(r"[1-9][0-9]*", plan.smp):
        raise BadUsage(f"--smp must be a positive integer (got '{plan.smp}')")
    if not re.fullmatch(r"[1-9][0-9]*", plan.timeout):
        raise BadUsage(f"--timeout must be a positive number of seconds (got '{plan.timeout}')")
    if plan.cpu and not re.fullmatch(r"[A-Za-z0-9_.,=+-]+", plan.cpu):
        raise BadUsage(f"--cpu: unexpected characters in '{plan.cpu}'")
    if plan.iso and not os.path.isfile(plan.iso) and not plan.dry:
        raise BadUsage(f"--iso: no such file: {plan.iso}")
    if plan.pin not in ("auto", "none") and not re.fullmatch(r"[0-9]+([-,][0-9]+)*", plan.pin):
        raise BadUsage(f"--pin must be auto, none or a CPU list like 3 or 2,3 (got '{plan.pin}')")
    if plan.hide and not re.fullmatch(r"[a-z0-9_-]+(,[a-z0-9_-]+)*", plan.hide):
        raise BadUsage(f"--hide must be CPUID feature names like pcid,invpcid (got '{plan.hide}')")
    if plan.nmi_from not in ("start", "env"):
        raise BadUsage(f"--nmi-from must be start or env (got '{plan.nmi_from}')")
    if plan.nmi:
        from . import nmi  # (nmi imports PROG from here)

        try:
            nmi.parse_spec(plan.nmi)
        except nmi.BadSpec as err:
            raise BadUsage(f"--nmi: {err} (want e.g. 0.5,1,2 or every:0.2)") from None
    if plan.bochs:
        if plan.accel != "auto":
            raise BadUsage("--accel is for QEMU; Bochs always emulates")
        if plan.uefi:
            raise BadUsage("--uefi is not supported with --bochs (no OVMF for Bochs here)")
        if plan.usb:
            raise BadUsage("--usb is not supported with --bochs (the Bochs BIOS boots the CD)")
        if plan.nmi:
            raise BadUsage("--nmi is for QEMU (it goes through QEMU's monitor)")
        if plan.hide:
            raise BadUsage("--hide is for QEMU; choose a Bochs model without the feature")
        plan.cpu, plan.kind = plan.cpu or DEFAULT_BOCHS_MODEL, "bochs"
        plan.pin = ""
        return plan
    if plan.accel == "auto":
        plan.accel = "kvm" if not plan.det and kvm() and virt() else "tcg"
    elif plan.accel == "kvm":
        if plan.det:
            raise BadUsage("--deterministic needs TCG (icount), not --accel kvm")
        if not kvm() and not plan.dry:
            raise BadUsage("--accel kvm: /dev/kvm is missing or not accessible")
    plan.cpu = plan.cpu or (KVM_DEFAULT_CPU if plan.accel == "kvm" else "max")
    if plan.cpu.split(",")[0] == "host" and plan.accel != "kvm":
        raise BadUsage("--cpu host needs KVM; with TCG use max or a named model")
    if plan.hide:
        plan.cpu += "".join(f",-{f}" for f in plan.hide.split(","))
    plan.kind = plan.accel
    plan.pin = resolve_pin(plan, cpus)
    return plan


def default_log_base(plan: Plan, root: Path, now: time.struct_time) -> str:
    """logs/<date>-<kind>-<cpu>[-uefi][-usb][-det], without the .log."""
    cpu = re.sub(r"[^A-Za-z0-9_.+-]", "_", plan.cpu)
    suffix = "".join(s for on, s in ((plan.uefi, "-uefi"), (plan.usb, "-usb"),
                                     (plan.det, "-det")) if on)
    return f"{root}/logs/{time.strftime('%Y%m%d-%H%M%S', now)}-{plan.kind}-{cpu}{suffix}"


def choose_log(plan: Plan, root: Path, now: Optional[time.struct_time] = None) -> Plan:
    """The serial log (created, unless a dry run) and the emulator's log beside it."""
    log = plan.log
    if not log:
        base = default_log_base(plan, root, now or time.localtime())
        log = f"{base}.log"
        if not plan.dry:
            try:
                os.makedirs(f"{root}/logs", exist_ok=True)
            except OSError:
                raise BadUsage(f"cannot create a log file in {root}/logs") from None
            for n in range(2, 1001):  # two runs started in the same second never share a log
                try:
                    os.close(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
                    break
                except FileExistsError:
                    log = f"{base}-{n}.log"
                except OSError:
                    raise BadUsage(f"cannot create a log file in {root}/logs") from None
            else:
                raise BadUsage(f"cannot create a log file in {root}/logs")
    elif not plan.dry:
        try:
            os.makedirs(os.path.dirname(log) or ".", exist_ok=True)
            with open(log, "wb"):
                pass
        except OSError:
            raise BadUsage(f"--log: cannot write {log}") from None
    if not plan.dry:
        log = os.path.realpath(log)
    plan.log = log
    stem = log[:-4] if log.endswith(".log") else log
    plan.aux_log = f"{stem}.{'bochs' if plan.kind == 'bochs' else 'qemu'}.log"
    return plan


def assignments(plan: Plan) -> str:
    """The bash that sets run-qemu.sh's variables."""
    if plan.help:
        return f"help_text={shell_quote(USAGE)}\n"
    values = {
        "accel": plan.accel, "cpu": plan.cpu, "mem": plan.mem, "mem_mib": plan.mem_mib,
        "smp": plan.smp, "uefi": int(plan.uefi), "usb": int(plan.usb), "det": int(plan.det),
        "bochs": int(plan.bochs), "kind": plan.kind, "entry": plan.entry,
        "cmdline": plan.cmdline, "timeout": plan.timeout, "log": plan.log,
        "aux_log": plan.aux_log, "iso": plan.iso, "build": int(plan.build),
        "dry": int(plan.dry), "nmi": plan.nmi,
        "nmi_from": plan.nmi_from, "pin": plan.pin, "what": plan.describe(), "help_text": "",
    }
    lines = [f"{k}={shell_quote(str(v))}" for k, v in values.items()]
    lines.append("extra=(" + " ".join(shell_quote(a) for a in plan.extra) + ")")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str]) -> int:
    """plan ROOT OPTIONS...: the assignments on stdout (0), or a bad option on stderr (2)."""
    if not argv:
        print("usage: harness plan ROOT [run-qemu.sh options]", file=sys.stderr)
        return 2
    root, options = Path(argv[0]), argv[1:]
    try:
        plan = parse(options)
        if not plan.help:
            choose_log(check(plan), root)
    except BadUsage as err:
        print(f"{PROG}: {err}\nTry './{PROG} --help'.", file=sys.stderr)
        return 2
    sys.stdout.write(assignments(plan))
    return 0
