// The ACPI reader against tables built here: valid ones as QEMU and real firmware lay them out,
// and truncated, corrupted and missing ones, which must give problems, never a crash.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernel/acpi.h"

namespace ptb::acpi {
namespace {

using Bytes = std::vector<u8>;

// Physical memory: a few regions; a read is served only when it lies inside one of them.
struct FakeMemory {
  std::map<u64, Bytes> regions;
  static const u8* read(void* ctx, u64 phys, usize len) {
    auto& m = static_cast<FakeMemory*>(ctx)->regions;
    for (auto& [base, bytes] : m) {
      if (phys >= base && phys - base <= bytes.size() && len <= bytes.size() - (phys - base))
        return bytes.data() + (phys - base);
    }
    return nullptr;
  }
  MemoryReader reader() { return {read, this}; }
};

void put32(Bytes& b, usize at, u32 v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<u8>(v >> (8 * i));
}
void put64(Bytes& b, usize at, u64 v) {
  put32(b, at, static_cast<u32>(v));
  put32(b, at + 4, static_cast<u32>(v >> 32));
}
void fix_checksum(Bytes& b, usize checksum_at, usize len) {
  b[checksum_at] = 0;
  u8 sum = 0;
  for (usize i = 0; i < len; ++i) sum = static_cast<u8>(sum + b[i]);
  b[checksum_at] = static_cast<u8>(-sum);
}

Bytes table(const char* sig, usize length) {
  Bytes b(length, 0);
  std::memcpy(b.data(), sig, 4);
  put32(b, 4, static_cast<u32>(length));
  b[8] = 1;
  std::memcpy(b.data() + 10, "BOCHS ", 6);
  return b;
}
void seal(Bytes& t) { fix_checksum(t, 9, t.size()); }

Bytes rsdp(u8 revision, u64 rsdt, u64 xsdt) {
  Bytes r(36, 0);
  std::memcpy(r.data(), "RSD PTR ", 8);
  std::memcpy(r.data() + 9, "BOCHS ", 6);
  r[15] = revision;
  put32(r, 16, static_cast<u32>(rsdt));
  fix_checksum(r, 8, 20);
  if (revision >= 2) {
    put32(r, 20, 36);
    put64(r, 24, xsdt);
    fix_checksum(r, 32, 36);
  }
  return r;
}

Bytes fadt(u16 pm_port, bool bits32, usize length = 276) {
  Bytes f = table("FACP", length);
  put32(f, 76, pm_port);
  f[91] = 4;
  if (length >= 116) put32(f, 112, bits32 ? 1u << 8 : 0);
  seal(f);
  return f;
}

Bytes hpet(u64 base) {
  Bytes h = table("HPET", 56);
  h[40] = 0;  // memory
  put64(h, 44, base);
  seal(h);
  return h;
}

Bytes madt(const std::vector<Bytes>& entries) {
  usize len = 44;
  for (const Bytes& e : entries) len += e.size();
  Bytes a = table("APIC", len);
  put32(a, 36, 0xfee00000);
  usize at = 44;
  for (const Bytes& e : entries) {
    std::memcpy(a.data() + at, e.data(), e.size());
    at += e.size();
  }
  seal(a);
  return a;
}
Bytes lapic(u8 uid, u8 apic_id, u32 flags) {
  Bytes e(8, 0);
  e[0] = 0;
  e[1] = 8;
  e[2] = uid;
  e[3] = apic_id;
  put32(e, 4, flags);
  return e;
}
Bytes x2apic(u32 apic_id, u32 flags, u32 uid) {
  Bytes e(16, 0);
  e[0] = 9;
  e[1] = 16;
  put32(e, 4, apic_id);
  put32(e, 8, flags);
  put32(e, 12, uid);
  return e;
}

// A machine: RSDT (and XSDT) at 0xe0000, tables after it.
struct Machine {
  FakeMemory mem;
  Bytes rsdp_bytes;
  std::vector<u64> addrs;
  u64 next = 0xe1000;
  void add(const Bytes& t) {
    mem.regions[next] = t;
    addrs.push_back(next);
    next += 0x1000;
  }
  void finish(u8 revision = 2) {
    Bytes r = table(revision >= 2 ? "XSDT" : "RSDT", 36 + addrs.size() * (revision >= 2 ? 8 : 4));
    for (usize i = 0; i < addrs.size(); ++i) {
      if (revision >= 2) {
        put64(r, 36 + 8 * i, addrs[i]);
      } else {
        put32(r, 36 + 4 * i, static_cast<u32>(addrs[i]));
      }
    }
    seal(r);
    mem.regions[0xe0000] = r;
    rsdp_bytes = revision >= 2 ? rsdp(2, 0, 0xe0000) : rsdp(0, 0xe0000, 0);
  }
  Tables read() {
    Tables t;
    read_tables(rsdp_bytes.data(), rsdp_bytes.size(), mem.reader(), t);
    return t;
  }
};

std::string problems(const Tables& t) {
  std::string s;
  for (usize i = 0; i < t.problem_count; ++i)
    s += std::string(t.problems[i].table) + ": " + t.problems[i].what + "\n";
  return s;
}

Machine qemu_like(u8 revision = 2) {
  Machine m;
  m.add(fadt(0x608, false));
  m.add(hpet(0xfed00000));
  m.add(madt({lapic(0, 0, 1), lapic(1, 1, 1), lapic(2, 2, 0)}));
  m.finish(revision);
  return m;
}

TEST(Acpi, ReadsTheTimersAndCpusOfAQemuLikeMachine) {
  for (u8 revision : {0, 2}) {
    Machine m = qemu_like(revision);
    Tables t = m.read();
    EXPECT_TRUE(t.rsdp_ok);
    EXPECT_EQ(t.problem_count, 0u) << problems(t);
    EXPECT_STREQ(t.oem, "BOCHS ");
    EXPECT_TRUE(t.pm_timer.present);
    EXPECT_EQ(t.pm_timer.port, 0x608);
    EXPECT_FALSE(t.pm_timer.bits32);
    EXPECT_TRUE(t.hpet.present);
    EXPECT_EQ(t.hpet.base, 0xfed00000u);
    ASSERT_TRUE(t.madt.present);
    EXPECT_EQ(t.madt.local_apic, 0xfee00000u);
    ASSERT_EQ(t.madt.cpu_count, 3u);
    EXPECT_TRUE(t.madt.cpus[1].enabled);
    EXPECT_EQ(t.madt.cpus[1].apic_id, 1u);
    EXPECT_FALSE(t.madt.cpus[2].enabled);
  }
}

TEST(Acpi, PrefersTheExtendedPmTimerAddressAndReadsTheWidth) {
  Machine m;
  Bytes f = fadt(0x608, true);
  f[208] = kSpaceIo;
  put64(f, 212, 0xb008);
  seal(f);
  m.add(f);
  m.finish();
  Tables t = m.read();
  EXPECT_EQ(t.pm_timer.port, 0xb008);
  EXPECT_TRUE(t.pm_timer.bits32);
}

TEST(Acpi, ReadsX2apicEntriesAndTheAddressOverride) {
  Bytes override_entry(12, 0);
  override_entry[0] = 5;
  override_entry[1] = 12;
  put64(override_entry, 4, 0x1'0000'0000);
  Machine m;
  m.add(madt({x2apic(300, 1, 7), override_entry, x2apic(301, 2, 8)}));
  m.finish();
  Tables t = m.read();
  ASSERT_EQ(t.madt.cpu_count, 2u);
  EXPECT_EQ(t.madt.cpus[0].apic_id, 300u);
  EXPECT_TRUE(t.madt.cpus[0].x2apic_entry);
  EXPECT_TRUE(t.madt.cpus[1].online_capable);
  EXPECT_FALSE(t.madt.cpus[1].enabled);
  EXPECT_EQ(t.madt.local_apic, 0x1'0000'0000u);
}

TEST(Acpi, MoreCpusThanSupportedAreCountedNotStored) {
  std::vector<Bytes> entries;
  for (u32 i = 0; i < kMaxCpus + 5; ++i) entries.push_back(x2apic(i, 1, i));
  Machine m;
  m.add(madt(entries));
  m.finish();
  Tables t = m.read();
  EXPECT_EQ(t.madt.cpu_count, kMaxCpus);
  EXPECT_EQ(t.madt.cpus_dropped, 5u);
}

TEST(Acpi, ACorruptedTableIsIgnoredWithAProblemAndTheOthersStillRead) {
  Machine m = qemu_like();
  m.mem.regions[0xe1000][100] ^= 0x5a;  // the FADT, checksum now wrong
  Tables t = m.read();
  EXPECT_FALSE(t.pm_timer.present);
  EXPECT_TRUE(t.hpet.present);
  EXPECT_TRUE(t.madt.present);
  EXPECT_NE(problems(t).find("FACP: checksum does not add up"), std::string::npos) << problems(t);
}

TEST(Acpi, ATableLongerThanReachableMemoryIsIgnored) {
  Machine m = qemu_like();
  Bytes& h = m.mem.regions[0xe2000];  // the HPET: claims 4 KiB, 56 bytes are there
  put32(h, 4, 4096);
  Tables t = m.read();
  EXPECT_FALSE(t.hpet.present);
  EXPECT_NE(problems(t).find("HPET: length runs past reachable memory"), std::string::npos);
}

TEST(Acpi, AMadtEntryRunningPastTheTableStopsTheWalk) {
  Bytes bad = lapic(1, 1, 1);
  bad[1] = 200;  // length past the end
  Machine m;
  m.add(madt({lapic(0, 0, 1), bad}));
  m.finish();
  Tables t = m.read();
  EXPECT_EQ(t.madt.cpu_count, 1u);
  EXPECT_NE(problems(t).find("APIC: an entry's length runs past"), std::string::npos);
  Bytes zero = lapic(1, 1, 1);
  zero[1] = 0;  // a zero length would loop forever
  Machine z;
  z.add(madt({zero, lapic(2, 2, 1)}));
  z.finish();
  EXPECT_EQ(z.read().madt.cpu_count, 0u);
}

TEST(Acpi, BadRsdpsGiveNoAcpiAndSayWhy) {
  Tables t;
  EXPECT_FALSE(read_tables(nullptr, 0, FakeMemory{}.reader(), t));
  EXPECT_NE(problems(t).find("none from the boot loader"), std::string::npos);
  Bytes r = rsdp(0, 0xe0000, 0);
  r[0] = 'X';
  EXPECT_FALSE(read_tables(r.data(), r.size(), FakeMemory{}.reader(), t));
  EXPECT_NE(problems(t).find("signature"), std::string::npos);
  r = rsdp(0, 0xe0000, 0);
  r[16] ^= 1;
  EXPECT_FALSE(read_tables(r.data(), r.size(), FakeMemory{}.reader(), t));
  EXPECT_NE(problems(t).find("checksum"), std::string::npos);
  EXPECT_FALSE(read_tables(r.data(), 12, FakeMemory{}.reader(), t));
}

TEST(Acpi, ABrokenXsdpFallsBackToTheRsdt) {
  Machine m = qemu_like(0);  // an RSDT at 0xe0000
  Bytes r = rsdp(2, 0xe0000, 0xe0000);
  r[33] ^= 0xff;  // extended checksum now wrong
  Tables t;
  ASSERT_TRUE(read_tables(r.data(), r.size(), m.mem.reader(), t));
  EXPECT_TRUE(t.pm_timer.present) << problems(t);
  EXPECT_NE(problems(t).find("using RSDT"), std::string::npos);
}

TEST(Acpi, MissingTablesAreNoProblem) {
  Machine m;
  m.finish();
  Tables t = m.read();
  EXPECT_TRUE(t.rsdp_ok);
  EXPECT_FALSE(t.pm_timer.present || t.hpet.present || t.madt.present);
  EXPECT_EQ(t.problem_count, 0u);
}

TEST(Acpi, MisalignedOrIoHpetIsRefused) {
  Machine m;
  m.add(hpet(0xfed00010));
  m.finish();
  EXPECT_FALSE(m.read().hpet.present);
}

TEST(Acpi, RandomCorruptionNeverReadsOutsideWhatTheReaderGives) {
  // Flip bytes of every table at random (fixed seed); the reader only serves bytes inside the
  // regions, so any overrun would show as a crash or a sanitizer report. Nothing may throw.
  std::mt19937 rng(20261201);
  for (int round = 0; round < 2000; ++round) {
    Machine m = qemu_like(round % 2 ? 2 : 0);
    for (auto& [base, bytes] : m.mem.regions) {
      int flips = static_cast<int>(rng() % 4);
      for (int i = 0; i < flips; ++i) bytes[rng() % bytes.size()] = static_cast<u8>(rng());
      if (rng() % 8 == 0) bytes.resize(rng() % bytes.size());
    }
    Tables t = m.read();
    EXPECT_LE(t.problem_count, kMaxProblems);
    EXPECT_LE(t.madt.cpu_count, kMaxCpus);
  }
}

}  // namespace
}  // namespace ptb::acpi
