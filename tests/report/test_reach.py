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
