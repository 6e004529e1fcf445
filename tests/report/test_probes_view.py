"""The report tool's `probes` view: the TLB probes of several runs side by side."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import FIXTURES

BOCHS = FIXTURES / "kernel" / "probes-bochs-haswell.log"
QEMU = FIXTURES / "kernel" / "probes-qemu-det.log"


def _row(markdown: str, name: str) -> list[str]:
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells and cells[0] == name:
            return cells
    raise AssertionError(f"no row {name} in\n{markdown}")


def test_probes_compares_cpus_side_by_side(run_cli) -> None:
    r = run_cli("probes", "-q", BOCHS, QEMU)
    assert r.code == 0, r
    # probe, manual, A (Bochs), B (QEMU), reference
    row = _row(r.out, "probe.cr3.nopcid.global")
    assert row[1:4] == ["may-keep", "kept 5/5", "dropped 0/5"], row
    assert row[4].startswith("SDM Vol.3")
    assert _row(r.out, "probe.invpcid.single")[2:4] == ["dropped 0/5", "skip"]
    assert "**" not in r.out.split("| probe |", 1)[1]  # no violation in either run


def test_a_violation_is_marked(run_cli, tmp_path: Path) -> None:
    text = BOCHS.read_text()
    needle = '"name":"probe.invlpg","group":"probe","status":"ok","observed":"dropped","kept":0'
    assert needle in text
    broken = text.replace(needle, needle.replace('"status":"ok","observed":"dropped","kept":0',
                                                 '"status":"fail","reason":"violation",'
                                                 '"observed":"mixed","kept":2'))
    broken = broken.replace('"architecture":"must-drop","reference":"SDM Vol.3 4.10.4.1 (INVLPG: '
                            'current PCID and global entries)","global":false,"verdict":"ok"',
                            '"architecture":"must-drop","reference":"SDM Vol.3 4.10.4.1 (INVLPG: '
                            'current PCID and global entries)","global":false,'
                            '"verdict":"violation"', 1)
    log = tmp_path / "broken.log"
    log.write_text(broken)
    r = run_cli("probes", "-q", log)
    assert r.code == 0, r
    assert _row(r.out, "probe.invlpg")[2] == "**mixed 2/5 violation**"


def test_probes_json_and_a_run_without_probes(run_cli) -> None:
    r = run_cli("probes", "-q", "-f", "json", BOCHS)
    assert r.code == 0, r
    cells = json.loads(r.out)["runs"][0]["probes"]
    assert cells["probe.pde.invlpg.neighbour"]["observed"] == "kept"
    assert cells["probe.cr3.pcid.noflush"] == {
        "status": "ok", "observed": "dropped", "kept": 0, "reads": 5,
        "architecture": "may-keep", "verdict": "ok"}
    r = run_cli("probes", "-q", FIXTURES / "kernel" / "tcg-max-quick.log")
    assert r.code == 0 and "No run has probe records" in r.out


def test_a_verdict_by_the_apm_is_marked(run_cli, tmp_path: Path) -> None:
    # The QEMU run's CPU says AuthenticAMD; give one record an APM rule that differs (a test-only
    # section) and a verdict that applied it, as a kernel does for a probe that cites the APM.
    text = QEMU.read_text()
    needle = ('"architecture":"must-drop","reference":"SDM Vol.3 4.10.4.1 (MOV to CR3)",'
              '"global":false,"verdict":"ok"}')
    assert text.count(needle) == 1
    amd = text.replace(needle, needle[:-1] + ',"architecture_amd":"may-keep",'
                       '"reference_amd":"APM Vol.2 test-only","manual":"APM"}')
    log = tmp_path / "amd.log"
    log.write_text(amd)
    r = run_cli("probes", "-q", BOCHS, log)
    assert r.code == 0, r
    row = _row(r.out, "probe.cr3.nopcid")
    # probe, manual, A (Bochs: judged by the SDM), B (judged by the APM), reference
    assert row[1:4] == ["must-drop (APM: may-keep)", "dropped 0/5", "dropped 0/5 (APM)"], row
    assert row[4] == "SDM Vol.3 4.10.4.1 (MOV to CR3); APM Vol.2 test-only", row
    assert _row(r.out, "probe.cr3.nopcid.global")[3] == "dropped 0/5"  # SDM: no mark
    r = run_cli("probes", "-q", "-f", "json", log)
    cell = json.loads(r.out)["runs"][0]["probes"]["probe.cr3.nopcid"]
    assert cell["manual"] == "APM" and cell["architecture_amd"] == "may-keep", cell
    assert "manual" not in json.loads(r.out)["runs"][0]["probes"]["probe.invlpg"]
