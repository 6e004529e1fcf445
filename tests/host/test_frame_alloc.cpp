// The physical frame allocator (kernel/frame_alloc.h) on realistic firmware memory maps. The
// central property: draining the allocator hands out every frame of the available RAM (rounded
// inwards per range) except frame 0 and the reserved ranges (rounded outwards), each exactly once,
// highest first. An independent per-frame model of that contract is the oracle.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <random>
#include <set>
#include <vector>

#include "kernel/frame_alloc.h"

namespace ptb {
namespace {

constexpr u64 kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024, kF = FrameAllocator::kFrame;

struct MapEntry {
  u64 base, length;
  u32 type;  // multiboot2: 1 available, 2 reserved, 3 ACPI reclaimable, 4 ACPI NVS, 5 bad
};

struct Range {
  u64 start, end;
};

// A typical SeaBIOS/QEMU e820 map for 8 GiB (the holes are the EBDA, the BIOS ROM, the 32-bit PCI
// hole with the LAPIC/IOAPIC and the firmware flash), trimmed to the ranges the brief names.
const MapEntry kBiosMap[] = {
    {0x0, 0x9fc00, 1},        {0x9fc00, 0x400, 2},
    {0xf0000, 0x10000, 2},    {0x10'0000, 3 * kGiB - 0x10'0000, 1},
    {0xfeff'c000, 0x4000, 2}, {0xfffc'0000, 0x4'0000, 2},
    {4 * kGiB, 4 * kGiB, 1},
};

// What the kernel reserves on top (kernel/memory.cpp init_frames), with unaligned edges the way
// a linker and GRUB produce them.
const Range kBiosReserved[] = {
    {0, 1 * kMiB},                   // the first MiB
    {0x10'0000, 0x17'f123},          // kernel image
    {0x19'0008, 0x19'0a40},          // multiboot2 boot information
    {0x20'0000, 0x25'0123},          // a module
    {0x1'2345'6789, 0x1'2346'0001},  // a module above 4 GiB
};

void load(FrameAllocator& fa, const MapEntry* map, usize n) {
  for (usize i = 0; i < n; ++i)
    if (map[i].type == 1) {
      ASSERT_TRUE(fa.add_available(map[i].base, map[i].length));
    }
}

std::vector<u64> drain(FrameAllocator& fa, u64 limit = ~u64{0}) {
  std::vector<u64> out;
  for (u64 f; (f = fa.alloc(limit)) != 0;) out.push_back(f);
  return out;
}

// The oracle: the frames the contract says may be handed out.
std::set<u64> model_frames(const std::vector<MapEntry>& map, const std::vector<Range>& reserved) {
  std::set<u64> frames;
  for (const MapEntry& e : map) {
    if (e.type != 1) continue;
    const u64 first = (e.base + kF - 1) / kF * kF, end = (e.base + e.length) / kF * kF;
    for (u64 f = first; f + kF <= end; f += kF)
      if (f != 0) frames.insert(f);
  }
  for (const Range& r : reserved) {
    const u64 first = r.start / kF * kF, end = (r.end + kF - 1) / kF * kF;
    for (u64 f = first; f < end; f += kF) frames.erase(f);
  }
  return frames;
}

void expect_strictly_descending(const std::vector<u64>& frames) {
  for (usize i = 1; i < frames.size(); ++i)
    ASSERT_LT(frames[i], frames[i - 1]) << "at " << i << ": not highest-first or handed out twice";
}

TEST(FrameAllocator, EmptyAllocatorHasNothing) {
  FrameAllocator fa;
  EXPECT_EQ(fa.alloc(), 0u);
  EXPECT_EQ(fa.alloc_contiguous(1, kF), 0u);
  EXPECT_EQ(fa.free_bytes(), 0u);
  EXPECT_EQ(fa.ram_top(), 0u);
  EXPECT_EQ(fa.range_count(), 0u);
}

TEST(FrameAllocator, BiosMapTotalsBeforeReserving) {
  FrameAllocator fa;
  load(fa, kBiosMap, std::size(kBiosMap));
  // [0x1000, 0x9f000): frame 0 excluded and 0x9fc00 rounded down; 1 MiB..3 GiB; 4..8 GiB.
  const u64 low = 0x9f000 - 0x1000, mid = 3 * kGiB - 1 * kMiB, high = 4 * kGiB;
  EXPECT_EQ(fa.free_bytes(), low + mid + high);
  EXPECT_EQ(fa.range_count(), 3u);
  EXPECT_EQ(fa.ram_top(), 8 * kGiB);
  EXPECT_EQ(fa.dropped_bytes(), 0u);
  EXPECT_EQ(fa.range(0).start, 0x1000u);
  EXPECT_EQ(fa.range(0).end, 0x9f000u);
}

TEST(FrameAllocator, BiosMapReservedRangesAreNeverHandedOut) {
  FrameAllocator fa;
  load(fa, kBiosMap, std::size(kBiosMap));
  for (const Range& r : kBiosReserved) EXPECT_TRUE(fa.reserve(r.start, r.end));
  // By hand: 1 MiB..3 GiB minus the kernel [1 MiB, 0x180000), boot info [0x190000, 0x191000),
  // module [2 MiB, 0x251000); 4..8 GiB minus [0x1'2345'6000, 0x1'2346'1000).
  const u64 mid = (3 * kGiB - 0x18'0000) - 0x1000 - 0x5'1000;
  const u64 high = 4 * kGiB - 0xb000;
  EXPECT_EQ(fa.free_bytes(), mid + high);

  const std::vector<u64> frames = drain(fa);
  EXPECT_EQ(frames.size() * kF, mid + high);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.front(), 8 * kGiB - kF);  // highest first
  EXPECT_EQ(frames.back(), 0x18'0000u);      // lowest: right after the kernel image
  expect_strictly_descending(frames);
  for (u64 f : frames) {
    ASSERT_EQ(f % kF, 0u);
    ASSERT_NE(f, 0u);
    for (const Range& r : kBiosReserved)
      ASSERT_FALSE(f + kF > r.start && f < r.end)
          << std::hex << "frame " << f << " overlaps a reservation";
    ASSERT_TRUE((f >= 1 * kMiB && f + kF <= 3 * kGiB) || (f >= 4 * kGiB && f + kF <= 8 * kGiB))
        << std::hex << f << " is not available RAM";
  }
  EXPECT_EQ(fa.free_bytes(), 0u);
  EXPECT_EQ(fa.alloc(), 0u);
}

TEST(FrameAllocator, LimitKeepsFramesBelowIt) {
  FrameAllocator fa;
  load(fa, kBiosMap, std::size(kBiosMap));
  ASSERT_TRUE(fa.reserve(0, 1 * kMiB));
  // Highest frame that ends at or below 4 GiB is the top of the 1 MiB..3 GiB range.
  EXPECT_EQ(fa.alloc(4 * kGiB), 3 * kGiB - kF);
  // An unaligned limit: the frame must lie entirely below it.
  EXPECT_EQ(fa.alloc(0x1000'0800), 0x0fff'f000u);
  EXPECT_EQ(fa.alloc(0x1000'0000), 0x0fff'e000u);
  // Unlimited still takes the very top.
  EXPECT_EQ(fa.alloc(), 8 * kGiB - kF);

  const std::vector<u64> low = drain(fa, 4 * kGiB);
  EXPECT_EQ(low.size() * kF, 3 * kGiB - 1 * kMiB - 3 * kF);
  for (u64 f : low) ASSERT_LE(f + kF, 4 * kGiB);
  expect_strictly_descending(low);
  // The memory above 4 GiB is untouched (less the one frame taken above).
  EXPECT_EQ(fa.free_bytes(), 4 * kGiB - kF);
  EXPECT_EQ(fa.alloc(4 * kGiB), 0u);
}

TEST(FrameAllocator, LimitBelowAllMemoryReturnsZero) {
  FrameAllocator fa;
  ASSERT_TRUE(fa.add_available(0, 0x9fc00));
  EXPECT_EQ(fa.alloc(0x1000), 0u);  // only frame 0 would fit, and it is never handed out
  EXPECT_EQ(fa.alloc(0x1fff), 0u);
  EXPECT_EQ(fa.alloc(0x2000), 0x1000u);
  EXPECT_EQ(fa.alloc(0), 0u);
}

TEST(FrameAllocator, FrameZeroIsNeverReturned) {
  FrameAllocator fa;
  ASSERT_TRUE(fa.add_available(0, 0x10000));
  const std::vector<u64> frames = drain(fa);
  ASSERT_EQ(frames.size(), 15u);
  EXPECT_EQ(frames.front(), 0xf000u);
  EXPECT_EQ(frames.back(), 0x1000u);
  EXPECT_EQ(std::count(frames.begin(), frames.end(), 0u), 0);
  // Also through alloc_contiguous, which could otherwise place a block at 0.
  FrameAllocator fb;
  ASSERT_TRUE(fb.add_available(0, 0x2000));
  EXPECT_EQ(fb.alloc_contiguous(1, 0x2000), 0u);
  EXPECT_EQ(fb.alloc_contiguous(2, kF), 0u);
  EXPECT_EQ(fb.alloc(), 0x1000u);
}

TEST(FrameAllocator, UnalignedAvailableRangesAreRoundedInwards) {
  FrameAllocator fa;
  ASSERT_TRUE(fa.add_available(0x1234, 0x5000));  // [0x1234, 0x6234) -> [0x2000, 0x6000)
  EXPECT_EQ(fa.free_bytes(), 0x4000u);
  EXPECT_EQ(fa.range(0).start, 0x2000u);
  EXPECT_EQ(fa.range(0).end, 0x6000u);
  ASSERT_TRUE(fa.add_available(0x10'0800, 0x800));  // inside one frame: nothing
  EXPECT_EQ(fa.free_bytes(), 0x4000u);
  ASSERT_TRUE(fa.add_available(0x20'0fff, 0x1002));  // [0x200fff, 0x202001) -> one frame
  EXPECT_EQ(fa.free_bytes(), 0x5000u);
  EXPECT_EQ(fa.alloc(), 0x20'1000u);
  const std::vector<u64> rest = drain(fa);
  EXPECT_EQ(rest, (std::vector<u64>{0x5000, 0x4000, 0x3000, 0x2000}));
}

TEST(FrameAllocator, ZeroLengthAndWrappingRangesAreIgnored) {
  FrameAllocator fa;
  EXPECT_TRUE(fa.add_available(0x10'0000, 0));
  EXPECT_EQ(fa.free_bytes(), 0u);
  fa.add_available(0xffff'ffff'ffff'0000, 0x2'0000);  // wraps past 2^64: must not add garbage
  EXPECT_EQ(fa.free_bytes(), 0u);
  EXPECT_EQ(fa.alloc(), 0u);
}

TEST(FrameAllocator, AllocContiguousHonours8KiBAlignment) {
  FrameAllocator fa;
  ASSERT_TRUE(fa.add_available(0x3000, 0x5000));  // [0x3000, 0x8000)
  EXPECT_EQ(fa.alloc_contiguous(2, 0x2000), 0x6000u);
  EXPECT_EQ(fa.alloc_contiguous(2, 0x2000), 0x4000u);
  EXPECT_EQ(fa.alloc_contiguous(2, 0x2000), 0u);  // only [0x3000, 0x4000) is left
  EXPECT_EQ(fa.alloc(), 0x3000u);
  EXPECT_EQ(fa.alloc(), 0u);
}

TEST(FrameAllocator, AllocContiguousSkipsAnUnalignedTop) {
  FrameAllocator fa;
  ASSERT_TRUE(fa.add_available(0x1000, 0x8000));  // [0x1000, 0x9000)
  EXPECT_EQ(fa.alloc(), 0x8000u);                 // now [0x1000, 0x8000)
  EXPECT_EQ(fa.alloc(), 0x7000u);                 // now [0x1000, 0x7000): top not 8K-aligned
  // Two frames below 0x7000, first one 8 KiB aligned: 0x4000 (0x6000 + 0x2000 > 0x7000).
  EXPECT_EQ(fa.alloc_contiguous(2, 0x2000), 0x4000u);
  // The frame the alignment skipped is still free, and so is the rest below.
  EXPECT_EQ(drain(fa), (std::vector<u64>{0x6000, 0x3000, 0x2000, 0x1000}));
}

TEST(FrameAllocator, AllocContiguousLargeBlocksAndLimit) {
  FrameAllocator fa;
  load(fa, kBiosMap, std::size(kBiosMap));
  ASSERT_TRUE(fa.reserve(0, 1 * kMiB));
  EXPECT_EQ(fa.alloc_contiguous(512, 2 * kMiB), 8 * kGiB - 2 * kMiB);
  EXPECT_EQ(fa.alloc_contiguous(512, 2 * kMiB, 4 * kGiB), 3 * kGiB - 2 * kMiB);
  EXPECT_EQ(fa.alloc_contiguous(2, 2 * kF, 4 * kGiB), 3 * kGiB - 2 * kMiB - 2 * kF);
  EXPECT_EQ(fa.free_bytes(), (3 * kGiB - 1 * kMiB) + 4 * kGiB - 4 * kMiB - 2 * kF);
  // The PTI PGD pair the suite allocates: two frames, 8 KiB aligned, low.
  const u64 pair = fa.alloc_contiguous(2, 2 * kF, 4 * kGiB);
  EXPECT_EQ(pair % (2 * kF), 0u);
  EXPECT_LE(pair + 2 * kF, 4 * kGiB);
}

TEST(FrameAllocator, AllocContiguousRejectsBadArguments) {
  FrameAllocator fa;
  ASSERT_TRUE(fa.add_available(1 * kMiB, 1 * kMiB));
  const u64 before = fa.free_bytes();
  EXPECT_EQ(fa.alloc_contiguous(0, kF), 0u);
  EXPECT_EQ(fa.alloc_contiguous(1, 0), 0u);
  EXPECT_EQ(fa.alloc_contiguous(1, 0x800), 0u);   // below a frame
  EXPECT_EQ(fa.alloc_contiguous(1, 0x3000), 0u);  // not a power of two
  EXPECT_EQ(fa.alloc_contiguous(257, kF), 0u);    // larger than any range
  EXPECT_EQ(fa.free_bytes(), before);
}

TEST(FrameAllocator, AllocContiguousNeverSpansAHole) {
  FrameAllocator fa;
  ASSERT_TRUE(fa.add_available(0x10000, 0x1000));
  ASSERT_TRUE(fa.add_available(0x12000, 0x1000));
  EXPECT_EQ(fa.alloc_contiguous(2, kF), 0u);
  EXPECT_EQ(fa.free_bytes(), 0x2000u);
  ASSERT_TRUE(fa.add_available(0x11000, 0x1000));  // now touching: one range
  EXPECT_EQ(fa.range_count(), 1u);
  EXPECT_EQ(fa.alloc_contiguous(3, kF), 0x10000u);
}

// alloc_contiguous computes `count * kFrame` in 64 bits; a count of 2^52 frames wraps to 0 bytes,
// every range then "fits", and a frame is returned while reserve(first, first + 0) removes nothing:
// the same frame is handed out again by the next alloc().
TEST(FrameAllocator, AllocContiguousWithOverflowingCountFails) {
  FrameAllocator fa;
  ASSERT_TRUE(fa.add_available(1 * kMiB, 1 * kMiB));
  EXPECT_EQ(fa.alloc_contiguous(usize{1} << 52, kF), 0u);
  EXPECT_EQ(fa.free_bytes(), 1 * kMiB);
}

TEST(FrameAllocator, Totals64MiB) {
  // QEMU -m 64 (SeaBIOS): [0, 0x9fc00) and [1 MiB, 0x3fe0000) usable.
  const MapEntry map[] = {{0, 0x9fc00, 1},           {0x9fc00, 0x400, 2},
                          {0xf0000, 0x10000, 2},     {0x10'0000, 0x3fe'0000 - 0x10'0000, 1},
                          {0x3fe'0000, 0x2'0000, 2}, {0xfffc'0000, 0x4'0000, 2}};
  FrameAllocator fa;
  load(fa, map, std::size(map));
  EXPECT_EQ(fa.free_bytes(), 0x9e000u + 0x3ee'0000u);
  EXPECT_EQ(fa.ram_top(), 0x3fe'0000u);
  ASSERT_TRUE(fa.reserve(0, 1 * kMiB));
  EXPECT_EQ(fa.free_bytes(), 0x3ee'0000u);
  EXPECT_EQ(drain(fa).size(), 0x3ee0u);
}

TEST(FrameAllocator, Totals8GiB) {
  FrameAllocator fa;
  ASSERT_TRUE(fa.add_available(4 * kGiB, 4 * kGiB));
  ASSERT_TRUE(fa.add_available(1 * kMiB, 3 * kGiB - 1 * kMiB));
  ASSERT_TRUE(fa.add_available(0x1000, 0x9e000));
  EXPECT_EQ(fa.free_bytes(), 7 * kGiB - 1 * kMiB + 0x9e000);
  EXPECT_EQ(fa.ram_top(), 8 * kGiB);
  EXPECT_EQ(fa.range_count(), 3u);
  // Sorted regardless of insertion order.
  EXPECT_EQ(fa.range(0).start, 0x1000u);
  EXPECT_EQ(fa.range(1).start, 1 * kMiB);
  EXPECT_EQ(fa.range(2).start, 4 * kGiB);
}

TEST(FrameAllocator, MoreRangesThanTheTableHoldsAreDroppedAndCounted) {
  FrameAllocator fa;
  const usize n = FrameAllocator::kMaxRanges + 72;
  usize accepted = 0;
  for (usize i = 0; i < n; ++i) {
    // Two frames every 64 KiB: never touching, so none merge.
    if (fa.add_available(1 * kMiB + i * 64 * kKiB, 2 * kF)) ++accepted;
  }
  EXPECT_EQ(accepted, FrameAllocator::kMaxRanges);
  EXPECT_EQ(fa.range_count(), FrameAllocator::kMaxRanges);
  EXPECT_EQ(fa.free_bytes(), FrameAllocator::kMaxRanges * 2 * kF);
  EXPECT_EQ(fa.dropped_bytes(), 72 * 2 * kF);
  // A range that merges with one already held needs no new slot and is still accepted.
  EXPECT_TRUE(fa.add_available(1 * kMiB + 2 * kF, kF));
  EXPECT_EQ(fa.free_bytes(), FrameAllocator::kMaxRanges * 2 * kF + kF);
  // A new disjoint one below everything is dropped too.
  EXPECT_FALSE(fa.add_available(0x10000, kF));
  EXPECT_EQ(fa.dropped_bytes(), 73 * 2 * kF - kF);
  // What is held is still allocatable and consistent.
  const std::vector<u64> frames = drain(fa);
  EXPECT_EQ(frames.size(), FrameAllocator::kMaxRanges * 2 + 1);
  expect_strictly_descending(frames);
}

TEST(FrameAllocator, ReserveSplitsARange) {
  FrameAllocator fa;
  ASSERT_TRUE(fa.add_available(0x1000, 0xff000));  // [0x1000, 0x100000)
  EXPECT_TRUE(fa.reserve(0x5001, 0x6fff));         // rounded outwards to [0x5000, 0x7000)
  ASSERT_EQ(fa.range_count(), 2u);
  EXPECT_EQ(fa.range(0).start, 0x1000u);
  EXPECT_EQ(fa.range(0).end, 0x5000u);
  EXPECT_EQ(fa.range(1).start, 0x7000u);
  EXPECT_EQ(fa.range(1).end, 0x10'0000u);
  EXPECT_EQ(fa.free_bytes(), 0xff000u - 0x2000u);
}

TEST(FrameAllocator, ReserveAcrossSeveralRanges) {
  FrameAllocator fa;
  ASSERT_TRUE(fa.add_available(0x10000, 0x10000));  // [0x10000, 0x20000)
  ASSERT_TRUE(fa.add_available(0x30000, 0x10000));  // [0x30000, 0x40000)
  ASSERT_TRUE(fa.add_available(0x50000, 0x10000));  // [0x50000, 0x60000)
  EXPECT_TRUE(fa.reserve(0x18000, 0x54000));
  ASSERT_EQ(fa.range_count(), 2u);
  EXPECT_EQ(fa.range(0).end, 0x18000u);
  EXPECT_EQ(fa.range(1).start, 0x54000u);
  EXPECT_EQ(fa.free_bytes(), 0x8000u + 0xc000u);
  // Reserving what is not there changes nothing.
  EXPECT_TRUE(fa.reserve(0x20'0000, 0x30'0000));
  EXPECT_EQ(fa.free_bytes(), 0x14000u);
  // Reserving exactly a whole range removes it.
  EXPECT_TRUE(fa.reserve(0x10000, 0x18000));
  EXPECT_EQ(fa.range_count(), 1u);
}

TEST(FrameAllocator, ReserveSplitWithAFullTableStillNeverHandsOutReservedFrames) {
  FrameAllocator fa;
  for (usize i = 0; i < FrameAllocator::kMaxRanges; ++i)
    ASSERT_TRUE(fa.add_available(1 * kMiB + i * 64 * kKiB, 8 * kF));  // 32 KiB gaps
  const u64 before = fa.free_bytes();
  // Splitting the first range needs a slot there is none of: the upper part is given up
  // (and counted as dropped) rather than the reservation.
  const u64 r0 = 1 * kMiB + 4 * kF, r1 = 1 * kMiB + 6 * kF;
  const bool ok = fa.reserve(r0, r1);
  EXPECT_FALSE(ok);
  EXPECT_EQ(fa.free_bytes() + fa.dropped_bytes(), before - (r1 - r0));
  for (u64 f : drain(fa)) ASSERT_FALSE(f >= r0 && f < r1) << std::hex << f;
}

TEST(FrameAllocator, OverlappingAndTouchingAddsMerge) {
  FrameAllocator fa;
  ASSERT_TRUE(fa.add_available(0x1000, 0x4000));    // [0x1000, 0x5000)
  ASSERT_TRUE(fa.add_available(0x3000, 0x6000));    // overlaps: [0x1000, 0x9000)
  ASSERT_TRUE(fa.add_available(0x9000, 0x1000));    // touches: [0x1000, 0xa000)
  ASSERT_TRUE(fa.add_available(0x20000, 0x10000));  // apart: [0x20000, 0x30000)
  ASSERT_TRUE(fa.add_available(0x1000, 0x4000));    // duplicate
  EXPECT_EQ(fa.range_count(), 2u);
  EXPECT_EQ(fa.free_bytes(), 0x9000u + 0x10000u);
  ASSERT_TRUE(fa.add_available(0x8000, 0x19000));  // bridges both: [0x1000, 0x30000)
  ASSERT_EQ(fa.range_count(), 1u);
  EXPECT_EQ(fa.range(0).start, 0x1000u);
  EXPECT_EQ(fa.range(0).end, 0x30000u);
  EXPECT_EQ(fa.free_bytes(), 0x2f000u);
  const std::vector<u64> frames = drain(fa);
  EXPECT_EQ(frames.size(), 0x2fu);
  expect_strictly_descending(frames);
}

TEST(FrameAllocator, MergeSpanningManyRangesKeepsTheTableSorted) {
  FrameAllocator fa;
  for (u64 i = 0; i < 20; ++i) ASSERT_TRUE(fa.add_available(0x100000 + i * 0x10000, 0x1000));
  ASSERT_TRUE(fa.add_available(0x50000, 0x1000));    // below all
  ASSERT_TRUE(fa.add_available(0x900000, 0x1000));   // above all
  ASSERT_TRUE(fa.add_available(0x140000, 0x81000));  // swallows ranges 4..12 (ends at 0x1c1000)
  for (usize i = 1; i < fa.range_count(); ++i) ASSERT_LT(fa.range(i - 1).end, fa.range(i).start);
  EXPECT_EQ(fa.range_count(), 22u - 9u + 1u);
  EXPECT_EQ(fa.free_bytes(), (22 - 9) * 0x1000u + 0x81000u);
}

// A UEFI (OVMF-like) memory map as GRUB passes it: many small ranges, boot-services memory marked
// available, ACPI and NVS holes between them, some unaligned. Checked against the model.
TEST(FrameAllocator, UefiFragmentedMapMatchesTheModel) {
  const std::vector<MapEntry> map = {
      {0x0, 0xa0000, 1},
      {0x100000, 0x700000, 1},
      {0x800000, 0x8000, 4},
      {0x808000, 0x3000, 1},
      {0x80b000, 0x1000, 4},
      {0x80c000, 0x5000, 1},
      {0x811000, 0xef000, 4},
      {0x900000, 0x1000000, 1},
      {0x1900000, 0x24000, 1},
      {0x1924000, 0x1c000, 2},
      {0x1940000, 0x3e00000, 1},
      {0x5740000, 0x20c00, 1},
      {0x5760c00, 0x3f400, 1},
      {0x57a0000, 0x1000, 2},
      {0x57a1000, 0x16c5f000, 1},
      {0x1c400000, 0x10000, 2},
      {0x1c410000, 0x2c0000, 1},
      {0x1c6d0000, 0x30000, 1},
      {0x1c700000, 0x100000, 2},
      {0x1c800000, 0x1f0000, 1},
      {0x1c9f0000, 0x8000, 3},
      {0x1c9f8000, 0x1800, 1},
      {0x1c9f9800, 0x800, 4},
      {0x1c9fa000, 0x6000, 1},
      {0x1ca00000, 0x400000, 1},
      {0x1ce00000, 0x200000, 2},
      {0x1d000000, 0x100000, 1},
      {0x1d100000, 0x20000, 4},
      {0x1d120000, 0x2aee000, 1},
      {0x1fc0e000, 0x1f2000, 2},
      {0x1fe00000, 0x180000, 1},
      {0x1ff80000, 0x40000, 4},
      {0x1ffc0123, 0x2fedd, 1},
      {0x1fff0000, 0x10000, 2},
      {0xb0000000, 0x10000000, 2},
      {0xffc00000, 0x400000, 2},
      {0x1'0000'0000, 0x2000'0000, 1},
      {0x1'2000'0000, 0x800, 1},
      {0xfd'0000'0000, 0x3'0000'0000, 2},
  };
  ASSERT_GE(map.size(), 36u);
  const std::vector<Range> reserved = {
      {0, 1 * kMiB}, {0x100000, 0x1a3456}, {0x1ab000, 0x1ab2c8}, {0x1940000, 0x1b40000}};
  FrameAllocator fa;
  for (const MapEntry& e : map)
    if (e.type == 1) {
      ASSERT_TRUE(fa.add_available(e.base, e.length));
    }
  for (const Range& r : reserved) ASSERT_TRUE(fa.reserve(r.start, r.end));
  EXPECT_EQ(fa.dropped_bytes(), 0u);
  const std::set<u64> model = model_frames(map, reserved);
  EXPECT_EQ(fa.free_bytes(), model.size() * kF);

  // Half of it below 512 MiB first, then the rest: the limit must be respected along the way.
  std::vector<u64> got = drain(fa, 0x2000'0000);
  for (u64 f : got) ASSERT_LE(f + kF, 0x2000'0000u);
  expect_strictly_descending(got);
  const std::vector<u64> high = drain(fa);
  expect_strictly_descending(high);
  got.insert(got.end(), high.begin(), high.end());
  const std::set<u64> got_set(got.begin(), got.end());
  EXPECT_EQ(got_set.size(), got.size()) << "a frame was handed out twice";
  EXPECT_TRUE(got_set == model) << "got " << got_set.size() << " frames, model " << model.size();
}

TEST(FrameAllocator, PropertyRandomMapsMatchTheModel) {
  std::mt19937_64 rng(4242);
  for (int round = 0; round < 40; ++round) {
    SCOPED_TRACE(round);
    std::vector<MapEntry> map;
    const int n = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      const u64 base = rng() % (64 * kMiB), len = rng() % (2 * kMiB);
      map.push_back({base, len, static_cast<u32>(1 + rng() % 3)});
    }
    std::vector<Range> reserved;
    const int m = static_cast<int>(rng() % 8);
    for (int i = 0; i < m; ++i) {
      const u64 s = rng() % (64 * kMiB);
      reserved.push_back({s, s + rng() % (1 * kMiB)});
    }
    FrameAllocator fa;
    for (const MapEntry& e : map)
      if (e.type == 1) {
        ASSERT_TRUE(fa.add_available(e.base, e.length));
      }
    for (const Range& r : reserved) fa.reserve(r.start, r.end);
    ASSERT_EQ(fa.dropped_bytes(), 0u);
    const std::set<u64> model = model_frames(map, reserved);
    ASSERT_EQ(fa.free_bytes(), model.size() * kF);
    const u64 limit = rng() % (64 * kMiB);
    std::vector<u64> got = drain(fa, limit);
    for (u64 f : got) ASSERT_LE(f + kF, limit);
    // Exactly the model's frames below the limit, highest first.
    std::vector<u64> want;
    for (auto it = model.rbegin(); it != model.rend(); ++it)
      if (*it + kF <= limit) want.push_back(*it);
    ASSERT_EQ(got, want);
    const std::vector<u64> rest = drain(fa);
    got.insert(got.end(), rest.begin(), rest.end());
    ASSERT_EQ(std::set<u64>(got.begin(), got.end()), model);
    ASSERT_EQ(got.size(), model.size());
  }
}

TEST(FrameAllocator, RamTopDoesNotDropWhenTheTopFramesAreHandedOut) {
  // init_paging maps RAM up to ram_top() after page tables were already allocated from the top.
  FrameAllocator fa;
  ASSERT_TRUE(fa.add_available(1 * kMiB, 63 * kMiB));
  const u64 top = fa.ram_top();
  ASSERT_EQ(top, 64 * kMiB);
  for (int i = 0; i < 100; ++i) ASSERT_NE(fa.alloc(), 0u);
  ASSERT_TRUE(fa.reserve(60 * kMiB, 64 * kMiB));
  EXPECT_EQ(fa.ram_top(), top);
}

}  // namespace
}  // namespace ptb
