// libFuzzer target: ptb::acpi::read_tables (kernel/acpi.h) over an RSDP and physical memory
// both made from the fuzz input:
//
//   u8 rsdp_len, rsdp_len bytes of RSDP, then up to kMaxRegions regions, each
//   { u64 phys base (little-endian), u16 length, length bytes }
//
// (tests/fuzz/make_corpus.py writes a QEMU-like set in this form). The MemoryReader grants
// [phys, phys + len) only when one region holds all of it, and hands out a fresh exact-size
// copy each time, so that ASan reports a read past what the reader asked for. Then it checks
// the counts and texts the header promises. tests/fuzz/fuzz.cmake builds it; docs/fuzzing.md.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "kernel/acpi.h"

using namespace ptb;

namespace {

constexpr usize kMaxRegions = 8;
constexpr usize kMaxReads = 4096;  // a reader that loops would show up as a timeout anyway

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Region {
  u64 base;
  const u8* bytes;
  usize len;
};

struct Memory {
  std::vector<Region> regions;
  std::vector<std::unique_ptr<u8[]>> handed_out;  // alive until read_tables returns
};

const u8* read(void* ctx, u64 phys, usize len) {
  auto* mem = static_cast<Memory*>(ctx);
  if (mem->handed_out.size() >= kMaxReads) return nullptr;
  for (const Region& r : mem->regions) {
    if (phys < r.base || phys - r.base > r.len || len > r.len - (phys - r.base)) continue;
    std::unique_ptr<u8[]> copy(new u8[len ? len : 1]);
    if (len) memcpy(copy.get(), r.bytes + (phys - r.base), len);
    mem->handed_out.push_back(std::move(copy));
    return mem->handed_out.back().get();
  }
  return nullptr;
}

u64 le(const u8* p, usize n) {
  u64 v = 0;
  for (usize i = 0; i < n; ++i) v |= u64{p[i]} << (8 * i);
  return v;
}

acpi::Tables tables;  // large: not on the stack

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool verbose = getenv("PTIBENCH_FUZZ_VERBOSE") != nullptr;
  if (size < 1) return 0;
  usize rsdp_len = data[0];
  if (rsdp_len > size - 1) rsdp_len = size - 1;
  std::vector<u8> rsdp(data + 1, data + 1 + rsdp_len);  // exact size, as the boot loader's copy
  Memory mem;
  usize at = 1 + rsdp_len;
  while (mem.regions.size() < kMaxRegions && size - at >= 10) {
    u64 base = le(data + at, 8);
    usize len = static_cast<usize>(le(data + at + 8, 2));
    at += 10;
    if (len > size - at) len = size - at;
    mem.regions.push_back(Region{base, data + at, len});
    at += len;
  }

  acpi::MemoryReader reader{read, &mem};
  bool ok = acpi::read_tables(rsdp_len ? rsdp.data() : nullptr, rsdp_len, reader, tables);
  check(ok == tables.rsdp_ok);
  check(tables.problem_count <= acpi::kMaxProblems);
  for (usize i = 0; i < tables.problem_count; ++i) {
    check(tables.problems[i].what != nullptr && strlen(tables.problems[i].what) < 256);
    check(memchr(tables.problems[i].table, '\0', 5) != nullptr);
  }
  check(memchr(tables.oem, '\0', 7) != nullptr);
  for (const char* c = tables.oem; *c; ++c) check(*c >= 0x20 && *c < 0x7f);
  check(tables.madt.cpu_count <= acpi::kMaxCpus);
  if (verbose) {  // PTIBENCH_FUZZ_VERBOSE=1 ./acpi_fuzz FILE: what a seed reaches
    fprintf(stderr, "rsdp_ok=%d oem='%s' rev=%u pm_timer=%d port=0x%x hpet=%d madt=%d cpus=%zu\n",
            ok, tables.oem, tables.revision, tables.pm_timer.present, tables.pm_timer.port,
            tables.hpet.present, tables.madt.present, tables.madt.cpu_count);
    for (usize i = 0; i < tables.problem_count; ++i)
      fprintf(stderr, "  problem %s: %s\n", tables.problems[i].table, tables.problems[i].what);
  }
  return 0;
}
