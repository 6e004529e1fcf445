// libFuzzer target: ptb::mb2::parse over any bytes, twice per input: from an exact-size heap
// copy (ASan catches a read past `readable`), and copied so that it ends exactly where a
// PROT_NONE page begins (a read past the end is a SIGSEGV even without ASan: the case of boot
// information that ends at the last mapped byte). Then it checks what the header promises about
// the pointers and counts it returns. tests/fuzz/fuzz.cmake builds it; see docs/fuzzing.md.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernel/multiboot2.h"

using namespace ptb;

namespace {

constexpr usize kMaxInput = 64 * 1024;  // the guarded area below

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool inside(const void* p, usize n, const u8* base, usize size) {
  auto* b = static_cast<const u8*>(p);
  return b >= base && n <= size && b + n <= base + size;
}

void check_string(const char* s, usize len, const u8* base, usize size) {
  if (s == nullptr) return;
  check(inside(s, len + 1, base, size));
  check(s[len] == '\0');
}

void check_info(const mb2::BootInfo& bi, bool ok, const u8* base, usize readable) {
  check(bi.problem_count <= mb2::kMaxProblems);
  if (!ok) {
    check(bi.problem_count >= 1);
    return;
  }
  check(bi.total_size >= 16 && bi.total_size <= readable);
  check(bi.memory_count <= mb2::kMaxMemoryRegions);
  check(bi.module_count <= mb2::kMaxModules);
  for (usize i = 0; i < bi.memory_count; ++i) check(bi.memory[i].length != 0);
  if (bi.cmdline != nullptr) {
    check_string(bi.cmdline, bi.cmdline_len, base, bi.total_size);
    check(strlen(bi.cmdline) == bi.cmdline_len);
  }
  for (usize i = 0; i < bi.module_count; ++i) {
    const char* c = bi.modules[i].cmdline;
    if (c != nullptr) check_string(c, strlen(c), base, bi.total_size);
  }
  if (bi.rsdp != nullptr) {
    check(bi.rsdp_version == 1 || bi.rsdp_version == 2);
    check(inside(bi.rsdp, bi.rsdp_version == 1 ? 20 : 36, base, bi.total_size));
  }
  for (usize i = 0; i < bi.problem_count; ++i) {
    check(bi.problems[i].what != nullptr);
    check(strlen(bi.problems[i].what) < 256);
    check(bi.problems[i].tag_type == mb2::kNoTag || bi.problems[i].offset <= bi.total_size);
  }
  (void)mb2::memory_type_name(bi.memory_count ? bi.memory[0].type : 0);
}

u8* guarded_area() {
  static u8* area = [] {
    long page = sysconf(_SC_PAGESIZE);
    usize span = kMaxInput + static_cast<usize>(page);
    void* m = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) abort();
    u8* guard = static_cast<u8*>(m) + kMaxInput;
    if (mprotect(guard, static_cast<usize>(page), PROT_NONE) != 0) abort();
    return guard;  // the first byte that may not be read
  }();
  return area;
}

mb2::BootInfo info;  // large: not on the stack

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInput) size = kMaxInput;

  // 1. An exact-size heap copy (operator new aligns to 16).
  u8* heap = new u8[size ? size : 1];
  if (size) memcpy(heap, data, size);
  bool ok = mb2::parse(heap, size, info);
  check_info(info, ok, heap, size);
  static const bool verbose = getenv("PTIBENCH_FUZZ_VERBOSE") != nullptr;
  if (verbose) {  // PTIBENCH_FUZZ_VERBOSE=1 ./multiboot2_fuzz FILE: what a seed reaches
    fprintf(stderr, "ok=%d cmdline='%s' regions=%zu fb=%d modules=%zu rsdp=v%u efi=%d\n", ok,
            info.cmdline ? info.cmdline : "", info.memory_count, info.has_framebuffer,
            info.module_count, info.rsdp ? info.rsdp_version : 0, info.efi);
    for (usize i = 0; i < info.problem_count; ++i)
      fprintf(stderr, "  problem (tag %u at %u): %s\n", info.problems[i].tag_type,
              info.problems[i].offset, info.problems[i].what);
  }
  delete[] heap;

  // 2. Ending at a PROT_NONE page; the parser needs an 8-aligned start, so the length used is
  // the input's rounded down to a multiple of 8 (all of it for inputs the fuzzer sizes so).
  usize n = size & ~usize{7};
  u8* at = guarded_area() - n;
  memcpy(at, data, n);
  ok = mb2::parse(at, n, info);
  check_info(info, ok, at, n);

  return 0;
}
