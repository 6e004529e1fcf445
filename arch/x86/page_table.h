// 4-level page tables (SDM Vol.3 4.5): entry layout and a builder that works on any "arena" of
// 4 KiB tables, so the host tests can run it against ordinary memory. The kernel's arena hands out
// physical frames that are identity-mapped.
#pragma once

#include "lib/types.h"

namespace ptb::x86 {

// SDM Vol.3 4.5, Tables 4-15 to 4-20.
struct Pte {
  static constexpr u64 kPresent = u64{1} << 0, kWritable = u64{1} << 1, kUser = u64{1} << 2,
                       kWriteThrough = u64{1} << 3, kCacheDisable = u64{1} << 4,
                       kAccessed = u64{1} << 5, kDirty = u64{1} << 6, kHuge = u64{1} << 7,
                       kGlobal = u64{1} << 8, kNoExecute = u64{1} << 63;
  static constexpr u64 kAddrMask = 0x000f'ffff'ffff'f000;
  static constexpr u64 kFlagsMask = ~kAddrMask;
  u64 raw = 0;

  static constexpr Pte make(u64 phys, u64 flags) {
    return Pte{(phys & kAddrMask) | (flags & kFlagsMask)};
  }
  constexpr bool present() const { return raw & kPresent; }
  constexpr bool huge() const { return raw & kHuge; }
  constexpr u64 addr() const { return raw & kAddrMask; }
  constexpr u64 flags() const { return raw & kFlagsMask; }
};
static_assert(Pte::make(0x1234'5000, Pte::kPresent | Pte::kWritable | Pte::kNoExecute).raw ==
              0x8000'0000'1234'5003);

inline constexpr u64 kPage = 4096;
inline constexpr u64 kLargePage = u64{2} << 20;
inline constexpr unsigned kEntries = 512;

// Index of `virt` in the table at `level` (4 = PML4, 3 = PDPT, 2 = PD, 1 = PT).
constexpr unsigned table_index(u64 virt, unsigned level) {
  return static_cast<unsigned>((virt >> (12 + 9 * (level - 1))) & 0x1ff);
}
// Canonical form for 48-bit addresses: bits 63:47 all equal.
constexpr bool is_canonical(u64 virt) {
  u64 top = virt >> 47;
  return top == 0 || top == 0x1'ffff;
}

// Where tables come from: `alloc` returns the physical address of a zeroed 4 KiB frame (0 when
// none is left); `table` turns a table's physical address into a pointer the builder can use.
struct Arena {
  u64 (*alloc)(void* ctx);
  u64* (*table)(void* ctx, u64 phys);
  void* ctx;
};

// What a walk found: the leaf's level and the effective permissions (SDM Vol.3 4.6: writable and
// user only if every level allows it, no-execute if any level forbids).
struct Translation {
  bool present = false;
  unsigned level = 0;  // 1 = 4 KiB page, 2 = 2 MiB page, 3 = 1 GiB page
  u64 phys = 0;        // physical address of `virt` itself
  u64 page_base = 0;   // virtual address where the leaf's page starts
  u64 page_size = 0;
  bool writable = false, user = false, no_execute = false, global = false;
};

enum class MapError { kNone, kOutOfMemory, kMisaligned, kNotCanonical, kConflict };
const char* map_error_name(MapError e);

class PageTable {
 public:
  // Intermediate entries are made present, writable and user-accessible: the leaves decide.
  static constexpr u64 kTableFlags = Pte::kPresent | Pte::kWritable | Pte::kUser;

  constexpr PageTable(Arena arena, u64 root_phys) : arena_(arena), root_(root_phys) {}
  u64 root() const { return root_; }
  const Arena& arena() const { return arena_; }

  [[nodiscard]] MapError map_4k(u64 virt, u64 phys, u64 flags);
  [[nodiscard]] MapError map_2m(u64 virt, u64 phys, u64 flags);
  // Maps [virt, virt + size) with 2 MiB pages where alignment allows and `large` is set.
  [[nodiscard]] MapError map_range(u64 virt, u64 phys, u64 size, u64 flags, bool large);
  // Clears the 4 KiB leaf for virt (no effect when unmapped). Returns whether one was cleared.
  bool unmap_4k(u64 virt);
  // The entry at `level` (4 = PML4 ... 1 = PT) on the walk to virt, when every table above it is
  // present (and no large page ends the walk earlier); nullptr otherwise. For code that rewrites
  // one entry in place (the TLB probes point a PDE at another table).
  u64* entry(u64 virt, unsigned level) const;
  Translation translate(u64 virt) const;

  // Calls visit(ctx, translation) once per present leaf, in address order, with
  // user/writable/no_execute as a walk would see them.
  void for_each_leaf(void (*visit)(void* ctx, const Translation&), void* ctx) const;

 private:
  u64* table(u64 phys) const { return arena_.table(arena_.ctx, phys); }
  // Returns the table at `level` covering virt, creating missing tables down from the root.
  u64* walk_create(u64 virt, unsigned level, MapError& err);
  void visit_table(u64 phys, unsigned level, u64 base, bool w, bool u, bool nx,
                   void (*visit)(void*, const Translation&), void* ctx) const;

  Arena arena_;
  u64 root_;
};

}  // namespace ptb::x86
