"""The report tool's `reach` view: the TLB reach estimated from the refill curves."""

from __future__ import annotations

import json

from conftest import FIXTURES

from ptibench_report import analysis

METAL = FIXTURES / "synthetic-metal.log"   # modelled with a 64-entry first-level DTLB
BOCHS = FIXTURES / "kernel" / "bochs-haswell-full.log"


def curve(costs: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Marginal costs (K, ticks per added page) of a curve with these costs per page."""
    pts, total, last = [], 0.0, 0
    for k, per_page in costs:
        total += (k - last) * per_page
        pts.append((k, total))
        last = k
    return [(k1, (v1 - v0) / (k1 - k0)) for (k0, v0), (k1, v1) in zip(pts, pts[1:])]


def test_the_metal_fixture_bends_where_its_dtlb_ends(run_cli) -> None:
    r = run_cli("reach", "-q", "-f", "json", METAL)
    assert r.code == 0, r
    d = json.loads(r.out)
    assert d["estimate"] is True
    cr3 = next(e for e in d["runs"][0]["estimates"] if e["flush"] == "cr3")
    assert [(b["below"], b["above"]) for b in cr3["bends"]][:1] == [(64, 128)], cr3
    assert cr3["bends"][0]["level"] == "first-level DTLB"


def test_an_instruction_counting_run_gives_no_estimate(run_cli) -> None:
    r = run_cli("reach", "-q", BOCHS)
    assert r.code == 0, r
    assert "no refill cost measured" in r.out
    assert "(estimate) between" not in r.out


def test_two_levels_are_found_in_order() -> None:
    ks = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
    marginal = curve([(k, 30.0 if k <= 64 else 24.0 if k <= 1024 else 2.0) for k in ks])
    bends = analysis._bends(marginal, 2)
    assert [(b.below, b.above) for b in bends] == [(64, 128), (1024, 2048)], bends


def test_a_straight_curve_has_no_bend() -> None:
    ks = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert analysis._bends(curve([(k, 20.0) for k in ks]), 2) == []
    # Noise of a few percent is no bend either.
    noisy = curve([(k, 20.0 * (1.04 if i % 2 else 0.97)) for i, k in enumerate(ks)])
    assert analysis._bends(noisy, 2) == []


def test_the_chase_form_is_its_own_curve_and_reach_reads_the_independent_one() -> None:
    from ptibench_report.parse import parse_text
    env = ('PTIBENCH {"type":"env","version":"0.2.0","vendor":"GenuineIntel","family":6,'
           '"model":60,"stepping":3,"brand":"x","features":{},"pmu_version":0,"hypervisor":false,'
           '"hypervisor_vendor":"","acpi_oem":"","bare_metal":true,"tsc_hz":0,"tsc_source":"pit",'
           '"timer":"lfence;rdtsc;lfence","memory_bytes":1,"cmdline":"","boot":"bios",'
           '"suite":"full","params":{}}\n')
    lines = [env]
    for access, name, per_page in (("independent", "refill", 10.0), ("chase", "chase", 40.0)):
        for k in (1, 2, 4, 8, 16):
            lines.append(
                f'PTIBENCH {{"type":"result","name":"tlb.{name}.cr3.{k}","group":"tlb",'
                f'"status":"ok","unit":"tsc","n":1,"min":0,"q1":{k * per_page},'
                f'"median":{k * per_page},"mean":0,"q3":{k * per_page},"max":0,"stddev":0,'
                f'"flush":"cr3","pages":{k},"global":false,"access":"{access}"}}\n')
    lines.append('PTIBENCH {"type":"summary","ok":10,"skipped":0,"failed":0,'
                 '"checks_failed":0,"status":"pass"}\n')
    run = parse_text("".join(lines)).runs[0]
    curves = analysis.tlb_curves(run)
    assert list(curves) == [(False, "cr3"), (False, "cr3 chase")], list(curves)
    assert [p.value.median for p in curves[(False, "cr3")]] == [10, 20, 40, 80, 160]
    assert [p.value.median for p in curves[(False, "cr3 chase")]] == [40, 80, 160, 320, 640]
    cr3 = next(e for e in analysis.tlb_reach(run) if e.flush == "cr3")
    assert [m for _, m in cr3.marginal] == [10.0, 10.0, 10.0, 10.0]
