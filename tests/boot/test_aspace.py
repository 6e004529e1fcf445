"""The address-space switching lab (issue 11) in the emulators, against the host model.

build/tests/aspace_predictions runs the lab's policies (bench/asid_policy.h) on the host's
PCID-tagged TLB model (tests/aspace_model.h) for the same command-line options and prints every
aspace row's decision counts; each boot must report exactly those, with 0 stale reads:
Bochs Haswell (PCID and INVPCID: kernel flushes by INVPCID type 0 on each live kernel and user
PCID; the .noinvpcid rows take Linux's invalidate_other path on the same CPU), Bochs Sandy Bridge
(PCID without INVPCID: the invalidate_other path; the .noinvpcid rows skip), QEMU TCG (no PCID:
nopcid runs, the others skip with the reason). A second Sandy Bridge boot prints byte-identical
aspace records (the TSC counts instructions there). Under that TSC every slice is exact: each
piece of every slice (flush, switch, the ring-3 part) reads the instruction count the kernel
declared for the path its decision took (bench/aspace_paths.h), so tick_mismatches is 0 and the
medians equal the declared ones, for every policy; Kk pages per call add calls * Kk * 4
instructions, global or not. The selection is lean: P = 2, 4, 8 (8 > 6 slots thrash), slots 1,
2, 6, a kernel flush every 3 slices, 5 measured slices a row.
"""
# ctest-timeout: 900

import json
import os
import subprocess
from pathlib import Path

import pytest

from bootlib import ROOT, boot

LAB = {"aspace_p": "2,4,8", "aspace_slots": "1,2,6", "aspace_kk": "4", "aspace_footprint": "0,4",
       "aspace_w": "4", "aspace_k": "2", "aspace_m": "3", "reps": "5"}
CMDLINE = "bench=aspace.* " + " ".join(f"{k}={v}" for k, v in LAB.items())
STATS = ("min", "q1", "median", "q3", "max")
# bench/aspace.asm's stage 2 reads one kernel page in 4 instructions (mov, add, dec, jnz).
TOUCH_PER_KERNEL_PAGE = 4
COUNTS = ("switches", "asid_hits", "asid_misses", "flushes", "user_flushes", "skipped_cr3",
          "kernel_flushes", "invpcids", "invalidate_others", "stale_reads")


