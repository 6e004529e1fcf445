"""Performance counters where the emulators cannot count (issue 10, items 1-6), and the
operations each record says may leave a guest (item 11).

Neither emulator here has a counting PMU: QEMU TCG's `max` CPU is an AMD family-0Fh part whose
four legacy counter MSRs accept their event selects and stay 0, and RDPMC is #UD there; Bochs'
Haswell advertises architectural perfmon version 3 with fixed counters, takes the MSR writes, and
its counters read 0 (RDPMC is #GP). Both must be detected as not counting, say why, and print no
counter fields; `pmu=off` must turn the detection off. The counting path itself is host-tested
against fake PMUs (tests/host/test_pmu.cpp). Three rows cover the three methods that read
counters around their runs: a ring-0 loop, a ring-3 loop and a refill pass. The one-way
crossings, which read them in counter passes of their own, are tested at the end through the
test-only sources of crossing_counters=.
"""
# ctest-timeout: 900

from bootlib import boot

ROWS = "bench=cr4.read,syscall.bare,tlb.refill.cr3.1"
COUNTER_FIELDS = ("cycles", "ref_cycles", "inst_retired", "dtlb_walks", "itlb_walks",
                  "stlb_hits", "inst_mismatch", "aperf_mperf")


def run(name, *args, cmdline=ROWS):
    r = boot(name, "--entry", "quick", "--cmdline", cmdline, *args, timeout=400)
    assert r.returncode == 0, r.describe()
    return r


def assert_no_counter_fields(r):
    results = r.results()
    assert results, r.describe()
    for name, rec in results.items():
        assert rec["status"] == "ok", rec
        present = [f for f in COUNTER_FIELDS if f in rec]
        assert not present, (name, present)
    assert "inst_mismatches" not in r.summary(), r.summary()


def test_qemu_counters_accept_their_msrs_but_do_not_count():
    r = run("pmu-tcg", "--accel", "tcg")
    pmu = r.env()["pmu"]
    assert pmu["state"] == "not-counting", pmu
    assert "counted nothing" in pmu["reason"], pmu
    assert pmu["read_by"] == "rdmsr", pmu  # RDPMC raised #UD and was caught
    assert pmu["selftest"] == {"expected": 20000, "inst_retired": 0, "cycles": 0,
                               "ref_cycles": 0}, pmu
    assert "counters" not in pmu, pmu
    assert_no_counter_fields(r)
    # TCG sets the hypervisor bit: each record names what would leave a guest (issue 10, item 11).
    exits = {name: rec["guest_exits"] for name, rec in r.results().items()}
    assert exits == {"cr4.read": "", "syscall.bare": "", "tlb.refill.cr3.1": "cr3"}, exits


def test_pmu_off_skips_detection():
    r = run("pmu-off", "--accel", "tcg",
            cmdline=ROWS + ",crossing.syscall.u2k pmu=off crossing_counters=off")
    pmu = r.env()["pmu"]
    assert pmu["state"] == "off" and pmu["reason"] == "pmu=off", pmu
    assert "selftest" not in pmu, pmu
    assert pmu["crossings"] == {"source": "none", "reason": "crossing_counters=off"}, pmu
    assert_no_counter_fields(r)
    # Nothing counts, so the records need not say why the crossing has no counters.
    assert "no_counters" not in r.results()["crossing.syscall.u2k"], r.results()


def test_an_unknown_pmu_entry_is_named_and_the_run_goes_on():
    r = run("pmu-bogus", "--accel", "tcg", cmdline=ROWS + " pmu=bogus")
    pmu = r.env()["pmu"]
    assert pmu["state"] == "absent", pmu
    assert "selected no counter" in pmu["reason"], pmu
    assert "names no counter" in pmu["missing"]["bogus"], pmu
    assert any(line.startswith("pmu: no bogus: ") for line in r.lines()), r.describe()
    assert_no_counter_fields(r)


