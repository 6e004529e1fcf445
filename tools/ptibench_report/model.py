"""The data model of a ptibench capture: runs of validated records, plus what went wrong.

Everything here is plain data. The parser (parse.py) is the only producer; the renderers and the
plotter only read. Every field that comes from a log is Optional because any record may lack it
or carry the wrong type: the parser stores None then (and says so on stderr), so consumers never
have to type-check again, they only have to cope with None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

#: Result statuses the contract allows.
RESULT_STATUSES = ("ok", "skip", "fail")

#: Hypervisor signatures (CPUID.40000000H) as people know them.
HYPERVISOR_NAMES = {
    "KVMKVMKVM": "KVM",
    "TCGTCGTCGTCG": "QEMU TCG",
    "VMwareVMware": "VMware",
    "Microsoft Hv": "Hyper-V",
    "XenVMMXenVMM": "Xen",
    "VBoxVBoxVBox": "VirtualBox",
    "bhyve bhyve ": "bhyve",
    " lrpepyh vr": "Parallels",
    "ACRNACRNACRN": "ACRN",
    "QNXQVMBSQG": "QNX",
}


@dataclass(frozen=True)
class Diagnostic:
    """One problem found while reading a log, tied to the physical line it came from.

    Lines are counted by "\\n" from 1, as `grep -n` and editors count them, so that a user can
    jump straight to the spot.
    """

    path: str
    line: int
    message: str
    severity: str = "warning"  # "error": something could not be read; "warning": read, but odd

    def __str__(self) -> str:
        if self.line <= 0:  # about the file as a whole (e.g. it cannot be opened)
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


#: The counter fields the kernel knows (docs/output-format.md), in the order tables show them.
#: Other names are kept too: raw events (`r<umask><event>`) and whatever the env record's
#: `pmu.counters` lists (a newer kernel's).
COUNTER_FIELDS = ("cycles", "ref_cycles", "inst_retired", "dtlb_walks", "itlb_walks",
                  "stlb_hits")

#: What each counter counts, for headers, axis labels and legends.
COUNTER_TEXT = {
    "cycles": "core cycles",
    "ref_cycles": "reference cycles",
    "inst_retired": "instructions retired",
    "dtlb_walks": "completed data page walks",
    "itlb_walks": "completed instruction page walks",
    "stlb_hits": "loads that missed the first-level DTLB and hit the STLB",
}

#: The `pmu.state` in which result records carry counters.
PMU_COUNTING = "counting"


def counter_text(name: str) -> str:
    """A counter field in words ("core cycles", "raw event r0e08")."""
    return COUNTER_TEXT.get(name, f"raw event {name}" if is_raw_event(name) else name)


def is_raw_event(name: str) -> bool:
    """perf's raw form r<umask><event>, at most four hex digits (the kernel's pmu= syntax)."""
    return len(name) in range(2, 6) and name[0] == "r" and all(
        c in "0123456789abcdefABCDEF" for c in name[1:])


@dataclass
class CounterStats:
    """One performance counter of a result, per operation, differenced like the ticks."""

    median: float
    q1: Optional[float] = None
    q3: Optional[float] = None
    min: Optional[float] = None
    max: Optional[float] = None

    @property
    def has_iqr(self) -> bool:
        return self.q1 is not None and self.q3 is not None


@dataclass
class PmuCounter:
    """An entry of the env's `pmu.counters`: which event a result field counts, and where."""

    event: Optional[str] = None
    counter: Optional[str] = None  # "fixed" or "general"
    index: Optional[int] = None
    evtsel: Optional[str] = None  # general counters: "0x..."


