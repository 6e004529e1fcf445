"""Every CPU up: the APs start (xAPIC and x2APIC, BIOS and UEFI, QEMU and Bochs), the IPI
round-trip matrix is complete, every shootdown row is ok with 0 stale reads (the PTI+PCID ones
with INVPCID under Bochs; the PTI ones with their targets' timed return to user space), the
INVLPGB rows skip with the reason (and, forced with invlpgb=force, their #UD becomes a skip), one
CPU skips them with the reason, a shootdown whose targets do not invalidate is caught, cpus=
limits the CPUs used, and the other CPUs, halted, change no single-CPU figure (exact under the
instruction-counting TSC). Each boot runs the SMP rows alone (and a few single-CPU ones), with
few repetitions."""

import re

from bootlib import boot

IPI = "bench=ipi.* reps=5 warmup=1"
SMP = "bench=ipi.*,shootdown.* reps=5 warmup=1"
NO_TCG_X2APIC = "TCG doesn't support requested feature: CPUID.01H:ECX.x2apic"


def ipi_rows(run):
    return {n: r for n, r in run.results().items() if r.get("group") == "ipi"}


def assert_matrix_complete(run, cpus, apic):
    assert run.returncode == 0, run.describe()
    assert run.summary()["status"] == "pass", run.describe()
    smp = run.env()["smp"]
    assert smp == {"found": cpus, "started": cpus, "used": cpus, "failed": 0, "apic": apic,
                   "invlpgb_max_pages": 0}, smp  # neither emulator has INVLPGB
    assert run.env()["features"]["invlpgb"] is False
    # Each AP's GDT, TSS, IST and entry stacks are in the PTI user tables (its NMI entry needs
    # them while it runs on the user CR3), its kernel stack is not: the self-test counts them.
    check = run.checks()["pti.user_tables"]
    assert check["status"] == "ok", check
    m = re.search(r"the APs' entry parts: (\d+)\)", check["detail"])
    assert m and int(m[1]) > 0 and int(m[1]) % (cpus - 1) == 0, check
    rows = ipi_rows(run)
    want = {f"ipi.{k}.{s}.{t}" for k in ("fixed", "poll")
            for s in range(cpus) for t in range(cpus) if s != t}
    assert set(rows) == want, sorted(set(rows) ^ want)
    for name, r in rows.items():
        assert r["status"] == "ok", r
        assert (r["source"], r["target"]) == tuple(int(x) for x in name.split(".")[2:]), r
        assert r["n"] == 5 and r["min"] > 0, r


def test_qemu_two_cpus_xapic_uefi():
    run = boot("smp2-xapic-uefi", "--smp", "2", "--uefi", "--cpu", "max,-x2apic", "--cmdline", IPI,
               timeout=300)
    assert_matrix_complete(run, 2, "xapic")


def shootdown_rows(run):
    return {n: r for n, r in run.results().items() if r.get("group") == "shootdown"}


SCHEMES = ("nopti", "pti.pcid", "pti", "invlpgb.pcid")
PAGES = (1, 8, 33, 64, 512)
# shootdown.invlpgb.* would match the invlpgb.pcid rows of every T too.
INVLPGB_ROWS = ",".join(f"shootdown.invlpgb.p{n}" for n in PAGES)


def assert_invlpgb_skipped(r, forced):
    """No INVLPGB here: skipped for CPUID, or, forced, for the #UD its first execution raised."""
    assert r["status"] == "skip", r
    if r["scheme"] == "invlpgb.pcid" and "pcid" in r["reason"]:
        return  # QEMU: the PCID check comes first
    if forced:
        assert r["reason"].startswith("INVLPGB raised #UD (RAX=0x"), r
        assert r["reason"].endswith("(CPUID.80000008H:EBX[3] clear; invlpgb=force)"), r
    else:
        assert r["reason"] == "CPU lacks INVLPGB (CPUID.80000008H:EBX[3])", r


