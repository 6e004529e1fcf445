"""The image boots on every path it is meant to: BIOS and UEFI, CD and USB stick, and in QEMU's
deterministic mode. Each boot runs the quick suite and must pass, with a well-formed capture."""

import pytest

from bootlib import boot

# name -> (run-qemu.sh arguments, the env record's "boot" field)
PATHS = {
    "tcg-bios-cd": (("--accel", "tcg"), "bios"),
    "tcg-uefi-cd": (("--accel", "tcg", "--uefi"), "uefi"),
    "tcg-uefi-usb": (("--accel", "tcg", "--uefi", "--usb"), "uefi"),
    "tcg-deterministic": (("--accel", "tcg", "--deterministic"), "bios"),
}


def run_of(path):
    args, _ = PATHS[path]
    return boot(path, *args, "--entry", "quick", timeout=600)


@pytest.mark.parametrize("path", PATHS)
def test_passes(path):
    run = run_of(path)
    assert run.returncode == 0, run.describe()
    summary = run.summary()
    assert summary is not None, "no summary record\n" + run.describe()
    assert summary["status"] == "pass", f"summary {summary}\n" + run.describe()


@pytest.mark.parametrize("path", PATHS)
def test_capture_is_well_formed(path):
    run = run_of(path)
    assert run.env() is not None, "no env record\n" + run.describe()
    assert run.damaged == [], "damaged records:\n" + "\n".join(run.damaged)
    assert len(run.runs()) == 1, "more than one run in the capture (a reboot?)\n" + run.describe()
    assert run.records[0]["type"] == "env" and run.records[-1]["type"] == "summary", run.describe()


@pytest.mark.parametrize("path", PATHS)
def test_env_says_how_it_booted(path):
    run = run_of(path)
    env = run.env()
    assert env is not None, run.describe()
    assert env.get("boot") == PATHS[path][1], f"env record: {env}"
    assert "suite=quick" in env.get("cmdline", "").split(), f"env record: {env}"
