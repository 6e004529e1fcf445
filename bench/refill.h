// Where the TLB refill passes touch their pages (bench/bodies.asm: time_touch_pages and
// time_chase_pages), and the pointer chain the chase form follows. Pure: compiled into the host
// tests, and the stride is the NASM constant TOUCH_LINE_STRIDE (bench/asm_constants.cpp).
//
// Page i is touched at byte offset touch_offset(i) = (i · 64) mod 4096: consecutive pages use
// consecutive cache lines of a page, so 64 pages in a row fall into 64 different sets of a
// virtually indexed L1 data cache (64-byte lines, 4 KiB per way), and the warm pass finds its
// lines in the cache instead of evicting them from one set (every touch at offset 0 would put
// all K lines in one set: beyond its ways, the warm pass misses the L1 too).
#pragma once

#include "lib/types.h"

namespace ptb::bench {

inline constexpr u64 kTouchPage = 4096;
inline constexpr u64 kTouchLineStride = 64;  // one cache line
static_assert(kTouchPage % kTouchLineStride == 0 &&
                  (kTouchLineStride & (kTouchLineStride - 1)) == 0,
              "the assembly wraps the offset with AND (page - 1)");

// The byte of page i that both forms touch.
constexpr u64 touch_offset(u64 i) { return (i * kTouchLineStride) % kTouchPage; }

// Where page i's touch lies, relative to the first page of the pass.
constexpr u64 touch_address(u64 i) { return i * kTouchPage + touch_offset(i); }

// The chase form: the quadword at touch_address(i) holds touch_address(i + 1), relative to the
// base, so one chain serves every K (a pass over K pages follows K links from 0) and both aliases
// of the frames (non-global and global). The link of the last page leads back to the first.
constexpr u64 chase_link(u64 i, u64 pages) { return i + 1 < pages ? touch_address(i + 1) : 0; }

// Writes the chain into `pages` pages at `base` (any address through which they are writable).
inline void write_chase_chain(u8* base, u64 pages) {
  for (u64 i = 0; i < pages; ++i)
    *reinterpret_cast<u64*>(base + touch_address(i)) = chase_link(i, pages);
}

static_assert(touch_offset(0) == 0 && touch_offset(1) == 64 && touch_offset(64) == 0);
static_assert(touch_address(3) == 3 * 4096 + 192);
static_assert(touch_offset(63) + 8 <= kTouchPage, "a chase link never crosses its page");

}  // namespace ptb::bench
