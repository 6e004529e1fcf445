"""TLB semantics probes (issue 13) in the emulators, record by record against the host model.

The host TLB model (bench/tlb_model.h) predicts every probe for "over-flushes like Bochs" and
"flushes everything like QEMU TCG"; build/tests/probe_predictions prints those predictions and
each boot must match them exactly: Bochs Haswell (PCID, INVPCID: global entries survive a CR3
write, NOFLUSH is dropped), Bochs Sandy Bridge (PCID without INVPCID: the INVPCID probes skip),
QEMU TCG (no PCID: those skip; every CR3 write and PGE toggle drops everything, globals too).
None may show a violation. Each boot is lean: only the probes, 5 reads each.

Each record's verdict applies the manual of the CPU's vendor (bench/probe.h, applied_rule): the
APM on AuthenticAMD (QEMU TCG's default CPU) where the probe cites it, the SDM otherwise; the
record's `manual` names it, and its `architecture_amd`/`reference_amd` must be the table's.
"""
# ctest-timeout: 900

import json
import os
import subprocess
from pathlib import Path

import pytest

from bootlib import ROOT, boot

READS = 5
CMDLINE = f"bench=probe.* reps={READS}"


def predictions() -> dict:
    tool = os.environ.get("PTIBENCH_PROBE_PREDICTIONS") or str(
        ROOT / "build" / "tests" / "probe_predictions")
    if not Path(tool).exists():
        pytest.fail(f"no prediction tool at {tool} (build the host tests first)", pytrace=False)
    return json.loads(subprocess.run([tool, str(READS)], check=True, capture_output=True,
                                     text=True).stdout)


def bochs(model):
    return boot(f"probes-bochs-{model}", "--bochs", model, "--cmdline", CMDLINE, timeout=600)


def qemu():
    return boot("probes-qemu-det", "--deterministic", "--cmdline", CMDLINE, timeout=600)


def probes(run):
    return {n: r for n, r in run.results().items() if n.startswith("probe.")}


def assert_as_predicted(run, behaviour, skipped):
    """Every probe the model knows is there; those in `skipped` (name -> word its reason must
    hold) skip, the others match the model's prediction field by field."""
    assert run.returncode == 0, run.describe()
    assert run.summary()["status"] == "pass", run.describe()
    want = predictions()[behaviour]
    got = probes(run)
    assert set(got) == set(want), (set(got) ^ set(want))
    amd = run.env()["vendor"] == "AuthenticAMD"
    wrong = []
    for name, p in want.items():
        r = got[name]
        for key in ("architecture", "reference", "global", "architecture_amd", "reference_amd"):
            if r.get(key) != p.get(key):  # the APM's only where the table cites it
                wrong.append(f"{name}: {key} {r.get(key)!r}, expected {p.get(key)!r}")
        if name in skipped:
            if r["status"] != "skip" or skipped[name] not in r.get("reason", "").lower():
                wrong.append(f"{name}: expected a skip for {skipped[name]}, got {r}")
            if "manual" in r or "verdict" in r:
                wrong.append(f"{name}: a skipped probe has no verdict: {r}")
            continue
        verdict = p["verdict_amd"] if amd else p["verdict"]
        assert verdict == "ok", f"{name}: the model predicts a violation for {behaviour}"
        expected = {"status": "ok", "observed": p["observed"], "kept": p["kept"],
                    "reads": READS, "verdict": verdict,
                    "manual": p["manual_amd"] if amd else "SDM"}
        actual = {k: r.get(k) for k in expected}
        if actual != expected:
            wrong.append(f"{name}: {actual}, expected {expected}")
        # A probe is not timed: no statistics for the exactness test to read.
        if any(k in r for k in ("median", "instructions", "unit")):
            wrong.append(f"{name}: has timing fields: {r}")
    assert not wrong, "\n".join(wrong)


def assert_keeps_table(run):
    lines = run.human_lines()
    assert any(line.startswith("what this CPU keeps") for line in lines), run.describe()


def needing(want, feature):
    return [n for n, p in want.items() if feature in p["needs"]]


def test_bochs_haswell_over_flushes_as_the_model_predicts():
    run = bochs("corei7_haswell_4770")
    assert_as_predicted(run, "bochs", skipped={})
    assert_keeps_table(run)
    r = probes(run)
    # The expectations, spelled out: global entries survive a CR3 write, NOFLUSH does
    # not keep anything (drops more than required), and nothing is a violation.
    assert r["probe.cr3.nopcid.global"]["observed"] == "kept"
    assert r["probe.cr3.pcid.global"]["observed"] == "kept"
    assert r["probe.cr3.pcid.noflush"]["observed"] == "dropped"
    assert r["probe.cr3.pcid.noflush"]["architecture"] == "may-keep"
    assert r["probe.invpcid.all.global"]["observed"] == "dropped"


def test_bochs_sandy_bridge_skips_the_invpcid_probes():
    run = bochs("corei7_sandy_bridge_2600k")
    assert run.env()["features"]["pcid"] is True and run.env()["features"]["invpcid"] is False
    want = predictions()["bochs"]
    assert_as_predicted(run, "bochs", skipped={n: "invpcid" for n in needing(want, "invpcid")})
    assert len(needing(want, "invpcid")) == 10


def test_qemu_tcg_drops_everything_on_cr3_and_pge():
    run = qemu()
    assert run.env()["features"]["pcid"] is False
    want = predictions()["qemu-tcg"]
    # The first feature a row lacks names the skip: PCID, before INVPCID.
    assert_as_predicted(run, "qemu-tcg", skipped={n: "pcid" for n in needing(want, "pcid")})
    assert len(needing(want, "pcid")) == 18
    r = probes(run)
    for name in ("probe.cr3.nopcid", "probe.cr3.nopcid.global", "probe.cr4.pge.toggle",
                 "probe.cr4.pge.toggle.global", "probe.invlpg.global"):
        assert r[name]["status"] == "ok" and r[name]["observed"] == "dropped", r[name]
    assert r["probe.pde.invlpg.neighbour"]["observed"] == "kept"  # INVLPG of Y leaves X alone


def test_the_model_predictions_are_not_trivial():
    # Guards the assertions above: the behaviours differ where the issue says they do, and the
    # broken model is a violation (so a kernel that kept what it must drop would fail here).
    p = predictions()
    assert p["bochs"]["probe.cr3.nopcid.global"]["observed"] == "kept"
    assert p["qemu-tcg"]["probe.cr3.nopcid.global"]["observed"] == "dropped"
    assert p["sdm-max-keep"]["probe.cr3.pcid.noflush"]["observed"] == "kept"
    assert p["bochs"]["probe.cr3.pcid.noflush"]["observed"] == "dropped"
    assert any(x["verdict"] == "violation" for x in p["broken"].values())
    # On AMD the cited probes apply the APM's rule, the others the SDM's.
    for name, x in p["sdm-max-keep"].items():
        assert x["manual_amd"] == ("APM" if "reference_amd" in x else "SDM"), name
    assert p["sdm-max-keep"]["probe.cr3.pcid.noflush"]["reference_amd"].startswith("APM Vol.2")