def assert_shootdowns(run, targets, pcid, forced=False):
    """Every row of these target counts ran with 0 stale reads (PTI+PCID ones only where the
    CPU has PCID, INVPCID for the user PCID up to the ceiling); the PTI ones' targets returned to
    user space once per shootdown, timed, and read the pages there too; INVLPGB skips here."""
    rows = shootdown_rows(run)
    want = {f"shootdown.{s}.t{t}.p{n}" for s in SCHEMES for t in targets
            for n in PAGES} | {f"shootdown.invlpgb.p{n}" for n in PAGES}
    assert set(rows) == want, sorted(set(rows) ^ want)
    for name, r in rows.items():
        if r["scheme"].startswith("invlpgb"):
            assert_invlpgb_skipped(r, forced)
        elif r["scheme"] == "pti.pcid" and not pcid:
            assert r["status"] == "skip" and "pcid" in r["reason"].lower(), r
        else:
            assert r["status"] == "ok" and r["stale_reads"] == 0, r
            assert r["flush"] == ("invlpg" if r["pages"] <= 33 else "full"), r
            want_user = ("invpcid" if r["pages"] <= 33 else "lazy") if r["scheme"] == "pti.pcid" \
                else "none"
            assert r["user_pcid"] == want_user, r
            t = int(name.split(".t")[1].split(".")[0])
            assert r["targets"] == t, r
            if r["scheme"] == "nopti":
                assert "return_to_user_n" not in r and "user_stale_reads" not in r, r
                continue
            # One timed return per target and measured shootdown (more if one was repeated).
            assert r["user_stale_reads"] == 0, r
            assert r["return_to_user_n"] >= r["n"] * t, r
            assert 0 < r["return_to_user_q1"] <= r["return_to_user_median"] \
                <= r["return_to_user_q3"], r


def test_qemu_four_cpus_bios():
    run = boot("smp4-bios", "--smp", "4", "--cmdline", SMP, timeout=300)
    assert_matrix_complete(run, 4, "xapic")
    assert_shootdowns(run, (1, 2, 3), pcid=False)


def test_one_cpu_skips_the_ipi_rows_with_the_reason():
    run = boot("smp1", "--smp", "1", "--cmdline", SMP, timeout=300)
    assert run.returncode == 0 and run.summary()["status"] == "pass", run.describe()
    assert run.env()["smp"]["started"] == 1, run.env()["smp"]
    rows = ipi_rows(run)
    assert set(rows) == {"ipi.fixed.0.1", "ipi.fixed.1.0", "ipi.poll.0.1", "ipi.poll.1.0"}, rows
    for r in rows.values():
        assert r["status"] == "skip" and r["reason"].startswith("needs 2 CPUs; 1 used"), r
    rows = shootdown_rows(run)
    assert len(rows) == 25, sorted(rows)
    for r in rows.values():
        assert r["status"] == "skip", r
        reason = r["reason"]  # the features are checked first: QEMU has no PCID, no INVLPGB
        assert (reason.startswith("needs 2 CPUs; 1 used") or "INVLPGB" in reason
                or (r["scheme"] in ("pti.pcid", "invlpgb.pcid") and "pcid" in reason)), r


def test_a_target_that_does_not_invalidate_is_caught():
    # shootdown_targets=skip: the targets acknowledge and invalidate nothing, so their reads
    # after a shootdown see the old frame (QEMU's software TLB keeps it): the row fails with
    # the count and the first stale read, and the run fails. Under PTI without PCID the same
    # target's return to user space still sees the new frames: that CR3 write flushed them.
    run = boot("smp2-stale", "--smp", "2", "--cmdline",
               "bench=shootdown.nopti.t1.p8,shootdown.pti.t1.p8 reps=5 warmup=1 "
               "shootdown_targets=skip", timeout=300)
    assert run.returncode == 1 and run.summary()["status"] == "fail", run.describe()
    for name in ("shootdown.nopti.t1.p8", "shootdown.pti.t1.p8"):
        r = run.results()[name]
        assert r["status"] == "fail" and r["stale_reads"] > 0, r
        assert r["reason"].startswith(f"stale reads: {r['stale_reads']} (first: CPU 1 page "), r
    assert run.results()["shootdown.pti.t1.p8"]["user_stale_reads"] == 0