@dataclass
class Pmu:
    """The env record's `pmu` object (since 0.3)."""

    state: Optional[str] = None  # counting, off, absent, unusable, not-counting, inexact
    reason: Optional[str] = None
    version: Optional[int] = None
    general: Optional[int] = None
    general_width: Optional[int] = None
    fixed: Optional[int] = None
    fixed_width: Optional[int] = None
    event_table: Optional[str] = None
    read_by: Optional[str] = None
    aperf_mperf: Optional[bool] = None
    smi_count: Optional[bool] = None
    selftest: dict[str, int] = field(default_factory=dict)
    counters: dict[str, PmuCounter] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    # Since 0.4, `crossings`: what the one-way crossings' counter passes read (rdpmc, none,
    # fake-tsc: a test) and why.
    crossings_source: Optional[str] = None
    crossings_reason: Optional[str] = None

    @property
    def counting(self) -> bool:
        return self.state == PMU_COUNTING

    @property
    def text(self) -> str:
        """The state in words, with the reason and what is counted or missing."""
        text = self.state or "state unknown"
        if self.reason:
            text += f" ({self.reason})"
        if self.counters:
            text += ": " + ", ".join(
                f"{name} = {c.event or '?'}" for name, c in self.counters.items())
        if self.event_table:
            text += f"; TLB events from the {self.event_table} table"
        if self.read_by:
            text += f"; read by {self.read_by}"
        if self.missing:
            text += "; missing: " + "; ".join(f"{k}: {v}" for k, v in self.missing.items())
        if self.crossings_source and (self.counting or self.crossings_source != "none"):
            text += f"; crossings: {self.crossings_source}"
            if self.crossings_reason:
                text += f" ({self.crossings_reason})"
        return text


@dataclass
class Env:
    """The `env` record: what the run was measured on."""

    line: int
    version: Optional[str] = None
    vendor: Optional[str] = None
    family: Optional[int] = None
    model: Optional[int] = None
    stepping: Optional[int] = None
    brand: Optional[str] = None
    features: dict[str, bool] = field(default_factory=dict)
    pmu_version: Optional[int] = None
    hypervisor: Optional[bool] = None
    hypervisor_vendor: Optional[str] = None
    acpi_oem: Optional[str] = None  # "BOCHS " under Bochs/QEMU firmware
    bare_metal: Optional[bool] = None
    tsc_hz: Optional[float] = None
    tsc_source: Optional[str] = None
    timer: Optional[str] = None
    memory_bytes: Optional[int] = None
    cmdline: Optional[str] = None
    boot: Optional[str] = None
    suite: Optional[str] = None  # full, quick, selftest, seeds
    params: dict[str, int] = field(default_factory=dict)
    pmu: Optional[Pmu] = None  # since 0.3

    @property
    def is_bare_metal(self) -> Optional[bool]:
        """True/False when the kernel said so, None when it cannot be told.

        `bare_metal` is the kernel's verdict; when a record lacks it, the CPUID hypervisor bit is
        the next best evidence (set means virtualised; clear proves nothing on its own, since
        Bochs does not set it, but it is all the record gives).
        """
        if self.bare_metal is not None:
            return self.bare_metal
        if self.hypervisor is not None:
            return not self.hypervisor
        return None

    @property
    def cpu_text(self) -> str:
        """One line naming the CPU, for table headers and plot titles."""
        brand = " ".join(self.brand.split()) if self.brand else ""
        ident = []
        if self.vendor:
            ident.append(self.vendor)
        if self.family is not None:
            ident.append(f"family {self.family}")
        if self.model is not None:
            ident.append(f"model {self.model} (0x{self.model:x})")
        if self.stepping is not None:
            ident.append(f"stepping {self.stepping}")
        if brand and ident:
            return f"{brand} ({' '.join(ident)})"
        return brand or " ".join(ident) or "unknown CPU"

    @property
    def cpu_short(self) -> str:
        """The brand string alone (or vendor), short enough for a legend."""
        if self.brand:
            return " ".join(self.brand.split())
        return self.vendor or "unknown CPU"

    @property
    def hypervisor_text(self) -> str:
        """The hypervisor as a person would name it, or "none"/"unknown"."""
        if self.hypervisor_vendor:
            sig = self.hypervisor_vendor
            name = HYPERVISOR_NAMES.get(sig)
            return f"{name} (CPUID signature {sig!r})" if name else repr(sig)
        if self.hypervisor:
            return "yes (no CPUID 0x40000000 signature)"
        if self._emulator_oem:
            return (f"none in CPUID, but the firmware's ACPI OEM is {self.acpi_oem!r}: full "
                    "emulation (Bochs, or QEMU without KVM)")
        if self.hypervisor is False:
            return "none"
        return "unknown"

    @property
    def _emulator_oem(self) -> bool:
        # Bochs and QEMU's SeaBIOS/OVMF say "BOCHS "; under Bochs there is no hypervisor bit.
        return bool(self.acpi_oem) and self.acpi_oem.strip().upper() == "BOCHS"

    @property
    def hypervisor_short(self) -> str:
        """Short hypervisor name for legends ("KVM", "QEMU TCG", "bare metal")."""
        if self.hypervisor_vendor:
            return HYPERVISOR_NAMES.get(self.hypervisor_vendor, self.hypervisor_vendor)
        if self._emulator_oem and not self.hypervisor:
            return "emulator"
        state = self.is_bare_metal
        if state is True:
            return "bare metal"
        if state is False:
            return "virtualised"
        return "unknown"

    @property
    def tsc_text(self) -> str:
        """TSC rate and where the kernel got it from."""
        source = self.tsc_source or "source unknown"
        if self.tsc_hz:
            return f"{self.tsc_hz / 1e9:.3f} GHz ({source})"
        return f"unknown ({source}): no ns figures"

    @property
    def features_text(self) -> str:
        """Features present, then absent, as the kernel reported them."""
        have = [k for k, v in self.features.items() if v]
        lack = [k for k, v in self.features.items() if not v]
        text = " ".join(have) if have else "none reported"
        if lack:
            text += "; lacks " + " ".join(lack)
        return text


