// A reader of the few ACPI tables ptibench needs (ACPI 6.5: 5.2.5 RSDP, 5.2.6 table header,
// 5.2.7 RSDT, 5.2.8 XSDT, 5.2.9 FADT, 5.2.12 MADT; IA-PC HPET spec 1.0a 3.2.4 the HPET table).
// Every byte of firmware data is untrusted: checksums are verified, lengths are checked against
// the table and against what the memory reader can reach, counts are capped, and every problem
// becomes a message, never a crash. Pure: the memory comes through a reader (host-tested).
#pragma once

#include "lib/types.h"

namespace ptb::acpi {

// Gives read access to [phys, phys + len), or nullptr when that range is not reachable.
struct MemoryReader {
  const u8* (*read)(void* ctx, u64 phys, usize len);
  void* ctx;
};

inline constexpr usize kMaxProblems = 8;
inline constexpr usize kMaxTables = 64;  // RSDT/XSDT entries looked at
inline constexpr usize kMaxCpus = 256;   // MADT processor entries kept

struct Problem {
  char table[5];     // "RSDP", "XSDT", "FACP", ... or "" when not known
  const char* what;  // static text
};

// The generic address structure (5.2.3.2) as far as the timers use it.
struct Address {
  u8 space;  // 0 system memory, 1 system I/O
  u64 address;
};
inline constexpr u8 kSpaceMemory = 0, kSpaceIo = 1;

struct PmTimer {
  bool present;
  u16 port;     // I/O port of the 3.579545 MHz counter
  bool bits32;  // FADT flags TMR_VAL_EXT: 32-bit counter, else 24-bit
};
inline constexpr u64 kPmTimerHz = 3'579'545;

struct Hpet {
  bool present;
  u64 base;  // physical address of the 1 KiB register block
};

struct Cpu {
  u32 apic_id;
  u32 uid;
  bool enabled;         // flags bit 0
  bool online_capable;  // flags bit 1 (ACPI 6.3+): may be brought up although not enabled
  bool x2apic_entry;    // from a Processor Local x2APIC structure (type 9)
};

struct Madt {
  bool present;
  u64 local_apic;  // physical address of the local APIC registers (type 5 override applied)
  usize cpu_count;
  Cpu cpus[kMaxCpus];
  usize cpus_dropped;  // entries beyond kMaxCpus
};

struct Tables {
  bool rsdp_ok;
  char oem[7];  // the RSDP's OEM ID, printable ASCII ("BOCHS " on QEMU's and Bochs' firmware)
  u8 revision;  // RSDP revision: 0 for ACPI 1.0 (RSDT), 2+ (XSDT)
  PmTimer pm_timer;
  Hpet hpet;
  Madt madt;
  Problem problems[kMaxProblems];
  usize problem_count;
  usize problems_dropped;
};

// The RSDP's OEM ID (bytes 9-14) as printable ASCII, '?' for anything else; the RSDP must have at
// least 20 bytes. Read before the tables are (QEMU's and Bochs' firmware say "BOCHS ").
void rsdp_oem(const u8* rsdp, char out[7]);

// Reads the RSDP (a copy of `rsdp_len` bytes, as the boot loader passes it) and the tables it
// leads to. Returns rsdp_ok; whatever could be read is filled in even when some tables were bad.
bool read_tables(const u8* rsdp, usize rsdp_len, const MemoryReader& mem, Tables& out);

}  // namespace ptb::acpi
