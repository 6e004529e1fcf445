#!/usr/bin/env python3
"""Write the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/): a few small valid inputs
each, so that libFuzzer starts from inputs that get past the first checks. Run it again after
changing it; the files are committed. Standard library only.

    python3 tests/fuzz/make_corpus.py
"""

from __future__ import annotations

import struct
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"


def pad8(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 8)


# --- multiboot2 (spec 2.0, 3.6) -------------------------------------------------------------

def tag(kind: int, body: bytes) -> bytes:
    return pad8(struct.pack("<II", kind, 8 + len(body)) + body)


def mb2_info(tags: list[bytes]) -> bytes:
    body = b"".join(tags) + struct.pack("<II", 0, 8)  # the end tag
    return struct.pack("<II", 8 + len(body), 0) + body


def mmap(entries: list[tuple[int, int, int]]) -> bytes:
    return tag(6, struct.pack("<II", 24, 0) + b"".join(
        struct.pack("<QQII", base, length, kind, 0) for base, length, kind in entries))


def rsdp_v0(rsdt: int) -> bytes:
    r = bytearray(b"RSD PTR " + b"\0" + b"BOCHS " + b"\0" + struct.pack("<I", rsdt))
    r[8] = -sum(r) & 0xff
    return bytes(r)


def rsdp_v2(xsdt: int) -> bytes:
    r = bytearray(b"RSD PTR " + b"\0" + b"BOCHS " + b"\2" + struct.pack("<I", 0) +
                  struct.pack("<IQ", 36, xsdt) + b"\0\0\0\0")
    r[8] = -sum(r[:20]) & 0xff
    r[32] = -sum(r) & 0xff
    return bytes(r)


def multiboot2_seeds() -> dict[str, bytes]:
    cmdline = tag(1, b"/boot/ptibench.elf suite=full\0")
    loader = tag(2, b"GRUB 2.06-13+deb12u1\0")
    meminfo = tag(4, struct.pack("<II", 639, 261120))
    memory = mmap([(0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2),
                   (0x100000, 0xfee0000, 1), (0xffe0000, 0x20000, 2)])
    ega = tag(8, struct.pack("<QIIIBBH", 0xb8000, 160, 80, 25, 16, 2, 0))
    rgb = tag(8, struct.pack("<QIIIBBH", 0xfd000000, 4096, 1024, 768, 32, 1, 0) +
              bytes([16, 8, 8, 8, 0, 8]))
    acpi = tag(14, rsdp_v0(0x0ffe1000))
    acpi2 = tag(15, rsdp_v2(0x0ffe1000))
    module = tag(3, struct.pack("<II", 0x200000, 0x201000) + b"/boot/mod arg\0")
    return {
        "minimal": mb2_info([]),
        "bios-grub": mb2_info([cmdline, loader, meminfo, memory, ega, acpi]),
        "uefi-grub": mb2_info([cmdline, loader, memory, rgb, tag(12, struct.pack("<Q", 0x7f9e018)),
                               acpi2, tag(18, b""), tag(21, struct.pack("<I", 0x200000)), module]),
    }


# --- ACPI, in acpi_fuzz.cpp's layout ----------------------------------------------------------

def table(sig: bytes, body: bytes, revision: int = 1) -> bytes:
    t = bytearray(sig + struct.pack("<IBB", 36 + len(body), revision, 0) + b"BOCHS " +
                  b"BXPC    " + struct.pack("<I", 1) + b"BXPC" + struct.pack("<I", 1) + body)
    t[9] = -sum(t) & 0xff
    return bytes(t)


def fadt(pm_port: int, x_pm: bool) -> bytes:
    body = bytearray(244 - 36 if x_pm else 116 - 36)
    struct.pack_into("<I", body, 76 - 36, pm_port)
    body[91 - 36] = 4  # PM_TMR_LEN
    struct.pack_into("<I", body, 112 - 36, 1 << 8)  # TMR_VAL_EXT: 32-bit counter
    if x_pm:
        body[208 - 36:220 - 36] = struct.pack("<BBBBQ", 1, 32, 0, 3, pm_port)
    return table(b"FACP", bytes(body), 5 if x_pm else 1)