@dataclass
class Result:
    """One `result` record (a benchmark variant) after validation."""

    line: int
    name: str
    status: str  # one of RESULT_STATUSES
    group: Optional[str] = None
    reason: Optional[str] = None
    unit: Optional[str] = None
    n: Optional[int] = None
    min: Optional[float] = None
    q1: Optional[float] = None
    median: Optional[float] = None
    mean: Optional[float] = None
    q3: Optional[float] = None
    max: Optional[float] = None
    stddev: Optional[float] = None
    ns_median: Optional[float] = None
    ops: Optional[int] = None
    reps: Optional[int] = None
    unroll: Optional[int] = None
    iters: Optional[int] = None
    warmup: Optional[int] = None
    instructions: Optional[int] = None  # counted per operation: what an instruction-TSC reads
    faulting: Optional[int] = None  # 1 when one of those instructions faults instead
    flush: Optional[str] = None
    pages: Optional[int] = None
    global_: Optional[bool] = None  # JSON "global"; a Python keyword
    access: Optional[str] = None  # tlb.*: "independent" (tlb.refill.*) or "chase" (tlb.chase.*)
    pti: Optional[bool] = None
    pcid: Optional[bool] = None
    kind: Optional[str] = None
    direction: Optional[str] = None
    samples: Optional[list[float]] = None  # per-operation value of each repetition (samples=raw)
    # probe.* (TLB semantics probes): not timed, so no statistics; what the reads saw instead.
    observed: Optional[str] = None  # "kept", "dropped", "mixed"
    kept: Optional[int] = None
    reads: Optional[int] = None
    other: Optional[int] = None
    architecture: Optional[str] = None  # "must-drop", "may-keep"
    reference: Optional[str] = None  # the SDM's section
    verdict: Optional[str] = None  # "ok", "violation", "broken"
    # Performance counters (since 0.3): {field: statistics per operation}, in record order.
    counters: dict[str, CounterStats] = field(default_factory=dict)
    inst_mismatch: Optional[float] = None  # inst_retired median minus the declared count
    # crossing.*: the counter passes' declared count (`instructions` + their stamps' two XCHGs)
    counter_instructions: Optional[int] = None
    aperf_mperf: Optional[float] = None  # core clock / reference clock over the variant
    smis: Optional[int] = None  # SMIs during the variant
    # aspace.* (the address-space lab): the policy, its parameters and its decision counts.
    policy: Optional[str] = None
    slots: Optional[int] = None
    schedule: Optional[str] = None
    processes: Optional[int] = None
    kernel_pages: Optional[int] = None
    calls: Optional[int] = None
    flush_every: Optional[int] = None
    slices: Optional[int] = None
    invpcid: Optional[bool] = None
    switches: Optional[int] = None
    asid_hits: Optional[int] = None
    asid_misses: Optional[int] = None
    flushes: Optional[int] = None
    user_flushes: Optional[int] = None
    skipped_cr3: Optional[int] = None
    kernel_flushes: Optional[int] = None
    invpcids: Optional[int] = None
    invalidate_others: Optional[int] = None
    stale_reads: Optional[int] = None
    switch_median: Optional[float] = None
    flush_median: Optional[float] = None
    # Since 0.4: the INVPCID-less kernel flushes on a CPU that has INVPCID (the .noinvpcid rows),
    # the kernel flushes measured, the declared instruction counts (medians) and the slices whose
    # ticks, or whose inst_retired, read anything else.
    noinvpcid: Optional[bool] = None
    flush_n: Optional[int] = None
    slice_instructions: Optional[float] = None
    switch_instructions: Optional[float] = None
    flush_instructions: Optional[float] = None
    tick_mismatches: Optional[int] = None
    inst_mismatches: Optional[int] = None

    @property
    def policy_label(self) -> str:
        """linux.6, nopcid, perprocess, deferred: the policy as the row names spell it."""
        return f"{self.policy}.{self.slots}" if self.policy == "linux" else str(self.policy)
    architecture_amd: Optional[str] = None  # the APM's rule, where the probe cites the APM
    reference_amd: Optional[str] = None
    manual: Optional[str] = None  # "SDM" or "APM": whose rule the verdict applied
    # ipi.*: the CPU that sent and the CPU that answered (kernel numbering, 0 = the boot CPU).
    source: Optional[int] = None
    target: Optional[int] = None
    # shootdown.*: nopti / pti.pcid / pti / invlpgb.pcid / invlpgb, T targets (with `pages` = n), how the user PCID
    # was invalidated, and the reads after a shootdown that saw an old frame.
    scheme: Optional[str] = None
    targets: Optional[int] = None
    user_pcid: Optional[str] = None
    # Since 0.4, the PTI schemes: the stale reads through the user half, and the targets' return
    # to user space (ticks of their TSCs, pooled); the INVLPGB rows' instructions per shootdown.
    user_stale_reads: Optional[int] = None
    return_to_user_n: Optional[int] = None
    return_to_user_q1: Optional[float] = None
    return_to_user_median: Optional[float] = None
    return_to_user_q3: Optional[float] = None
    invlpgb_ops: Optional[int] = None
    # crossing.*, since 0.4: what the counter passes read (rdpmc, fake-tsc), or why none.
    counter_source: Optional[str] = None
    no_counters: Optional[str] = None

    @property
    def family(self) -> str:
        """The group, or the name's first component when the record did not say."""
        return self.group or self.name.split(".", 1)[0]

    @property
    def usable(self) -> bool:
        """A measured value that can go into a table cell or a plot."""
        return self.status == "ok" and self.median is not None

    @property
    def has_iqr(self) -> bool:
        return self.q1 is not None and self.q3 is not None

    def declared_for_counters(self) -> Optional[int]:
        """The instruction count inst_retired is checked against: a crossing's counter passes
        declare their own (`counter_instructions`), every other record its `instructions`."""
        return self.counter_instructions if self.counter_instructions is not None \
            else self.instructions


