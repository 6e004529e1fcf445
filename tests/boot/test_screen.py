"""The screen the kernel finds: VGA text mode by BIOS, the linear framebuffer by UEFI (GRUB only
passes one when the menu entries set the video mode right; a regression here leaves a laptop
without serial port with a blank screen)."""

from bootlib import boot


def screen_of(run):
    env = run.env()
    assert env is not None, run.describe()
    return env["screen"]


def test_bios_boot_uses_vga_text_mode():
    run = boot("screen-bios", "--entry", "selftest", timeout=300)
    assert run.returncode == 0, run.describe()
    assert run.env()["boot"] == "bios"
    assert screen_of(run) == "vga-text"


def test_uefi_boot_uses_the_framebuffer():
    run = boot("screen-uefi", "--uefi", "--entry", "selftest", timeout=300)
    assert run.returncode == 0, run.describe()
    assert run.env()["boot"] == "uefi"
    assert screen_of(run) == "framebuffer"
    # Mapped on its own pages, write-combining where the CPU has PAT (QEMU's does).
    assert run.env()["features"]["pat"] is True
    assert run.env()["framebuffer_memory"] == "write-combining", run.env()
