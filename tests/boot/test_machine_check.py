"""A machine check ends the run cleanly, never with a silent reset (issue 9, item 1): CR4.MCE is
on, so QEMU's `mce` monitor command raises #MC; its paranoid entry reaches the fault report, which
prints IA32_MCG_STATUS and the bank with a valid status, and the run ends FAIL at the exit port.
"""
# ctest-timeout: 300

import json
import subprocess
import tempfile
import time
from pathlib import Path

from bootlib import MARKER, monitor, clean_line, variant_image

STATUS = 0xBD00_0000_0000_0000  # VAL, UC, EN, MISCV, ADDRV, PCC (SDM Vol.3 17.3.2.2)


def test_an_injected_machine_check_is_reported_and_fails_the_run():
    iso = variant_image("quick", "bench=tlb.refill.* reps=101")
    with tempfile.TemporaryDirectory() as tmp:
        serial, sock = Path(tmp) / "serial.log", f"{tmp}/mon.sock"
        proc = subprocess.Popen(
            ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-m", "256M",
             "-no-reboot", "-display", "none", "-nic", "none", "-serial", f"file:{serial}",
             "-monitor", f"unix:{sock},server,nowait",
             "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-cdrom", str(iso)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            mon = monitor(sock, proc)
            deadline = time.monotonic() + 200
            while b"[2/" not in serial.read_bytes() and time.monotonic() < deadline:
                time.sleep(0.05)  # inside the benchmarks
            mon.command(f"mce 0 1 {STATUS:#x} 0x5 0x1234000 0")
            code = proc.wait(timeout=120)
        finally:
            proc.kill()
            proc.wait()
        lines = [clean_line(l) for l in serial.read_text(errors="replace").split("\n")]
    assert code == 3, (code, lines[-20:])  # (1 << 1) | 1: fail
    # The #MC may land while a record is being written: that one line is cut (damaged), the
    # others must all parse.
    records, damaged = [], []
    for line in (l for l in lines if MARKER in l):
        try:
            records.append(json.loads(line[line.index(MARKER) + len(MARKER) - 1:]))
        except ValueError:
            damaged.append(line)
    assert len(damaged) <= 1, damaged
    faults = [r for r in records if r["type"] == "fault"]
    assert faults and faults[0]["vector"] == 18 and faults[0]["mnemonic"] == "#MC", faults
    assert faults[0]["phase"].startswith("bench:tlb.refill."), faults[0]
    assert records[-1]["type"] == "summary" and records[-1]["status"] == "fail", records[-1]
    assert any("MCG_STATUS=0x5 (MCIP, restartable)" in l for l in lines), lines
    assert any(f"bank 1: MC1_STATUS={STATUS:#x} UC ADDR=0x1234000" in l for l in lines), lines