@dataclass
class Check:
    """A `check` record (self-test)."""

    line: int
    name: Optional[str]
    status: Optional[str]
    detail: Optional[str] = None


@dataclass
class Fault:
    """A `fault` record: the CPU exception that ended the run."""

    line: int
    vector: Optional[int] = None
    mnemonic: Optional[str] = None
    error_code: Optional[int] = None
    rip: Optional[str] = None
    cr2: Optional[str] = None
    phase: Optional[str] = None
    ring: Optional[int] = None
    pti: Optional[bool] = None

    @property
    def text(self) -> str:
        what = self.mnemonic or (f"vector {self.vector}" if self.vector is not None else "fault")
        parts = [what]
        if self.error_code is not None:
            parts.append(f"error code {self.error_code:#x}")
        if self.rip:
            parts.append(f"at rip {self.rip}")
        if self.cr2 and what == "#PF":
            parts.append(f"cr2 {self.cr2}")
        if self.ring is not None:
            parts.append(f"ring {self.ring}")
        if self.pti is not None:
            parts.append("PTI on" if self.pti else "PTI off")
        if self.phase:
            parts.append(f"during {self.phase}")
        return ", ".join(parts)


@dataclass
class Summary:
    """The `summary` record that closes a run."""

    line: int
    ok: Optional[int] = None
    skipped: Optional[int] = None
    failed: Optional[int] = None
    checks_failed: Optional[int] = None
    status: Optional[str] = None
    nmis: Optional[int] = None  # since 0.2
    smis: Optional[int] = None  # since 0.3, where the CPU counts SMIs
    inst_mismatches: Optional[int] = None  # since 0.3, where inst_retired is counted