def test_a_stale_translation_in_the_user_half_is_caught():
    # shootdown_targets=skip-global: the targets invalidate nothing and the pages are global, so
    # under Bochs (which honours global pages) the old translations survive the target's CR3
    # writes: its return to user space reads the old frames through the user half, and those
    # reads are counted as such (user_stale_reads), on both PTI schemes: the check of the user
    # half can fail (with PCID too, where no emulator here keeps a NOFLUSH'd translation).
    run = boot("bochs-smp2-stale-user", "--bochs", "corei7_haswell_4770", "--smp", "2",
               "--cmdline", "bench=shootdown.pti.t1.p8,shootdown.pti.pcid.t1.p8 reps=3 warmup=1 "
               "shootdown_pages=8 shootdown_targets=skip-global", timeout=600)
    assert run.returncode == 1 and run.summary()["status"] == "fail", run.describe()
    for name in ("shootdown.pti.t1.p8", "shootdown.pti.pcid.t1.p8"):
        r = run.results()[name]
        assert r["status"] == "fail" and 0 < r["user_stale_reads"] < r["stale_reads"], r


def test_invlpgb_forced_where_it_is_missing_skips_on_its_ud():
    # invlpgb=force executes INVLPGB although CPUID denies it: QEMU raises #UD, which the fault
    # fixup turns into a skip with the operands (the range form at 8 pages, the whole-TLB form
    # above the ceiling), and the run goes on.
    run = boot("smp2-invlpgb-ud", "--smp", "2", "--cmdline",
               "bench=shootdown.invlpgb.p8,shootdown.invlpgb.p64 reps=3 warmup=1 shootdown_pages=8,64 "
               "invlpgb=force",
               timeout=300)
    assert run.returncode == 0 and run.summary()["status"] == "pass", run.describe()
    assert not run.faults(), run.faults()
    rows = shootdown_rows(run)
    assert set(rows) == {"shootdown.invlpgb.p8", "shootdown.invlpgb.p64"}, rows
    for r in rows.values():
        assert_invlpgb_skipped(r, forced=True)
    # RAX: the first page | VA | ASID | include global (8 pages), everything | include global.
    assert "(RAX=0x7f810000000d ECX=0x0 EDX=0x0)" in rows["shootdown.invlpgb.p8"]["reason"], rows
    assert "(RAX=0xc ECX=0x0 EDX=0x0)" in rows["shootdown.invlpgb.p64"]["reason"], rows


def test_the_ceiling_and_page_options():
    run = boot("smp2-ceiling", "--smp", "2", "--cmdline",
               "bench=shootdown.nopti.t1.* reps=3 warmup=1 ceiling=8 shootdown_pages=8,33,600,8",
               timeout=300)
    assert run.returncode == 0, run.describe()
    r = run.results()
    assert set(r) == {"shootdown.nopti.t1.p8", "shootdown.nopti.t1.p33"}, sorted(r)
    assert r["shootdown.nopti.t1.p8"]["flush"] == "invlpg", r
    assert r["shootdown.nopti.t1.p33"]["flush"] == "full", r
    assert all(x["stale_reads"] == 0 and x["status"] == "ok" for x in r.values()), r
    warnings = [ln for ln in run.human_lines() if ln.startswith("warning: shootdown_pages: ")]
    assert warnings == ["warning: shootdown_pages: 1 value(s) outside 1..512 skipped",
                        "warning: shootdown_pages: 1 repeated value(s) skipped"], warnings


def test_cpus_option_limits_the_cpus_used_with_x2apic_requested():
    # QEMU 7.2's TCG has no x2APIC and drops +x2apic with a warning: then the kernel must use
    # xAPIC (the x2APIC path is exercised under Bochs below).
    run = boot("smp3-cpus2-x2apic", "--smp", "3", "--cpu", "max,+x2apic", "--cmdline",
               IPI + " cpus=2", timeout=300)
    assert run.returncode == 0 and run.summary()["status"] == "pass", run.describe()
    apic = "xapic" if NO_TCG_X2APIC in run.stderr else "x2apic"
    assert run.env()["smp"] == {"found": 3, "started": 3, "used": 2, "failed": 0, "apic": apic,
                                "invlpgb_max_pages": 0}
    rows = ipi_rows(run)
    assert all(r["status"] == "ok" for r in rows.values()), rows  # pairs of CPUs 0 and 1 only
    assert set(rows) == {"ipi.fixed.0.1", "ipi.fixed.1.0", "ipi.poll.0.1", "ipi.poll.1.0"}


