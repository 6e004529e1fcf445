// Physical frame allocator: the multiboot2 memory map's available RAM minus everything that must
// never be handed out (the kernel image, the boot information, modules, the first MiB). Pure,
// host-tested. Frames are never freed: a benchmark kernel allocates its tables and buffers once.
#pragma once

#include "lib/types.h"

namespace ptb {

struct PhysRange {
  u64 start;  // inclusive
  u64 end;    // exclusive
};

class FrameAllocator {
 public:
  static constexpr u64 kFrame = 4096;
  static constexpr usize kMaxRanges = 128;

  // Adds available RAM (rounded inwards to whole frames). Returns false when the range table is
  // full and the range was dropped.
  bool add_available(u64 base, u64 length);
  // Removes [start, end) (rounded outwards to whole frames) from what can be handed out.
  bool reserve(u64 start, u64 end);

  // The highest free frame that ends at or below `limit` (all of it lies below `limit`), or 0
  // when there is none. Frame 0 is never handed out, so 0 is unambiguous.
  u64 alloc(u64 limit = ~u64{0});
  // `count` physically contiguous frames, the first aligned to `align` bytes (a power of two
  // multiple of 4 KiB), all below `limit`. Returns the first frame or 0.
  u64 alloc_contiguous(usize count, u64 align, u64 limit = ~u64{0});

  u64 free_bytes() const;
  // The end of the highest available range ever added (allocations and reservations do not
  // lower it): the top of RAM, for mapping all of it.
  u64 ram_top() const;
  usize range_count() const { return count_; }
  const PhysRange& range(usize i) const { return ranges_[i]; }
  // Ranges lost because the table was full (their bytes are not counted as free).
  u64 dropped_bytes() const { return dropped_; }

 private:
  bool insert(u64 start, u64 end);
  void remove_at(usize i);

  PhysRange ranges_[kMaxRanges] = {};  // sorted by start, disjoint
  usize count_ = 0;
  u64 dropped_ = 0;
  u64 top_ = 0;
};

}  // namespace ptb