@dataclass
class Run:
    """One run: the records from an `env` to the next `summary` (or to the cut).

    `index` is 1-based within its file, which is what `--run N` and `file:N` refer to.
    A run with env None holds records that came before any `env` (a capture started mid-run).
    """

    path: str
    index: int
    first_line: int
    last_line: int
    env: Optional[Env] = None
    results: dict[str, Result] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    summary: Optional[Summary] = None

    @property
    def complete(self) -> bool:
        """Has both ends: an env that opened it and a summary that closed it."""
        return self.env is not None and self.summary is not None

    @property
    def state(self) -> str:
        """How the run ended, in words."""
        if self.env is None:
            base = "no env (capture started mid-run)"
            return base + (", has summary" if self.summary else "")
        if self.summary is None:
            return "incomplete (cut off)"
        if self.summary.status == "pass":
            return "complete, pass"
        if self.summary.status == "fail":
            return "complete, FAIL"
        return "complete"

    @property
    def label(self) -> str:
        """`file:N`, the handle users pass back to the tool."""
        return f"{self.path}:{self.index}"

    def counts(self) -> dict[str, int]:
        """Results per status, counted from the records actually read."""
        out = {s: 0 for s in RESULT_STATUSES}
        for r in self.results.values():
            out[r.status] += 1
        return out

    def usable(self) -> list[Result]:
        return [r for r in self.results.values() if r.usable]

    def counter_names(self) -> list[str]:
        """Every counter some result of this run carries: the known ones in COUNTER_FIELDS
        order, then the others (raw events) in order of first appearance."""
        seen: dict[str, None] = {}
        for r in self.results.values():
            for name in r.counters:
                seen.setdefault(name, None)
        return [n for n in COUNTER_FIELDS if n in seen] + [n for n in seen
                                                           if n not in COUNTER_FIELDS]

    @property
    def instruction_counted(self) -> bool:
        """True when every spread is zero over several repetitions.

        Under a TSC that counts instructions (Bochs, QEMU -icount) every figure is exact, so
        q1 == q3 everywhere; real cycles never do that across a whole run. This lets the report
        warn that such figures are instruction counts even when the env claims bare metal (Bochs
        does not set the CPUID hypervisor bit).
        """
        measured = [r for r in self.usable() if r.has_iqr and (r.n or 0) > 1]
        return len(measured) >= 3 and all(r.q1 == r.q3 for r in measured)


@dataclass
class Capture:
    """Everything read from one log file."""

    path: str
    runs: list[Run] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    records: int = 0  # records that parsed as JSON and were used
    damaged: int = 0  # `PTIBENCH {` occurrences that could not be read
    lines: int = 0
    read_error: Optional[str] = None  # the file could not be opened at all