def test_bochs_advertises_a_pmu_that_does_not_count():
    r = run("pmu-bochs", "--bochs")
    pmu = r.env()["pmu"]
    assert pmu["version"] == 3 and pmu["fixed"] == 3 and pmu["general"] == 4, pmu
    assert pmu["event_table"] == "haswell", pmu  # the model's TLB events were found
    assert pmu["state"] == "not-counting", pmu
    assert pmu["selftest"]["inst_retired"] == 0 and pmu["selftest"]["expected"] == 20000, pmu
    assert_no_counter_fields(r)
    assert not any("guest_exits" in rec for rec in r.results().values())  # no hypervisor bit
    # Bochs has MSR_SMI_COUNT (0): every variant reports it, and the summary adds them up.
    assert pmu["smi_count"] is True, pmu
    assert all(rec["smis"] == 0 for rec in r.results().values())
    assert r.summary()["smis"] == 0


# ---- the one-way crossings' counter passes (docs/method.md, "Counters of the one-way crossings")
# Neither emulator counts, so the real pass (RDPMC) cannot run here. The test-only fake
# crossing_counters=fake-tsc runs the same counter-pass stubs and drivers with RDTSC in place of
# RDPMC; under an instruction-counting TSC its "inst_retired" is the counter pass's instruction
# count, which must be exactly each row's declared `instructions` plus the counter stamps' two
# XCHGs (`counter_instructions`): a test of the passes, their arithmetic and the records.
CROSSINGS = "bench=crossing.* reps=3 warmup=1"
CROSSING_COUNTER_FIELDS = COUNTER_FIELDS + ("counter_source", "counter_instructions",
                                            "no_counters")
STATS = ("min", "q1", "median", "q3", "max")


def crossing_run(name, *args, fake=False):
    cmdline = CROSSINGS + (" crossing_counters=fake-tsc" if fake else "")
    return run(name, *args, cmdline=cmdline)


def crossings(r):
    recs = {n: x for n, x in r.results().items() if x["group"] == "crossing"}
    assert recs and all(n.startswith("crossing.") for n in r.results()), r.describe()
    return recs


def test_crossings_carry_no_counter_figures_where_the_pmu_does_not_count():
    r = crossing_run("pmu-crossings-det", "--deterministic")
    pmu = r.env()["pmu"]
    assert pmu["state"] == "not-counting", pmu
    assert pmu["crossings"] == {"source": "none",
                                "reason": "the counters do not count (pmu.state)"}, pmu
    recs = crossings(r)
    assert sum(x["status"] == "ok" for x in recs.values()) == 24, recs  # no PCID in TCG
    for name, rec in recs.items():
        present = [f for f in CROSSING_COUNTER_FIELDS if f in rec]
        assert not present, (name, present)
    assert "inst_mismatches" not in r.summary(), r.summary()
    assert not any("pmu: crossings:" in line for line in r.lines()), r.describe()


def assert_fake_counts_the_counter_pass_exactly(r, faulting_counts):
    pmu = r.env()["pmu"]
    # The fake is named as one and turns nothing else on: the PMU still does not count.
    assert pmu["state"] == "not-counting" and "counters" not in pmu, pmu
    assert pmu["crossings"]["source"] == "fake-tsc", pmu
    assert "not a counter" in pmu["crossings"]["reason"], pmu
    assert any(line.startswith("warning: pmu: crossings: fake-tsc") for line in r.lines())
    mismatches = 0
    for name, rec in crossings(r).items():
        if rec["status"] != "ok":
            assert rec["status"] == "skip" and ".pcid" in name, rec
            continue
        faulting = rec.get("faulting", 0) if faulting_counts else 0
        # The tick pass is as exact as ever ...
        assert all(rec[s] == rec["instructions"] + faulting for s in STATS), rec
        # ... and the counter pass reads its own declared count: the row's plus two XCHGs.
        assert rec["counter_source"] == "fake-tsc", rec
        assert rec["counter_instructions"] == rec["instructions"] + 2, rec
        inst = rec["inst_retired"]
        assert set(inst) == set(STATS), rec
        assert all(inst[s] == rec["counter_instructions"] + faulting for s in STATS), (name, inst)
        # Only the fake's one "counter"; a mismatch flagged exactly where Bochs' TSC counts the
        # faulting store (the counters would not: it does not retire).
        assert not [f for f in COUNTER_FIELDS if f in rec and f not in
                    ("inst_retired", "inst_mismatch")], rec
        if faulting:
            assert rec["inst_mismatch"] == faulting, rec
            mismatches += 1
        else:
            assert "inst_mismatch" not in rec, rec
        assert "no_counters" not in rec, rec
    assert r.summary()["inst_mismatches"] == mismatches, r.summary()
    return mismatches