def test_bochs_two_cpus_x2apic():
    run = boot("bochs-smp2", "--bochs", "corei7_haswell_4770", "--smp", "2", "--cmdline", SMP,
               timeout=600)
    assert_matrix_complete(run, 2, "x2apic")
    assert_shootdowns(run, (1,), pcid=True)


def test_bochs_four_cpus_x2apic():
    # The widest fan-out only (T = 1 runs on two CPUs above): Bochs is the slowest emulator.
    # invlpgb=force: Bochs' #UD for INVLPGB, caught, in the same boot.
    run = boot("bochs-smp4", "--bochs", "corei7_haswell_4770", "--smp", "4", "--cmdline",
               "bench=ipi.*,shootdown.*.t3.*," + INVLPGB_ROWS + " reps=5 warmup=1 invlpgb=force",
               timeout=600)
    assert_matrix_complete(run, 4, "x2apic")
    assert_shootdowns(run, (3,), pcid=True, forced=True)


# Single-CPU rows, exact under -icount: with the APs halted they must read their instruction
# counts exactly, as on one CPU; and QEMU's deterministic mode stays deterministic with 2 CPUs.
DET = "bench=cr3.read,invlpg,cr4.pge.toggle,syscall.pti,ipi.* reps=5 warmup=1"


def det(name):
    return boot(name, "--deterministic", "--smp", "2", "--cmdline", DET, timeout=300)


def test_other_cpus_up_leave_single_cpu_figures_exact():
    run = det("smp2-det-a")
    assert run.returncode == 0, run.describe()
    assert run.env()["smp"]["started"] == 2, run.env()["smp"]
    r = run.results()
    for name in ("cr3.read", "invlpg", "cr4.pge.toggle", "syscall.pti"):
        x = r[name]
        assert x["status"] == "ok", x
        assert x["min"] == x["max"] == x["instructions"] and x["stddev"] == 0, x


def test_deterministic_mode_is_deterministic_with_two_cpus():
    a, b = det("smp2-det-a"), det("smp2-det-b")
    lines = lambda run: [ln for ln in run.lines() if '"type":"result"' in ln]  # noqa: E731
    assert lines(a) and lines(a) == lines(b)
    assert all(x["stddev"] == 0 for x in ipi_rows(a).values()), ipi_rows(a)


def test_nmis_on_every_cpu_are_survived_and_counted():
    # QEMU's monitor `nmi` sends one NMI to each CPU: APs halted in their mailbox loop, the
    # source and target of an IPI round trip, all take them on their own IST stack and count
    # them in their own per-CPU area; the summary adds them up. The PTI shootdown rows too: a
    # target may take one on the user CR3 of its return to user space (its entry part is mapped
    # there); a return an NMI hit is left out of return_to_user_*.
    run = boot("smp2-nmi", "--smp", "2", "--cmdline",
               "bench=ipi.*,shootdown.pti.t1.p512,shootdown.nopti.t1.p8 reps=40 warmup=1",
               "--nmi", "0.01,every:0.05", "--nmi-from", "env", timeout=300)
    assert run.returncode == 0 and run.summary()["status"] == "pass", run.describe()
    assert not run.faults(), run.faults()
    assert run.nmis_sent >= 1, run.describe()
    assert run.nmis_sent < run.summary()["nmis"] <= 2 * run.nmis_sent, (run.summary(), run.nmis_sent)
    assert all(r["status"] == "ok" for r in ipi_rows(run).values()), ipi_rows(run)
    for r in shootdown_rows(run).values():
        assert r["status"] == "ok" and r["stale_reads"] == 0, r
