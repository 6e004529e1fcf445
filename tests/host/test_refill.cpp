// Where the refill passes touch their pages (bench/refill.h) and the chain the chase form follows.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "bench/refill.h"

namespace ptb::bench {
namespace {

TEST(RefillOffsets, SixtyFourPagesInARowUseSixtyFourDifferentLines) {
  // A 64-set, 64-byte-line L1 indexes with bits 6..11: the set is the line within the page.
  for (u64 start : {0u, 1u, 63u, 1000u}) {
    std::set<u64> sets;
    for (u64 i = start; i < start + 64; ++i) sets.insert(touch_offset(i) / kTouchLineStride);
    EXPECT_EQ(sets.size(), 64u) << start;
  }
}

TEST(RefillOffsets, EveryTouchIsLineAlignedInsideItsOwnPage) {
  for (u64 i = 0; i < 4096; ++i) {
    EXPECT_EQ(touch_offset(i) % kTouchLineStride, 0u) << i;
    EXPECT_LT(touch_offset(i) + 8, kTouchPage + 1) << i;  // the chase's quadword fits
    EXPECT_EQ(touch_address(i) / kTouchPage, i) << i;
  }
}

TEST(RefillOffsets, TheAssemblysIncrementalOffsetIsTheSame) {
  // time_touch_pages: ecx += stride; ecx &= page - 1 after each page.
  u64 ecx = 0;
  for (u64 i = 0; i < 300; ++i) {
    EXPECT_EQ(ecx, touch_offset(i)) << i;
    ecx = (ecx + kTouchLineStride) & (kTouchPage - 1);
  }
}

TEST(ChaseChain, FollowingKLinksVisitsTheFirstKPagesAtTheirOffsets) {
  constexpr u64 kPages = 130;
  std::vector<u8> mem(kPages * kTouchPage, 0);
  write_chase_chain(mem.data(), kPages);
  for (u64 k : {1u, 2u, 64u, 65u, 130u}) {
    // time_chase_pages: rcx = 0; k times rcx = [base + rcx].
    u64 rcx = 0;
    std::vector<u64> visited;
    for (u64 n = 0; n < k; ++n) {
      visited.push_back(rcx);
      rcx = *reinterpret_cast<const u64*>(mem.data() + rcx);
    }
    for (u64 i = 0; i < k; ++i) EXPECT_EQ(visited[i], touch_address(i)) << k << " " << i;
  }
  // The last link leads back to the start: a chain of every page is a cycle.
  EXPECT_EQ(*reinterpret_cast<const u64*>(mem.data() + touch_address(kPages - 1)), 0u);
}

}  // namespace
}  // namespace ptb::bench
