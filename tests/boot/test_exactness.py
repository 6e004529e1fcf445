"""The harness is exact and deterministic where the TSC counts instructions.

Under QEMU `-icount shift=0,sleep=off` and under Bochs, the TSC advances by one per instruction,
so every variant must read exactly the instructions on its measured path (the `instructions`
field of its record, counted from the assembly), with zero spread; two runs must print
byte-identical result records. Bochs (Haswell) has PCID and INVPCID, so there every variant runs;
QEMU has neither, so those variants must skip with a reason.
"""

from bootlib import boot

PCID_NAMES = ("cr3.write.pcid.flush", "cr3.write.pcid.noflush", "cr3.switch.pcid.flush",
              "cr3.switch.pcid.noflush", "invpcid.addr", "invpcid.single", "invpcid.all",
              "invpcid.allnonglobal", "syscall.pti.pcid", "syscall.pti.pcid.flush",
              "syscall.pti.pcid.extra1", "syscall.pti.pcid.extra2")
STATS = ("min", "q1", "median", "mean", "q3", "max")


def qemu_det(name="qemu-det"):
    return boot(name, "--deterministic", timeout=900)


def bochs():
    return boot("bochs-haswell-full", "--bochs", "corei7_haswell_4770", timeout=1200)


def result_lines(run):
    return [line for line in run.lines() if '"type":"result"' in line]


def assert_exact(run, faulting_counts):
    results = run.results()
    assert results, run.describe()
    wrong = []
    for name, r in results.items():
        if r["status"] != "ok":
            continue
        if r.get("group") == "probe":
            # TLB semantics probes are not timed: their records carry no statistics at all.
            assert not any(s in r for s in STATS + ("instructions",)), r
            continue
        if r.get("group") == "aspace":
            # The address-space lab's slices take paths of several lengths: each slice declares
            # its own count from its decisions, and no slice may read anything else
            # (tests/boot/test_aspace.py checks the medians, decision counts and determinism).
            assert "instructions" not in r, r
            if r["tick_mismatches"] != 0 or r["median"] != r["slice_instructions"]:
                wrong.append(f"{name}: {r['tick_mismatches']} slices off their declared counts, "
                             f"median {r['median']}, declared {r['slice_instructions']}")
            continue
        expected = r["instructions"] + (r.get("faulting", 0) if faulting_counts else 0)
        if any(r[s] != expected for s in STATS) or r["stddev"] != 0:
            wrong.append(f"{name}: expected {expected}, got " +
                         ", ".join(f"{s}={r[s]}" for s in STATS + ("stddev",)))
    assert not wrong, "not exact:\n" + "\n".join(wrong)


def test_qemu_deterministic_run_passes():
    run = qemu_det()
    assert run.returncode == 0, run.describe()
    assert run.summary()["status"] == "pass"
    assert all(c["status"] == "ok" for c in run.checks().values()), run.checks()


def test_qemu_deterministic_every_variant_reads_its_instruction_count():
    # QEMU's icount does not count an instruction that faults instead of retiring.
    assert_exact(qemu_det(), faulting_counts=False)


def test_qemu_deterministic_primitives_read_one_per_operation():
    r = qemu_det().results()
    for name in ("cr3.read", "cr3.write.nopcid", "cr3.switch.nopcid", "invlpg", "invlpg.unmapped"):
        assert r[name]["status"] == "ok" and r[name]["median"] == 1.0 and r[name]["stddev"] == 0, r[name]
    assert r["cr4.pge.toggle"]["median"] == 2.0


def test_qemu_without_pcid_skips_pcid_variants_with_a_reason():
    run = qemu_det()
    assert run.env()["features"]["pcid"] is False
    r = run.results()
    for name in PCID_NAMES:
        assert r[name]["status"] == "skip", r[name]
        assert "pcid" in r[name]["reason"].lower(), r[name]
    refill = [n for n in r if n.startswith("tlb.refill.") and (".cr3.noflush." in n or ".invpcid.single." in n)]
    assert refill and all(r[n]["status"] == "skip" for n in refill)


def test_qemu_refill_curves_are_exactly_zero():
    # Emulators charge nothing for a TLB miss, and the touched instructions are identical; so
    # for the pointer chase, which follows the same pages.
    r = qemu_det().results()
    for prefix, access in (("tlb.refill.", "independent"), ("tlb.chase.", "chase")):
        curve = [x for n, x in r.items() if n.startswith(prefix) and x["status"] == "ok"]
        assert len(curve) >= 30, prefix
        assert all(x["median"] == 0 and x["min"] == 0 and x["max"] == 0 for x in curve)
        assert {x["pages"] for x in curve} >= {1, 2, 1024}
        assert all(x["access"] == access for x in curve), prefix