def predictions() -> dict:
    tool = os.environ.get("PTIBENCH_ASPACE_PREDICTIONS") or str(
        ROOT / "build" / "tests" / "aspace_predictions")
    if not Path(tool).exists():
        pytest.fail(f"no prediction tool at {tool} (build the host tests first)", pytrace=False)
    out = subprocess.run([tool, *(f"{k}={v}" for k, v in LAB.items())], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def bochs(model, *extra):
    return boot(f"aspace-bochs-{model}{'-again' if extra else ''}", "--bochs", model,
                "--cmdline", CMDLINE, *extra, timeout=600)


def lab_records(run):
    return {n: r for n, r in run.results().items() if r.get("group") == "aspace"}


def exactness_errors(name, r):
    """Under an instruction-counting TSC: every slice's pieces read their declared counts."""
    wrong = []
    if r["tick_mismatches"] != 0:
        wrong.append(f"{name}: {r['tick_mismatches']} slices off their declared counts")
    pairs = [("median", "slice_instructions"), ("switch_median", "switch_instructions")]
    if r.get("flush_n"):
        pairs.append(("flush_median", "flush_instructions"))
    for ticks, declared in pairs:
        if r[ticks] != r[declared]:
            wrong.append(f"{name}: {ticks} {r[ticks]}, {declared} {r[declared]}")
    # The switch writes CR3 or not: two stamps' share and the JE (9), or the write (12).
    if r["switch_instructions"] not in (9, 12):
        wrong.append(f"{name}: switch_instructions {r['switch_instructions']}")
    return wrong


def assert_as_predicted(run, want, invpcid):
    assert run.returncode == 0, run.describe()
    assert run.summary()["status"] == "pass", run.describe()
    got = lab_records(run)
    assert set(got) == set(want), set(got) ^ set(want)
    wrong = []
    for name, p in want.items():
        r = got[name]
        noinvpcid = name.endswith(".noinvpcid")
        if noinvpcid and not invpcid:
            # Only where INVPCID exists: here the main rows already take that path.
            if r["status"] != "skip" or "invpcid" not in r["reason"].lower():
                wrong.append(f"{name}: {r['status']} {r.get('reason')}")
            continue
        if r["status"] != "ok":
            wrong.append(f"{name}: {r['status']} {r.get('reason')}")
            continue
        actual = {k: r.get(k) for k in COUNTS}
        if actual != p:
            wrong.append(f"{name}: {actual}, expected {p}")
        if r["invpcid"] != (invpcid and not noinvpcid):
            wrong.append(f"{name}: invpcid {r['invpcid']}, expected {invpcid}")
        if r["n"] != int(LAB["reps"]) or r["slices"] != r["processes"] + int(LAB["reps"]):
            wrong.append(f"{name}: n {r['n']}, slices {r['slices']}")
        wrong += exactness_errors(name, r)
    assert not wrong, "\n".join(wrong)
    return got


def assert_footprint_exact(got):
    """Under an instruction-counting TSC the footprint rows of one policy run the same slices on
    the same decisions; Kk kernel pages per call add exactly calls * Kk * 4 instructions to every
    statistic, and global pages cost what non-global ones do (no TLB cost is emulated)."""
    calls = int(LAB["aspace_k"])
    base = {(r["policy"], r.get("slots"), r["global"]): r for r in got.values()
            if r["kernel_pages"] == 0 and r["status"] == "ok"}
    assert base, got.keys()
    checked = 0
    for r in got.values():
        b = base.get((r["policy"], r.get("slots"), r["global"]))
        if b is None or r["status"] != "ok" or r["schedule"] != "rr" or \
                r["processes"] != b["processes"] or r["name"].endswith(".noinvpcid"):
            continue
        extra = calls * r["kernel_pages"] * TOUCH_PER_KERNEL_PAGE
        assert all(r[s] == b[s] + extra for s in STATS), (r, b, extra)
        other = got.get(r["name"][:-len(".global")] if r["global"] else r["name"] + ".global")
        if other is not None and other["status"] == "ok":
            assert all(other[s] == r[s] for s in STATS), (r, other)
        checked += 1
    assert checked >= 4, checked


def test_haswell_every_policy_as_the_model_predicts_with_invpcid():
    got = assert_as_predicted(bochs("corei7_haswell_4770"), predictions()["invpcid"], True)
    # The flushes went through INVPCID, and 6 slots thrash with 8 processes in round-robin.
    main = {n: r for n, r in got.items() if not n.endswith(".noinvpcid")}
    assert any(r["invpcids"] > 0 for r in main.values())
    assert all(r["invalidate_others"] == 0 for r in main.values())
    # The same CPU without INVPCID (Linux's invalidate_other): no INVPCID, a shorter flush
    # (one INVLPG: 7 + 10), beside its twin's INVPCIDs on every live kernel and user PCID (two a
    # slot, four instructions each).
    twins = [(n, n[:-len(".noinvpcid")]) for n in got if n.endswith(".noinvpcid")]
    assert len(twins) == 3, twins
    for n, twin in twins:
        r, t = got[n], got[twin]
        assert r["invpcids"] == 0 and r["invalidate_others"] == r["kernel_flushes"] > 0, r
        assert t["invpcids"] > 0 and t["invpcids"] % 2 == 0 and t["invalidate_others"] == 0, t
        assert r["flush_instructions"] == 17, r
        assert t["flush_instructions"] > r["flush_instructions"], (t, r)
    rr8 = got["aspace.linux.6.rr.p8.kk4"]
    assert rr8["asid_hits"] == 0 and rr8["asid_misses"] == rr8["switches"], rr8
    assert got["aspace.linux.6.rr.p4.kk4"]["asid_misses"] == 4
    assert_footprint_exact(got)


def test_sandy_bridge_every_policy_as_the_model_predicts_without_invpcid():
    got = assert_as_predicted(bochs("corei7_sandy_bridge_2600k"), predictions()["noinvpcid"],
                              False)
    ran = [r for r in got.values() if r["status"] == "ok"]
    assert all(r["invpcids"] == 0 for r in ran)
    assert any(r["invalidate_others"] > 0 for r in ran)
    assert_footprint_exact(got)


def test_sandy_bridge_runs_are_byte_identical():
    def lines(run):
        assert run.returncode == 0, run.describe()
        return [line for line in run.lines() if '"group":"aspace"' in line]
    first = lines(bochs("corei7_sandy_bridge_2600k"))
    # Different emulator arguments (the default memory size spelled out): a second real boot.
    second = lines(bochs("corei7_sandy_bridge_2600k", "--mem", "256M"))
    assert first and first == second


def test_qemu_runs_nopcid_and_skips_the_rest_with_the_reason():
    run = boot("aspace-qemu-det", "--deterministic", "--cmdline", CMDLINE, timeout=600)
    assert run.returncode == 0, run.describe()
    want = predictions()["noinvpcid"]
    got = lab_records(run)
    assert set(got) == set(want), set(got) ^ set(want)
    for name, r in got.items():
        if r["policy"] == "nopcid":
            assert r["status"] == "ok", r
            assert {k: r[k] for k in COUNTS} == want[name], name
            assert r["asid_hits"] == 0 and r["flushes"] == r["switches"], r
            assert not exactness_errors(name, r), exactness_errors(name, r)
        else:
            assert r["status"] == "skip" and "pcid" in r["reason"].lower(), r
    assert_footprint_exact(got)


def test_a_stale_read_fails_the_record_with_its_details():
    # aspace_broken=global maps the working sets global: Bochs keeps global translations across
    # CR3 writes, so the next process reads the previous one's frames through them. The magic
    # check must see it, whatever the policy, and say where.
    run = boot("aspace-bochs-broken", "--bochs", "corei7_haswell_4770", "--cmdline",
               "bench=aspace.nopcid.rr.p2.kk0,aspace.linux.6.rr.p2.kk0 aspace_broken=global "
               "aspace_p=2 aspace_slots=6 aspace_footprint=0 reps=3", timeout=600)
    assert run.summary() and run.summary()["status"] == "fail", run.describe()
    got = lab_records(run)
    assert set(got) == {"aspace.nopcid.rr.p2.kk0", "aspace.linux.6.rr.p2.kk0"}, got.keys()
    for name, r in got.items():
        assert r["status"] == "fail" and r["stale_reads"] > 0, r
        assert r["reason"].startswith(f"stale read ({r['stale_reads']}): {name}, process "), r
        assert "expected 0x41535" in r["reason"], r