def madt(cpus: int, x2apic: bool = False) -> bytes:
    body = struct.pack("<II", 0xfee00000, 1)
    for i in range(cpus):
        body += (struct.pack("<BBHIII", 9, 16, 0, i, 1, i) if x2apic else
                 struct.pack("<BBBBI", 0, 8, i, i, 1))
    body += struct.pack("<BBBBII", 1, 12, 0, 0, 0xfec00000, 0)  # I/O APIC
    body += struct.pack("<BBBBIH", 2, 10, 0, 0, 2, 0)  # interrupt source override
    body += struct.pack("<BBBHB", 4, 6, 0xff, 0, 1)  # local APIC NMI
    return table(b"APIC", body, 3)


def hpet() -> bytes:
    return table(b"HPET", struct.pack("<IBBBBQBHB", 0x8086a201, 0, 64, 0, 0, 0xfed00000, 0,
                                      0x80, 0))


def acpi_input(rsdp: bytes, regions: list[tuple[int, bytes]]) -> bytes:
    out = bytes([len(rsdp)]) + rsdp
    for base, data in regions:
        out += struct.pack("<QH", base, len(data)) + data
    return out


def acpi_seeds() -> dict[str, bytes]:
    f, a, h = 0x0ffe2000, 0x0ffe3000, 0x0ffe4000
    tables = [(f, fadt(0x608, False)), (a, madt(2)), (h, hpet())]
    rsdt = table(b"RSDT", struct.pack("<III", f, a, h))
    xsdt = table(b"XSDT", struct.pack("<QQQ", f, a, h))
    tables2 = [(f, fadt(0xb008, True)), (a, madt(4, x2apic=True)), (h, hpet())]
    return {
        "qemu-q35-rsdt": acpi_input(rsdp_v0(0x0ffe1000), [(0x0ffe1000, rsdt)] + tables),
        "xsdt-x2apic": acpi_input(rsdp_v2(0x0ffe1000), [(0x0ffe1000, xsdt)] + tables2),
        "rsdp-only": acpi_input(rsdp_v0(0x0ffe1000), []),
    }


# --- command lines and format programs ---------------------------------------------------------

def cmdline_seeds() -> dict[str, bytes]:
    lines = [
        "/boot/ptibench.elf suite=full",
        "suite=quick bench=cr3.*,invpcid.* reps=51",
        "suite=seeds reps=3 samples=raw",
        '"bench=cr3.read reps=5"',
        "help",
        "reps=abc bogus=1 unroll=0 =x ,,,",
        "tsc_hz=0x9502f900 screen=all fault=ud warmup=0 iters=1K refill_max=4K touch=1,2,4",
        "suite=selftest help=off reps=2 reps=3\tbench=\"a b\"\r\n",
    ]
    return {f"line{i}": line.encode() for i, line in enumerate(lines)}


def format_seeds() -> dict[str, bytes]:
    # FuzzedDataProvider reads integers from the end of the input and strings from the front:
    # these are only starting points that reach every operation.
    return {
        "json": b'name "quoted" \\ back\x01\xff\x7f' + bytes(range(0, 64, 3)),
        "numbers": bytes(range(256)),
        "glob": b"cr3.*\0cr3.write.nopcid" + b"\x07\x01\x02\x03\x04\x05\x06\x08" * 4,
    }


def main() -> None:
    for target, seeds in (("multiboot2_fuzz", multiboot2_seeds()), ("acpi_fuzz", acpi_seeds()),
                          ("cmdline_fuzz", cmdline_seeds()), ("format_fuzz", format_seeds())):
        d = CORPUS / target
        d.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (d / name).write_bytes(data)
        print(f"{d}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
