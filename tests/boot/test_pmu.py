"""Performance counters where the emulators cannot count (issue 10, items 1-6), and the
operations each record says may leave a guest (item 11).

Neither emulator here has a counting PMU: QEMU TCG's `max` CPU is an AMD family-0Fh part whose
four legacy counter MSRs accept their event selects and stay 0, and RDPMC is #UD there; Bochs'
Haswell advertises architectural perfmon version 3 with fixed counters, takes the MSR writes, and
its counters read 0 (RDPMC is #GP). Both must be detected as not counting, say why, and print no
counter fields; `pmu=off` must turn the detection off. The counting path itself is host-tested
against fake PMUs (tests/host/test_pmu.cpp). Three rows cover the three methods that read
counters: a ring-0 loop, a ring-3 loop and a refill pass.
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
    r = run("pmu-off", "--accel", "tcg", cmdline=ROWS + " pmu=off")
    pmu = r.env()["pmu"]
    assert pmu["state"] == "off" and pmu["reason"] == "pmu=off", pmu
    assert "selftest" not in pmu, pmu
    assert_no_counter_fields(r)


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
