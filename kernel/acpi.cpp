#include "kernel/acpi.h"

namespace ptb::acpi {
namespace {

constexpr usize kHeader = 36;  // 5.2.6: every system description table
// No real table is near 1 MiB; a larger length is garbage.
constexpr u32 kMaxTableLength = 1u << 20;
constexpr usize kRsdpV1 = 20, kRsdpV2 = 36;

u32 le32(const u8* p) {
  return static_cast<u32>(p[0]) | static_cast<u32>(p[1]) << 8 | static_cast<u32>(p[2]) << 16 |
         static_cast<u32>(p[3]) << 24;
}
u64 le64(const u8* p) { return static_cast<u64>(le32(p)) | static_cast<u64>(le32(p + 4)) << 32; }

bool sums_to_zero(const u8* p, usize n) {
  u8 sum = 0;
  for (usize i = 0; i < n; ++i) sum = static_cast<u8>(sum + p[i]);
  return sum == 0;
}

bool same_sig(const u8* p, const char* sig) {
  return p[0] == sig[0] && p[1] == sig[1] && p[2] == sig[2] && p[3] == sig[3];
}

void problem(Tables& t, const char* table, const char* what) {
  if (t.problem_count >= kMaxProblems) {
    ++t.problems_dropped;
    return;
  }
  Problem& p = t.problems[t.problem_count++];
  for (int i = 0; i < 4; ++i) {
    char c = table ? table[i] : '\0';
    p.table[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
    if (!table) p.table[i] = '\0';
  }
  p.table[4] = '\0';
  p.what = what;
}

// A validated table: its bytes and length, or nullptr with a problem recorded.
struct Table {
  const u8* p = nullptr;
  u32 length = 0;
};

Table read_table(const MemoryReader& mem, u64 phys, const char* expect, Tables& t) {
  const u8* h = mem.read(mem.ctx, phys, kHeader);
  if (!h) {
    problem(t, expect, "table header not in reachable memory; table ignored");
    return {};
  }
  char sig[4] = {static_cast<char>(h[0]), static_cast<char>(h[1]), static_cast<char>(h[2]),
                 static_cast<char>(h[3])};
  if (expect && !same_sig(h, expect)) {
    problem(t, expect, "signature does not match; table ignored");
    return {};
  }
  const u32 length = le32(h + 4);
  if (length < kHeader || length > kMaxTableLength) {
    problem(t, sig, "length is impossible; table ignored");
    return {};
  }
  const u8* all = mem.read(mem.ctx, phys, length);
  if (!all) {
    problem(t, sig, "length runs past reachable memory; table ignored");
    return {};
  }
  if (!sums_to_zero(all, length)) {
    problem(t, sig, "checksum does not add up; table ignored");
    return {};
  }
  return {all, length};
}

void read_fadt(const Table& f, Tables& t) {
  // 5.2.9: PM_TMR_BLK at 76 (4), PM_TMR_LEN at 91 (1), Flags at 112 (4; bit 8 TMR_VAL_EXT),
  // X_PM_TMR_BLK at 208 (12, ACPI 2.0+).
  if (f.length < 116) {
    problem(t, "FACP", "too short for the PM timer fields; no PM timer");
    return;
  }
  u64 port = le32(f.p + 76);
  const bool len_ok = f.p[91] == 4;
  if (f.length >= 220) {
    const u8 space = f.p[208];
    const u64 x = le64(f.p + 212);
    if (x != 0 && space == kSpaceIo) port = x;
  }
  if (port == 0) return;  // no PM timer (hardware-reduced ACPI, or none): not a problem
  if (!len_ok || port > 0xffff) {
    problem(t, "FACP", "PM timer block is malformed; no PM timer");
    return;
  }
  t.pm_timer = {true, static_cast<u16>(port), (le32(f.p + 112) >> 8 & 1) != 0};
}

void read_hpet(const Table& h, Tables& t) {
  // HPET spec 3.2.4: Event Timer Block ID at 36, BASE_ADDRESS (GAS) at 40, number 52, ...
  if (h.length < 56) {
    problem(t, "HPET", "too short; no HPET");
    return;
  }
  const u8 space = h.p[40];
  const u64 base = le64(h.p + 44);
  if (space != kSpaceMemory || base == 0 || (base & 0x3ff) != 0) {
    problem(t, "HPET", "base address is not a 1 KiB-aligned memory address; no HPET");
    return;
  }
  t.hpet = {true, base};
}

void add_cpu(Madt& m, const Cpu& c) {
  if (m.cpu_count < kMaxCpus) {
    m.cpus[m.cpu_count++] = c;
  } else {
    ++m.cpus_dropped;
  }
}

void read_madt(const Table& a, Tables& t) {
  // 5.2.12: Local Interrupt Controller Address at 36, Flags at 40, structures from 44.
  if (a.length < 44) {
    problem(t, "APIC", "too short; no MADT");
    return;
  }
  Madt& m = t.madt;
  m.present = true;
  m.local_apic = le32(a.p + 36);
  for (u32 off = 44; off + 2 <= a.length;) {
    const u8 type = a.p[off], len = a.p[off + 1];
    if (len < 2 || off + len > a.length) {
      problem(t, "APIC", "an entry's length runs past the table; the rest is ignored");
      return;
    }
    const u8* e = a.p + off;
    if (type == 0 && len >= 8) {  // Processor Local APIC
      const u32 flags = le32(e + 4);
      add_cpu(m, {e[3], e[2], (flags & 1) != 0, (flags & 2) != 0, false});
    } else if (type == 9 && len >= 16) {  // Processor Local x2APIC
      const u32 flags = le32(e + 8);
      add_cpu(m, {le32(e + 4), le32(e + 12), (flags & 1) != 0, (flags & 2) != 0, true});
    } else if (type == 5 && len >= 12) {  // Local APIC Address Override
      m.local_apic = le64(e + 4);
    } else if ((type == 0 && len < 8) || (type == 9 && len < 16) || (type == 5 && len < 12)) {
      problem(t, "APIC", "an entry is shorter than its type; entry ignored");
    }
    off += len;
  }
}

}  // namespace

void rsdp_oem(const u8* rsdp, char out[7]) {
  for (int i = 0; i < 6; ++i) {
    const char c = static_cast<char>(rsdp[9 + i]);
    out[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  out[6] = '\0';
}

bool read_tables(const u8* rsdp, usize rsdp_len, const MemoryReader& mem, Tables& out) {
  out = Tables{};
  if (!rsdp || rsdp_len < kRsdpV1) {
    problem(out, "RSDP", rsdp ? "shorter than 20 bytes; no ACPI" : "none from the boot loader");
    return false;
  }
  // 5.2.5.3: "RSD PTR " signature, checksum over the first 20 bytes; revision 2+ adds a length
  // and an extended checksum over all of it, and the XSDT's address.
  const char kSig[] = "RSD PTR ";
  for (int i = 0; i < 8; ++i) {
    if (rsdp[i] != static_cast<u8>(kSig[i])) {
      problem(out, "RSDP", "signature is not 'RSD PTR '; no ACPI");
      return false;
    }
  }
  if (!sums_to_zero(rsdp, kRsdpV1)) {
    problem(out, "RSDP", "checksum does not add up; no ACPI");
    return false;
  }
  rsdp_oem(rsdp, out.oem);
  out.revision = rsdp[15];
  out.rsdp_ok = true;

  u64 root = le32(rsdp + 16);
  usize entry_size = 4;
  const char* root_sig = "RSDT";
  if (out.revision >= 2) {
    const u32 length = rsdp_len >= kRsdpV2 ? le32(rsdp + 20) : 0;
    if (length < kRsdpV2 || length > rsdp_len || !sums_to_zero(rsdp, length)) {
      problem(out, "RSDP", "extended part is cut off or its checksum does not add up; using RSDT");
    } else if (le64(rsdp + 24) != 0) {
      root = le64(rsdp + 24);
      entry_size = 8;
      root_sig = "XSDT";
    }
  }
  if (root == 0) {
    problem(out, "RSDP", "no RSDT or XSDT address");
    return true;
  }
  const Table r = read_table(mem, root, root_sig, out);
  if (!r.p) return true;
  usize entries = (r.length - kHeader) / entry_size;
  if (entries > kMaxTables) {
    problem(out, root_sig, "more entries than ptibench reads; the rest is ignored");
    entries = kMaxTables;
  }
  for (usize i = 0; i < entries; ++i) {
    const u8* e = r.p + kHeader + i * entry_size;
    const u64 phys = entry_size == 8 ? le64(e) : le32(e);
    if (phys == 0) continue;
    const u8* h = mem.read(mem.ctx, phys, 4);
    if (!h) {
      problem(out, root_sig, "an entry points outside reachable memory; entry ignored");
      continue;
    }
    const char* want = same_sig(h, "FACP")   ? "FACP"
                       : same_sig(h, "HPET") ? "HPET"
                       : same_sig(h, "APIC") ? "APIC"
                                             : nullptr;
    if (!want) continue;  // a table ptibench does not read
    const Table t = read_table(mem, phys, want, out);
    if (!t.p) continue;
    if (want[0] == 'F' && !out.pm_timer.present) read_fadt(t, out);
    if (want[0] == 'H' && !out.hpet.present) read_hpet(t, out);
    if (want[0] == 'A' && !out.madt.present) read_madt(t, out);
  }
  return true;
}

}  // namespace ptb::acpi