def test_qemu_fake_counter_pass_reads_each_crossings_declared_count():
    r = crossing_run("pmu-crossings-fake-det", "--deterministic", fake=True)
    assert r.summary()["status"] == "pass", r.describe()
    assert assert_fake_counts_the_counter_pass_exactly(r, faulting_counts=False) == 0
    # The counter passes run after the tick pass and leave its figures as they were.
    plain = crossings(crossing_run("pmu-crossings-det", "--deterministic"))
    for name, rec in crossings(r).items():
        if rec["status"] == "ok":
            assert all(rec[s] == plain[name][s] for s in STATS + ("mean", "stddev")), name


def test_bochs_fake_counter_pass_reads_each_crossings_declared_count():
    r = crossing_run("pmu-crossings-fake-bochs", "--bochs", fake=True)
    assert all(x["status"] == "ok" for x in crossings(r).values()), r.describe()  # PCID too
    # crossing.pf.u2k in its five schemes: the faulting store, which Bochs' TSC counts.
    assert assert_fake_counts_the_counter_pass_exactly(r, faulting_counts=True) == 5


def assert_a_faulting_rdpmc_ends_the_pass_not_the_run(r, mnemonic):
    # crossing_counters=rdpmc-forced runs the real counter passes although the self-test failed:
    # RDPMC faults in ring 3 (CR4.PCE set), the pass ends, and every record says why.
    assert r.summary()["status"] == "pass" and not r.faults(), r.describe()
    pmu = r.env()["pmu"]
    assert pmu["state"] == "not-counting", pmu
    assert pmu["crossings"]["source"] == "rdpmc" and "forced" in pmu["crossings"]["reason"], pmu
    assert any(line.startswith("warning: pmu: crossings: rdpmc") for line in r.lines())
    ran = [x for x in crossings(r).values() if x["status"] == "ok"]
    assert ran, r.describe()
    for rec in ran:
        assert rec["no_counters"] == f"RDPMC raised {mnemonic} in ring 3 in the counter pass" + (
            " (CR4.PCE set)" if mnemonic == "#GP" else ""), rec
        assert not [f for f in CROSSING_COUNTER_FIELDS if f in rec and f != "no_counters"], rec
        assert all(rec[s] == rec["instructions"] + rec.get("faulting", 0) * (mnemonic == "#GP")
                   for s in STATS), rec  # the tick pass unaffected (both deterministic here)


def test_qemu_rdpmc_fault_in_a_forced_counter_pass_is_reported_not_fatal():
    r = run("pmu-crossings-forced-det", "--deterministic",
            cmdline=CROSSINGS + " crossing_counters=rdpmc-forced")
    assert_a_faulting_rdpmc_ends_the_pass_not_the_run(r, "#UD")


def test_bochs_rdpmc_fault_in_a_forced_counter_pass_is_reported_not_fatal():
    r = run("pmu-crossings-forced-bochs", "--bochs",
            cmdline=CROSSINGS + " crossing_counters=rdpmc-forced")
    assert_a_faulting_rdpmc_ends_the_pass_not_the_run(r, "#GP")