def test_bochs_pti_rows_map_as_current_linux_and_their_415_twins_as_linux_415():
    # Every PTI row has a .415 twin: the same path (same count), nothing global; the records say
    # what each maps global, and the self-test read each mapping back from the tables.
    run = bochs()
    r = run.results()
    assert run.checks()["pti.globals"]["status"] == "ok", run.checks()["pti.globals"]
    twins = {n: x for n, x in r.items() if ".415" in n}
    assert len(twins) == 24, sorted(twins)
    for name, twin in twins.items():
        row = r[name.replace(".415", "")]
        assert twin["status"] == row["status"] == "ok", (twin, row)
        assert twin["median"] == row["median"] and twin["instructions"] == row["instructions"]
        assert twin["pti_globals"] == "none", twin
        assert row["pti_globals"] == ("entry" if row["pcid"] else "entry+text"), row
    pti, pcid = r["fault.pf.pti"], r["fault.pf.pti.pcid"]
    assert pcid["instructions"] - pti["instructions"] == 7  # only the CR3 switch differs


def test_bochs_pure_twins_read_their_rows_count_and_refill_nothing():
    # Bochs keeps global translations across these flushes, and a refill retires nothing: the
    # twin and its row read the same; the records say what each refills.
    r = bochs().results()
    twins = {n[: -len(".pure")]: x for n, x in r.items() if n.endswith(".pure")}
    assert set(twins) == {"cr3.write.nopcid", "cr3.write.pcid.flush", "cr3.switch.nopcid",
                          "cr3.switch.pcid.flush", "invpcid.single", "invpcid.allnonglobal"}
    for name, twin in twins.items():
        row = r[name]
        assert twin["status"] == row["status"] == "ok", (twin, row)
        assert twin["median"] == row["median"] == row["instructions"], (twin, row)
        assert twin["refills"] == "none" and row["refills"] != "none", (twin, row)
    assert r["invpcid.all"]["refills"] == "code+descriptor"
    assert r["cr4.pge.toggle"]["refills"] == "code" and r["cr3.read"]["refills"] == "none"


def test_two_deterministic_runs_print_identical_result_records():
    first, second = qemu_det("qemu-det-a"), qemu_det("qemu-det-b")
    a, b = result_lines(first), result_lines(second)
    assert len(a) > 100
    assert a == b, "result records differ between two deterministic runs"


SMP_GROUPS = ("ipi", "shootdown")  # need a second CPU: tests/boot/test_smp.py runs them


def test_bochs_haswell_runs_every_variant():
    run = bochs()
    assert run.returncode == 0, run.describe()
    r = run.results()
    not_ok = {n: x for n, x in r.items() if x["status"] != "ok" and x.get("group") not in SMP_GROUPS}
    assert not not_ok, not_ok
    smp = [x for x in r.values() if x.get("group") in SMP_GROUPS]
    assert smp and all(x["status"] == "skip" for x in smp), smp
    for name in PCID_NAMES:
        assert name in r


def test_bochs_haswell_every_variant_reads_its_instruction_count():
    # Bochs advances its TSC for the faulting store too.
    assert_exact(bochs(), faulting_counts=True)


def test_pti_pcid_extra_cr3_writes_cost_exactly_one_instruction_each():
    r = bochs().results()
    pcid, one, two = (r[n]["median"] for n in ("syscall.pti.pcid", "syscall.pti.pcid.extra1",
                                                "syscall.pti.pcid.extra2"))
    assert one - pcid == 1 and two - one == 1, (pcid, one, two)
    for n in ("syscall.pti.pcid", "syscall.pti.pcid.extra1", "syscall.pti.pcid.extra2"):
        assert r[n]["stddev"] == 0


def test_syscall_paths_order_as_their_instructions():
    # More work on the path must read more: direct < trampoline < pti < pti.pcid.
    r = bochs().results()
    seq = [r[n]["median"] for n in ("syscall.direct", "syscall.trampoline", "syscall.pti", "syscall.pti.pcid")]
    assert seq == sorted(seq) and len(set(seq)) == 4, seq


def test_qemu_tcg_max_full_suite_has_no_failure():
    run = boot("qemu-tcg-max-full", "--accel", "tcg", "--cpu", "max", timeout=900)
    assert run.returncode == 0, run.describe()
    s = run.summary()
    assert s["failed"] == 0 and s["checks_failed"] == 0 and s["ok"] > 50, s
