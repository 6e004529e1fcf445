"""Read serial captures into runs of validated records (docs/output-format.md).

Real captures are messy: GRUB menus, firmware escapes, CR/LF mixes, a reset in the middle of a
line, garbage bytes from a UART without flow control. Records are found by records.scan (the
reader run-qemu.sh and the boot tests share); on top of it:

- a record that does not parse is *damaged*: it is reported and skipped, and reading goes on;
- every field is type-checked against the contract; a wrong type is reported and the field is
  treated as missing, so one bad value costs one cell, not the run;
- nothing raises on bad input: the only exceptions that leave this module are programming
  errors.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any, Callable, Iterator, Optional

from .model import (
    COUNTER_FIELDS,
    RESULT_STATUSES,
    Capture,
    Check,
    CounterStats,
    Diagnostic,
    Env,
    Fault,
    Pmu,
    PmuCounter,
    Result,
    Run,
    Summary,
    is_raw_event,
)
from .records import Found, decode, line_count, scan

# --- field validation -----------------------------------------------------------------------

# Field kinds. "int" accepts an integral float (31.0): the contract says integers have no
# decimals, but a value that is exactly integral loses nothing and is not worth dropping.
_NUM, _INT, _STR, _BOOL, _OBJ = "number", "integer", "string", "boolean", "object"
_NUMS = "array of numbers"

_RESULT_FIELDS: dict[str, str] = {
    "name": _STR, "group": _STR, "status": _STR, "reason": _STR, "unit": _STR,
    "n": _INT, "min": _NUM, "q1": _NUM, "median": _NUM, "mean": _NUM, "q3": _NUM, "max": _NUM,
    "stddev": _NUM, "ns_median": _NUM, "ops": _INT, "reps": _INT, "unroll": _INT,
    "iters": _INT, "warmup": _INT, "instructions": _INT, "faulting": _INT, "flush": _STR,
    "pages": _INT,
    "global": _BOOL, "access": _STR,
    "pti": _BOOL, "pcid": _BOOL, "kind": _STR, "direction": _STR,
    "samples": _NUMS,  # only with the kernel's samples=raw
    "observed": _STR, "kept": _INT, "reads": _INT, "other": _INT, "architecture": _STR,
    "reference": _STR, "verdict": _STR,  # probe.*
    "inst_mismatch": _NUM, "aperf_mperf": _NUM, "smis": _INT,  # since 0.3
    "counter_instructions": _INT,  # crossing.*: what its counter passes declare (since 0.4)
    # aspace.* (the address-space lab)
    "policy": _STR, "slots": _INT, "schedule": _STR, "processes": _INT, "kernel_pages": _INT,
    "calls": _INT, "flush_every": _INT, "slices": _INT, "invpcid": _BOOL, "switches": _INT,
    "asid_hits": _INT, "asid_misses": _INT, "flushes": _INT, "user_flushes": _INT,
    "skipped_cr3": _INT, "kernel_flushes": _INT, "invpcids": _INT, "invalidate_others": _INT,
    "stale_reads": _INT, "switch_median": _NUM, "flush_median": _NUM,
    "noinvpcid": _BOOL, "flush_n": _INT, "slice_instructions": _NUM,  # aspace.*, since 0.4
    "switch_instructions": _NUM, "flush_instructions": _NUM, "tick_mismatches": _INT,
    "inst_mismatches": _INT,
    "architecture_amd": _STR, "reference_amd": _STR, "manual": _STR,  # probe.*: the APM
    "source": _INT, "target": _INT,  # ipi.*
    "scheme": _STR, "targets": _INT, "user_pcid": _STR,  # shootdown.*
    "user_stale_reads": _INT, "return_to_user_n": _INT, "return_to_user_q1": _NUM,
    "return_to_user_median": _NUM, "return_to_user_q3": _NUM,  # shootdown.* PTI, since 0.4
    "invlpgb_ops": _INT,  # shootdown.invlpgb*, since 0.4
    "counter_source": _STR, "no_counters": _STR,  # crossing.*, since 0.4
}
_ENV_FIELDS: dict[str, str] = {
    "version": _STR, "vendor": _STR, "family": _INT, "model": _INT, "stepping": _INT,
    "brand": _STR, "features": _OBJ, "pmu_version": _INT, "hypervisor": _BOOL,
    "hypervisor_vendor": _STR, "acpi_oem": _STR, "bare_metal": _BOOL, "tsc_hz": _NUM,
    "tsc_source": _STR,
    "timer": _STR, "memory_bytes": _INT, "cmdline": _STR, "boot": _STR, "suite": _STR,
    "params": _OBJ, "pmu": _OBJ,
}
_PMU_FIELDS: dict[str, str] = {
    "state": _STR, "reason": _STR, "version": _INT, "general": _INT, "general_width": _INT,
    "fixed": _INT, "fixed_width": _INT, "event_table": _STR, "read_by": _STR,
    "aperf_mperf": _BOOL, "smi_count": _BOOL, "selftest": _OBJ, "counters": _OBJ,
    "missing": _OBJ, "crossings": _OBJ,
}
_PMU_CROSSINGS_FIELDS: dict[str, str] = {"source": _STR, "reason": _STR}  # since 0.4
_PMU_STATES = ("counting", "off", "absent", "unusable", "not-counting", "inexact")
_PMU_COUNTER_FIELDS: dict[str, str] = {
    "event": _STR, "counter": _STR, "index": _INT, "evtsel": _STR,
}
#: Result fields that are never counters, whatever an env's pmu.counters lists: the contract's
#: own, and the names the tool's JSON output uses beside the counters.
_NOT_COUNTERS = frozenset(_RESULT_FIELDS) | {"type", "line", "disturbed"}
#: A counter of a result: the statistics the kernel prints, median first (the one it needs).
_COUNTER_STATS: dict[str, str] = {
    "median": _NUM, "q1": _NUM, "q3": _NUM, "min": _NUM, "max": _NUM,
}
_CHECK_FIELDS: dict[str, str] = {"name": _STR, "status": _STR, "detail": _STR}
_FAULT_FIELDS: dict[str, str] = {
    "vector": _INT, "mnemonic": _STR, "error_code": _INT, "rip": _STR, "cs": _STR,
    "rflags": _STR, "rsp": _STR, "cr2": _STR, "cr3": _STR, "cr4": _STR, "ring": _INT,
    "pti": _BOOL, "phase": _STR,
}
_SUMMARY_FIELDS: dict[str, str] = {
    "ok": _INT, "skipped": _INT, "failed": _INT, "checks_failed": _INT, "status": _STR,
    "nmis": _INT, "smis": _INT, "inst_mismatches": _INT,
}
#: Integer fields that count events: a negative value is damage, not a count.
_COUNTS = ("nmis", "smis", "inst_mismatches")

# Fields an `ok` result must have for the tools to use it, per family. Skipped and failed
# records need none of them (the contract's skip example carries only name/group/status/reason).
_OK_REQUIRED = ("n", "q1", "median", "q3")
# Families that are not timed, and what their `ok` records carry instead of statistics.
_UNTIMED_REQUIRED: dict[str, tuple[str, ...]] = {
    "probe": ("observed", "kept", "reads", "architecture", "verdict"),
}
_FAMILY_REQUIRED: dict[str, tuple[str, ...]] = {
    "tlb": ("flush", "pages", "global"),
    "crossing": ("kind", "direction", "pti"),
    "ipi": ("source", "target"),
    "shootdown": ("scheme", "pages", "stale_reads"),
}


def _json_type(value: Any) -> str:
    """The JSON name of a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _show(value: Any, limit: int = 40) -> str:
    """A value as it appeared in JSON, shortened for a one-line message."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (RecursionError, ValueError):  # nested deeper than json can write back
        return f"(a deeply nested {_json_type(value)})"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _too_big(value: Any) -> bool:
    """An integer beyond what a float holds (309+ digits): JSON allows it, nothing can use it."""
    return isinstance(value, int) and not isinstance(value, bool) and \
        abs(value) > sys.float_info.max


def _problem(value: Any, kind: str) -> str:
    """Why `value` does not fit `kind`, for a message."""
    if _too_big(value):
        return f"should be {_article(kind)} {kind}, got a number too large to use " \
               f"({len(str(abs(value)))} digits)"
    return f"should be {_article(kind)} {kind}, got {_json_type(value)} {_show(value)}"


def _article(kind: str) -> str:
    return "an" if kind[0] in "aeiou" else "a"


# Lone UTF-16 surrogates: JSON can spell them ("\ud800"), but they are not characters, and
# writing them as UTF-8 fails. Only a record whose text has such an escape can hold one.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _replace_surrogates(rec: dict[str, Any]) -> list[str]:
    """Replace lone surrogates by U+FFFD in every string and key of `rec`, in place (without
    recursion: the record may be nested deep); return the top-level fields that held one."""
    fields: set[str] = set()
    stack: list[tuple[Any, Optional[str]]] = [(rec, None)]
    while stack:
        obj, top = stack.pop()
        keys = list(obj) if isinstance(obj, dict) else range(len(obj))
        for k in keys:
            where = k if top is None else top
            v = obj[k]
            if isinstance(v, str) and _SURROGATE.search(v):
                obj[k] = _SURROGATE.sub("\ufffd", v)
                fields.add(_SURROGATE.sub("\ufffd", where))
            elif isinstance(v, (dict, list)):
                stack.append((v, where))
            if isinstance(k, str) and _SURROGATE.search(k):
                obj[_SURROGATE.sub("\ufffd", k)] = obj.pop(k)
                fields.add(_SURROGATE.sub("\ufffd", where))
    return sorted(fields)


def _coerce(value: Any, kind: str) -> tuple[bool, Any]:
    """(ok, value) when `value` fits `kind`; bool is never a number even though Python says so."""
    if kind == _STR:
        return isinstance(value, str), value
    if kind == _BOOL:
        return isinstance(value, bool), value
    if kind == _OBJ:
        return isinstance(value, dict), value
    if kind == _NUMS:
        if not isinstance(value, list):
            return False, None
        values = [_coerce(v, _NUM) for v in value]
        return (True, [v for _, v in values]) if all(ok for ok, _ in values) else (False, None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or _too_big(value):
        return False, None
    if isinstance(value, float) and not math.isfinite(value):
        return False, None
    if kind == _INT:
        if isinstance(value, float):
            return (value.is_integer(), int(value)) if value.is_integer() else (False, None)
        return True, value
    return True, float(value)


class _Reader:
    """State of one pass over one capture: the run being built and the diagnostics."""

    def __init__(self, path: str) -> None:
        self.cap = Capture(path=path)
        self.current: Optional[Run] = None  # the open run, if any

    # -- diagnostics

    def diag(self, line: int, message: str, severity: str = "warning") -> None:
        self.cap.diagnostics.append(Diagnostic(self.cap.path, line, message, severity))

    # -- lines and records

    def feed(self, text: str) -> None:
        self.cap.lines = line_count(text)
        for found in scan(text):
            self._found(found)
        self._close_at_eof()
        # Run closures are noticed late (at the next env); report in file order regardless.
        self.cap.diagnostics.sort(key=lambda d: d.line)

    def _found(self, found: Found) -> None:
        number = found.line
        if found.record is None:
            self.cap.damaged += 1
            if found.last:
                self.diag(number, f"truncated last line: the capture ends inside a PTIBENCH "
                          f"record ({found.error}); ignored", "error")
            else:
                self.diag(number, f"damaged PTIBENCH record ({found.error}); ignored", "error")
            return
        trailing = found.trailing.strip()
        if trailing:
            self.diag(number, f"text after the PTIBENCH record ({_show(trailing, 30)}) ignored")
        if not found.json_text.isascii():
            self.diag(number, "non-ASCII characters inside a PTIBENCH record (line noise?)")
        if _SURROGATE_ESCAPE.search(found.json_text):
            fields = _replace_surrogates(found.record)
            if fields:
                self.diag(number, "a lone UTF-16 surrogate (not a character) in "
                          + ", ".join(f"field {_show(f)}" for f in fields)
                          + "; replaced by U+FFFD")
        self._record(number, found.record)

    # -- validation

    def _clean(self, number: int, rec: dict[str, Any], spec: dict[str, str],
               what: str) -> dict[str, Any]:
        """The fields of `rec` that `spec` knows and that have the right type.

        Unknown fields are ignored silently (the contract allows later versions to add fields);
        wrong types are reported and dropped.
        """
        out: dict[str, Any] = {}
        for key, kind in spec.items():
            if key not in rec:
                continue
            ok, value = _coerce(rec[key], kind)
            if ok:
                out[key] = value
            else:
                self.diag(number, f"{what}: field \"{key}\" {_problem(rec[key], kind)}; treated "
                          "as missing")
        return out

    def _record(self, number: int, rec: dict[str, Any]) -> None:
        rtype = rec.get("type")
        if not isinstance(rtype, str):
            self.cap.damaged += 1
            self.diag(number, "PTIBENCH record without a \"type\" string; ignored", "error")
            return
        handler: Optional[Callable[[int, dict[str, Any]], bool]] = {
            "env": self._env, "result": self._result, "check": self._check,
            "fault": self._fault, "summary": self._summary,
        }.get(rtype)
        if handler is None:
            self.diag(number, f"unknown record type {_show(rtype)}; ignored (newer kernel?)")
            return
        if handler(number, rec):
            self.cap.records += 1
            if self.current is not None:
                self.current.last_line = number

    def _open_run(self, number: int, env: Optional[Env]) -> Run:
        run = Run(path=self.cap.path, index=len(self.cap.runs) + 1, first_line=number,
                  last_line=number, env=env)
        self.cap.runs.append(run)
        self.current = run
        return run

    def _run_for(self, number: int, what: str) -> Run:
        """The open run, or a new env-less one when the capture started mid-run."""
        if self.current is None:
            self.diag(number, f"{what} outside a run (no env record before it): kept in run "
                      f"{len(self.cap.runs) + 1}, which has no environment")
            return self._open_run(number, None)
        return self.current

    def _env(self, number: int, rec: dict[str, Any]) -> bool:
        f = self._clean(number, rec, _ENV_FIELDS, "env")
        env = Env(line=number)
        for key in ("version", "vendor", "family", "model", "stepping", "brand", "pmu_version",
                    "hypervisor", "hypervisor_vendor", "acpi_oem", "bare_metal", "tsc_source",
                    "timer", "memory_bytes", "cmdline", "boot", "suite"):
            setattr(env, key, f.get(key))
        hz = f.get("tsc_hz")
        if hz is not None and hz < 0:
            self.diag(number, f"env: negative tsc_hz {hz}; treated as unknown")
            hz = None
        env.tsc_hz = int(hz) if hz is not None and float(hz).is_integer() else hz  # Hz: an integer
        env.features = self._typed_map(number, f.get("features", {}), _BOOL, "env.features")
        env.params = self._typed_map(number, f.get("params", {}), _INT, "env.params")
        if "pmu" in f:
            env.pmu = self._pmu(number, f["pmu"])
        if self.current is not None:
            self.diag(self.current.last_line, f"run {self.current.index} (from line "
                      f"{self.current.first_line}) has no summary: incomplete (cut off); "
                      f"the next run starts at line {number}")
        self._open_run(number, env)
        return True

    def _pmu(self, number: int, obj: dict[str, Any]) -> Pmu:
        """The env's `pmu` object: every field type-checked, its maps entry by entry."""
        f = self._clean(number, obj, _PMU_FIELDS, "env.pmu")
        pmu = Pmu()
        for key in ("state", "reason", "version", "general", "general_width", "fixed",
                    "fixed_width", "event_table", "read_by", "aperf_mperf", "smi_count"):
            setattr(pmu, key, f.get(key))
        if pmu.state is not None and pmu.state not in _PMU_STATES:
            self.diag(number, f"env.pmu: state {_show(pmu.state)} is not one of "
                      f"{'/'.join(_PMU_STATES)}; shown as is")
        pmu.selftest = self._typed_map(number, f.get("selftest", {}), _INT, "env.pmu.selftest")
        pmu.missing = self._typed_map(number, f.get("missing", {}), _STR, "env.pmu.missing")
        if "crossings" in f:
            x = self._clean(number, f["crossings"], _PMU_CROSSINGS_FIELDS, "env.pmu.crossings")
            pmu.crossings_source, pmu.crossings_reason = x.get("source"), x.get("reason")
        for name, value in f.get("counters", {}).items():
            what = f"env.pmu.counters.{name}"
            if not isinstance(value, dict):
                self.diag(number, f"{what} {_problem(value, _OBJ)}; treated as missing")
                continue
            c = self._clean(number, value, _PMU_COUNTER_FIELDS, what)
            pmu.counters[name] = PmuCounter(**c)
        if pmu.counting and not pmu.counters:
            self.diag(number, "env.pmu: state counting but no usable counters listed")
        return pmu

    def _typed_map(self, number: int, obj: dict[str, Any], kind: str, what: str) -> dict[str, Any]:
        """The entries of a JSON object whose values fit `kind`; the others reported."""
        out: dict[str, Any] = {}
        for key, value in obj.items():
            ok, v = _coerce(value, kind)
            if ok:
                out[key] = v
            else:
                self.diag(number, f"{what}: \"{key}\" {_problem(value, kind)}; treated as "
                          "missing")
        return out

    def _is_counter(self, key: str) -> bool:
        """A result field that is a performance counter: a known name, a raw event, or one the
        run's env lists in pmu.counters (a newer kernel's)."""
        if key in COUNTER_FIELDS or is_raw_event(key):
            return True
        run = self.current
        pmu = run.env.pmu if run is not None and run.env is not None else None
        return pmu is not None and key in pmu.counters

    def _counters(self, number: int, rec: dict[str, Any], r: Result, label: str) -> None:
        """Read the counter objects of a result into r.counters, one diagnostic per problem;
        a counter without a usable median is dropped, a bad quartile costs only itself."""
        for key, value in rec.items():
            if key in _NOT_COUNTERS or not self._is_counter(key):
                continue
            if not isinstance(value, dict):
                self.diag(number, f"{label}: field \"{key}\" should be an object "
                          f"{{median, q1, q3, min, max}}, got {_json_type(value)} "
                          f"{_show(value)}; treated as missing")
                continue
            stats = self._clean(number, value, _COUNTER_STATS, f"{label}: counter {_show(key)}")
            if "median" not in stats:
                self.diag(number, f"{label}: counter {_show(key)} has no usable median; "
                          "treated as missing")
                continue
            if r.status != "ok":
                self.diag(number, f"{label}: counter {_show(key)} on a {r.status} record; "
                          "ignored")
                continue
            c = CounterStats(**stats)
            chain = [v for v in (c.min, c.q1, c.median, c.q3, c.max) if v is not None]
            if any(a > b for a, b in zip(chain, chain[1:])):
                self.diag(number, f"{label}: counter {_show(key)}: statistics out of order "
                          "(expected min <= q1 <= median <= q3 <= max)")
            # A refill pass minus the warm pass can legitimately go below zero (the warm pass
            # hits the STLB more often: stlb_hits); a loop's 2U minus U run counts events of
            # the operation itself, so a negative median there means noise won or damage.
            if c.median < 0 and r.family != "tlb":
                self.diag(number, f"{label}: counter {_show(key)} has a negative median "
                          f"{c.median:g} per operation (a count: the 2U minus U difference "
                          "ran backwards, or the record is damaged); shown as is")
            r.counters[key] = c
        run = self.current
        pmu = run.env.pmu if run is not None and run.env is not None else None
        if r.counters and pmu is not None and not pmu.counting:
            self.diag(number, f"{label}: carries counters although the env's pmu.state is "
                      f"{_show(pmu.state)}")

    def _counter_checks(self, number: int, r: Result, label: str) -> None:
        """aperf_mperf and smis must be positive / non-negative; inst_mismatch must be what
        inst_retired and instructions say (the kernel rounds both to three decimals)."""
        if r.aperf_mperf is not None and r.aperf_mperf <= 0:
            self.diag(number, f"{label}: aperf_mperf {r.aperf_mperf:g} is not a positive ratio; "
                      "treated as missing")
            r.aperf_mperf = None
        if r.smis is not None and r.smis < 0:
            self.diag(number, f"{label}: smis {r.smis} is negative; treated as missing")
            r.smis = None
        inst = r.counters.get("inst_retired")
        declared = r.declared_for_counters()
        if inst is None or declared is None:
            return
        diff = inst.median - declared
        if r.inst_mismatch is None and abs(diff) >= 0.001:
            self.diag(number, f"{label}: inst_retired {inst.median:.3f} differs from the "
                      f"declared {declared} instructions, but the record has no "
                      "inst_mismatch")
        elif r.inst_mismatch is not None and abs(r.inst_mismatch - diff) > 0.0015:
            self.diag(number, f"{label}: inst_mismatch {r.inst_mismatch:.3f} is not inst_retired "
                      f"{inst.median:.3f} minus the declared {declared}")

    def _result(self, number: int, rec: dict[str, Any]) -> bool:
        name = rec.get("name")
        label = f"result {_show(name)}" if isinstance(name, str) else "result"
        f = self._clean(number, rec, _RESULT_FIELDS, label)
        if "name" not in f or not f["name"]:
            self.diag(number, "result without a name; ignored", "error")
            return False
        status = f.get("status")
        if status not in RESULT_STATUSES:
            shown = _show(rec.get("status")) if "status" in rec else "missing"
            self.diag(number, f"{label}: status {shown} is not one of ok/skip/fail; ignored",
                      "error")
            return False
        r = Result(line=number, name=f["name"], status=status)
        for key, value in f.items():
            if key in ("name", "status"):
                continue
            setattr(r, "global_" if key == "global" else key, value)
        self._counters(number, rec, r, label)
        self._counter_checks(number, r, label)
        if r.direction is not None and r.direction not in ("u2k", "k2u"):
            self.diag(number, f"{label}: direction {_show(r.direction)} is not u2k/k2u; "
                      "treated as missing")
            r.direction = None
        if r.unit is not None and r.unit != "tsc":
            self.diag(number, f"{label}: unit {_show(r.unit)} is not \"tsc\"; shown as is")
        if status == "ok":
            missing = [k for k in _UNTIMED_REQUIRED.get(r.family, _OK_REQUIRED)
                       if getattr(r, k) is None]
            missing += [k for k in _FAMILY_REQUIRED.get(r.family, ())
                        if getattr(r, "global_" if k == "global" else k) is None]
            if missing:
                self.diag(number, f"{label}: ok but without usable {', '.join(missing)}")
            if r.samples is not None and r.n is not None and len(r.samples) != r.n:
                self.diag(number, f"{label}: {len(r.samples)} samples but n is {r.n}")
            chain = [r.min, r.q1, r.median, r.q3, r.max]
            known = [v for v in chain if v is not None]
            if any(a > b for a, b in zip(known, known[1:])):
                self.diag(number, f"{label}: statistics out of order "
                          "(expected min <= q1 <= median <= q3 <= max)")
        elif not r.reason:
            self.diag(number, f"{label}: status {status} without a reason")
        run = self._run_for(number, label)
        if r.name in run.results:
            first = run.results[r.name].line
            self.diag(number, f"{label} repeats line {first} in the same run; the first is kept")
            return False
        run.results[r.name] = r
        return True

    def _check(self, number: int, rec: dict[str, Any]) -> bool:
        f = self._clean(number, rec, _CHECK_FIELDS, "check")
        status = f.get("status")
        if status not in ("ok", "fail"):
            self.diag(number, f"check {_show(f.get('name'))}: status "
                      f"{_show(rec.get('status'))} is not ok/fail")
            status = None
        run = self._run_for(number, "check")
        run.checks.append(Check(line=number, name=f.get("name"), status=status,
                                detail=f.get("detail")))
        return True

    def _fault(self, number: int, rec: dict[str, Any]) -> bool:
        f = self._clean(number, rec, _FAULT_FIELDS, "fault")
        run = self._run_for(number, "fault")
        run.faults.append(Fault(line=number, vector=f.get("vector"), mnemonic=f.get("mnemonic"),
                                error_code=f.get("error_code"), rip=f.get("rip"),
                                cr2=f.get("cr2"), phase=f.get("phase"), ring=f.get("ring"),
                                pti=f.get("pti")))
        return True

    def _summary(self, number: int, rec: dict[str, Any]) -> bool:
        f = self._clean(number, rec, _SUMMARY_FIELDS, "summary")
        run = self.current
        if run is None:
            self.diag(number, "summary outside a run (no env or results before it); ignored")
            return False
        status = f.get("status")
        if status is not None and status not in ("pass", "fail"):
            self.diag(number, f"summary: status {_show(status)} is not pass/fail")
            status = None
        for key in _COUNTS:
            if key in f and f[key] < 0:
                self.diag(number, f"summary: {key} {f[key]} is negative; treated as missing")
                del f[key]
        run.summary = Summary(line=number, ok=f.get("ok"), skipped=f.get("skipped"),
                              failed=f.get("failed"), checks_failed=f.get("checks_failed"),
                              status=status, nmis=f.get("nmis"), smis=f.get("smis"),
                              inst_mismatches=f.get("inst_mismatches"))
        # ok and skip always come with a result record; "failed" also counts fatal errors that
        # end the run without one (kernel/run.cpp fail()), so only more fail records than the
        # summary admits is suspicious.
        counted = run.counts()
        said = {"ok": run.summary.ok, "skip": run.summary.skipped, "fail": run.summary.failed}
        off = [f"{k} {said[k]} vs {counted[k]} read" for k in said
               if said[k] is not None and (said[k] < counted[k] if k == "fail"
                                           else said[k] != counted[k])]
        flagged = sum(1 for r in run.results.values() if r.inst_mismatch is not None)
        if run.summary.inst_mismatches is not None and run.summary.inst_mismatches != flagged:
            off.append(f"inst_mismatches {run.summary.inst_mismatches} vs {flagged} read")
        if off:
            self.diag(number, f"summary of run {run.index} disagrees with the results read "
                      f"({'; '.join(off)}): records lost or damaged?")
        run.last_line = number
        self.current = None
        return True

    def _close_at_eof(self) -> None:
        run = self.current
        if run is not None and run.env is not None:
            self.diag(run.last_line, f"run {run.index} (from line {run.first_line}) has no "
                      "summary: incomplete (cut off) at the end of the capture")
        self.current = None


def parse_text(text: str, path: str = "<text>") -> Capture:
    """Parse a whole capture given as text. Never raises on bad content."""
    reader = _Reader(path)
    reader.feed(text)
    return reader.cap


def read_capture(path: str) -> Capture:
    """Read one log file ("-" is stdin). An unreadable file gives an empty capture + reason."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
            path = "<stdin>"
        else:
            with open(path, "rb") as fh:
                data = fh.read()
    except OSError as err:
        cap = Capture(path=path, read_error=err.strerror or str(err))
        cap.diagnostics.append(Diagnostic(path, 0, f"cannot read: {cap.read_error}", "error"))
        return cap
    return parse_text(decode(data), path)


def iter_records(cap: Capture) -> Iterator[Result]:
    """Every result of every run, in order (handy for generic checks)."""
    for run in cap.runs:
        yield from run.results.values()
