// The 4-level page-table builder (arch/x86/page_table.h) against an in-memory arena: 4 KiB-aligned
// blocks that stand in for physical frames at fake physical addresses (above 4 GiB, so a table
// address can never be confused with a host pointer or with the mapped physical addresses).
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <random>
#include <stdexcept>
#include <vector>

#include "arch/x86/page_table.h"
#include "arch/x86/regs.h"

namespace ptb::x86 {
namespace {

struct alignas(4096) Block {
  u64 e[512];
};
static_assert(sizeof(Block) == 4096);

class FakeArena {
 public:
  static constexpr u64 kBase = 0x7'0000'0000;  // 8 KiB aligned: a PTI pair can start here

  // `limit` frames can be handed out; storage for `capacity` is reserved up front so that table
  // pointers the builder holds across alloc() stay valid (and set_limit can raise the limit).
  explicit FakeArena(usize limit = 1024, usize capacity = 1024) : limit_(limit) {
    blocks_.reserve(std::max(limit, capacity));
  }
  Arena arena() { return Arena{&FakeArena::alloc_fn, &FakeArena::table_fn, this}; }
  PageTable make_table() { return PageTable(arena(), alloc()); }

  u64 alloc() {
    if (blocks_.size() >= limit_) return 0;
    blocks_.push_back(Block{});  // zeroed, as the Arena contract requires
    return kBase + (blocks_.size() - 1) * kPage;
  }
  u64* table(u64 phys) {
    if (phys < kBase || (phys - kBase) % kPage != 0 || (phys - kBase) / kPage >= blocks_.size())
      throw std::logic_error("builder followed an entry that is not a table from this arena");
    return blocks_[(phys - kBase) / kPage].e;
  }
  usize used() const { return blocks_.size(); }
  void set_limit(usize limit) {
    ASSERT_LE(limit, blocks_.capacity());  // pointers into blocks_ must stay valid
    limit_ = limit;
  }

 private:
  static u64 alloc_fn(void* ctx) { return static_cast<FakeArena*>(ctx)->alloc(); }
  static u64* table_fn(void* ctx, u64 phys) { return static_cast<FakeArena*>(ctx)->table(phys); }
  std::vector<Block> blocks_;
  usize limit_;
};

// The raw entry at `level` on the walk to `virt` (SDM Vol.3 4.5, Figure 4-8 index bits), for
// tests that edit intermediate entries by hand.
u64& entry_at(FakeArena& a, u64 root, u64 virt, unsigned level) {
  u64* t = a.table(root);
  for (unsigned l = 4; l > level; --l)
    t = a.table(t[(virt >> (12 + 9 * (l - 1))) & 0x1ff] & Pte::kAddrMask);
  return t[(virt >> (12 + 9 * (level - 1))) & 0x1ff];
}

std::vector<Translation> leaves(const PageTable& pt) {
  std::vector<Translation> out;
  pt.for_each_leaf(
      [](void* ctx, const Translation& t) {
        static_cast<std::vector<Translation>*>(ctx)->push_back(t);
      },
      &out);
  return out;
}

constexpr u64 kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
constexpr u64 W = Pte::kWritable, U = Pte::kUser, NX = Pte::kNoExecute, G = Pte::kGlobal;

// SDM Vol.3 4.5, Tables 4-15..4-20.
TEST(Pte, BitPositions) {
  EXPECT_EQ(Pte::kPresent, u64{1} << 0);
  EXPECT_EQ(Pte::kWritable, u64{1} << 1);
  EXPECT_EQ(Pte::kUser, u64{1} << 2);
  EXPECT_EQ(Pte::kWriteThrough, u64{1} << 3);
  EXPECT_EQ(Pte::kCacheDisable, u64{1} << 4);
  EXPECT_EQ(Pte::kAccessed, u64{1} << 5);
  EXPECT_EQ(Pte::kDirty, u64{1} << 6);
  EXPECT_EQ(Pte::kHuge, u64{1} << 7);
  EXPECT_EQ(Pte::kGlobal, u64{1} << 8);
  EXPECT_EQ(Pte::kNoExecute, u64{1} << 63);
  EXPECT_EQ(Pte::kAddrMask, 0x000f'ffff'ffff'f000u);
}

TEST(Pte, MakeKeepsAddressAndFlagsApart) {
  const Pte p = Pte::make(0xfff0'0001'2345'6fff, ~u64{0});
  EXPECT_EQ(p.addr(), 0x1'2345'6000u);
  EXPECT_EQ(p.flags(), 0xfff0'0000'0000'0fffu);
}

// SDM Vol.3 4.5, Figure 4-8: PML4 index = bits 47:39, PDPT 38:30, PD 29:21, PT 20:12.
TEST(TableIndex, EachLevelTakesNineBits) {
  EXPECT_EQ(table_index(0x1000, 1), 1u);
  EXPECT_EQ(table_index(0x20'0000, 2), 1u);
  EXPECT_EQ(table_index(0x4000'0000, 3), 1u);
  EXPECT_EQ(table_index(0x80'0000'0000, 4), 1u);
  EXPECT_EQ(table_index(0x1f'f000, 1), 511u);
  EXPECT_EQ(table_index(0x1f'f000, 2), 0u);
  EXPECT_EQ(table_index(0xfff, 1), 0u);
  for (unsigned l = 1; l <= 4; ++l) EXPECT_EQ(table_index(~u64{0}, l), 511u);
  EXPECT_EQ(table_index(0x0000'7fff'ffff'f000, 4), 255u);
  EXPECT_EQ(table_index(0xffff'8000'0000'0000, 4), 256u);
  EXPECT_EQ(table_index(0xffff'ffff'8000'0000, 4), 511u);
  EXPECT_EQ(table_index(0xffff'ffff'8000'0000, 3), 510u);
}

// SDM Vol.3 3.3.7.1: canonical = bits 63:47 all equal (48-bit linear addresses).
TEST(IsCanonical, EdgesOfBothHalves) {
  EXPECT_TRUE(is_canonical(0));
  EXPECT_TRUE(is_canonical(0x0000'7fff'ffff'ffff));
  EXPECT_FALSE(is_canonical(0x0000'8000'0000'0000));
  EXPECT_FALSE(is_canonical(0x8000'0000'0000'0000));
  EXPECT_FALSE(is_canonical(0xffff'7fff'ffff'ffff));
  EXPECT_TRUE(is_canonical(0xffff'8000'0000'0000));
  EXPECT_TRUE(is_canonical(0xffff'ffff'ffff'ffff));
  EXPECT_FALSE(is_canonical(0x0001'0000'0000'0000));
  EXPECT_FALSE(is_canonical(0xfffe'ffff'ffff'ffff));
}

TEST(PageTable, EmptyTableTranslatesNothing) {
  FakeArena a;
  const PageTable pt = a.make_table();
  EXPECT_FALSE(pt.translate(0).present);
  EXPECT_FALSE(pt.translate(0xffff'8000'0000'0000).present);
  EXPECT_TRUE(leaves(pt).empty());
}

TEST(PageTable, Map4kTranslatesWithOffsetAndFlags) {
  FakeArena a;
  PageTable pt = a.make_table();
  ASSERT_EQ(pt.map_4k(0x40'0000, 0x1234'5000, W | NX), MapError::kNone);
  const Translation t = pt.translate(0x40'0123);
  EXPECT_TRUE(t.present);
  EXPECT_EQ(t.level, 1u);
  EXPECT_EQ(t.phys, 0x1234'5123u);
  EXPECT_EQ(t.page_base, 0x40'0000u);
  EXPECT_EQ(t.page_size, 4096u);
  EXPECT_TRUE(t.writable);
  EXPECT_FALSE(t.user);
  EXPECT_TRUE(t.no_execute);
  EXPECT_FALSE(t.global);
  EXPECT_FALSE(pt.translate(0x40'1000).present);
  EXPECT_FALSE(pt.translate(0x3f'f000).present);
  EXPECT_EQ(a.used(), 4u);  // root + PDPT + PD + PT
}

TEST(PageTable, LeafEntryIsPresentAndNotPsForA4kPage) {
  // In a PTE bit 7 is PAT (SDM Vol.3 Table 4-20), not "page size": the builder must not let a
  // caller's kHuge through.
  FakeArena a;
  PageTable pt = a.make_table();
  ASSERT_EQ(pt.map_4k(0x1000, 0x5000, Pte::kHuge | G), MapError::kNone);
  const u64 e = entry_at(a, pt.root(), 0x1000, 1);
  EXPECT_EQ(e, 0x5000u | Pte::kPresent | G);
  EXPECT_TRUE(pt.translate(0x1000).global);
}

TEST(PageTable, IntermediateEntriesArePresentWritableUser) {
  FakeArena a;
  PageTable pt = a.make_table();
  ASSERT_EQ(pt.map_4k(0x40'0000, 0x9000, 0), MapError::kNone);
  for (unsigned l = 4; l >= 2; --l) {
    const u64 e = entry_at(a, pt.root(), 0x40'0000, l);
    EXPECT_EQ(e & 0xfff, Pte::kPresent | W | U) << "level " << l;
    EXPECT_EQ(e & NX, 0u);
  }
  const Translation t = pt.translate(0x40'0000);
  EXPECT_FALSE(t.writable);
  EXPECT_FALSE(t.user);
  EXPECT_FALSE(t.no_execute);
}

TEST(PageTable, Map2mTranslatesAsLevel2) {
  FakeArena a;
  PageTable pt = a.make_table();
  ASSERT_EQ(pt.map_2m(1 * kGiB, 2 * kGiB, W | G), MapError::kNone);
  const Translation t = pt.translate(1 * kGiB + 0x12'3456);
  EXPECT_TRUE(t.present);
  EXPECT_EQ(t.level, 2u);
  EXPECT_EQ(t.page_size, 2 * kMiB);
  EXPECT_EQ(t.page_base, 1 * kGiB);
  EXPECT_EQ(t.phys, 2 * kGiB + 0x12'3456);
  EXPECT_TRUE(t.writable);
  EXPECT_TRUE(t.global);
  EXPECT_FALSE(t.no_execute);
  // SDM Vol.3 Table 4-18: a PDE that maps a 2 MiB page has PS (bit 7) set.
  EXPECT_EQ(entry_at(a, pt.root(), 1 * kGiB, 2), 2 * kGiB | Pte::kPresent | Pte::kHuge | W | G);
  EXPECT_EQ(a.used(), 3u);  // root + PDPT + PD
}

TEST(PageTable, TranslateOneGigabytePageWrittenByHand) {
  // SDM Vol.3 Table 4-16: a PDPTE with PS = 1 maps a 1 GiB page.
  FakeArena a;
  PageTable pt = a.make_table();
  ASSERT_EQ(pt.map_4k(0x1000, 0x1000, 0), MapError::kNone);  // creates a PDPT for [0, 512 GiB)
  entry_at(a, pt.root(), 3 * kGiB, 3) = 5 * kGiB | Pte::kPresent | Pte::kHuge | W | U;
  const Translation t = pt.translate(3 * kGiB + 0x1234'5678);
  EXPECT_TRUE(t.present);
  EXPECT_EQ(t.level, 3u);
  EXPECT_EQ(t.page_size, kGiB);
  EXPECT_EQ(t.phys, 5 * kGiB + 0x1234'5678);
  EXPECT_TRUE(t.user);
  const auto l = leaves(pt);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[1].level, 3u);
  EXPECT_EQ(l[1].page_base, 3 * kGiB);
  EXPECT_EQ(l[1].phys, 5 * kGiB);
}

// SDM Vol.3 4.6.1: a user-mode access needs U/S = 1 in every paging-structure entry; a write
// needs R/W = 1 in every entry (supervisor with CR0.WP = 1 too); an instruction fetch is
// disallowed if XD = 1 in any entry (IA32_EFER.NXE = 1).
TEST(PageTable, EffectivePermissionsAreAndOfWriteUserAndOrOfNx) {
  FakeArena a;
  PageTable pt = a.make_table();
  const u64 v = 0x7f12'3456'7000;
  ASSERT_EQ(pt.map_4k(v, 0x8000, W | U), MapError::kNone);
  EXPECT_TRUE(pt.translate(v).writable);
  EXPECT_TRUE(pt.translate(v).user);
  EXPECT_FALSE(pt.translate(v).no_execute);
  for (unsigned l = 4; l >= 2; --l) {
    SCOPED_TRACE(l);
    u64& e = entry_at(a, pt.root(), v, l);
    const u64 saved = e;
    e &= ~W;
    EXPECT_FALSE(pt.translate(v).writable);
    EXPECT_TRUE(pt.translate(v).user);
    EXPECT_FALSE(leaves(pt).at(0).writable);
    e = saved & ~U;
    EXPECT_FALSE(pt.translate(v).user);
    EXPECT_TRUE(pt.translate(v).writable);
    EXPECT_FALSE(leaves(pt).at(0).user);
    e = saved | NX;
    EXPECT_TRUE(pt.translate(v).no_execute);
    EXPECT_TRUE(leaves(pt).at(0).no_execute);
    e = saved;
  }
}

TEST(PageTable, MapOverwritesAnExisting4kLeaf) {
  FakeArena a;
  PageTable pt = a.make_table();
  ASSERT_EQ(pt.map_4k(0x5000, 0x1000, W), MapError::kNone);
  ASSERT_EQ(pt.map_4k(0x5000, 0x2000, NX), MapError::kNone);
  EXPECT_EQ(pt.translate(0x5000).phys, 0x2000u);
  EXPECT_FALSE(pt.translate(0x5000).writable);
  EXPECT_TRUE(pt.translate(0x5000).no_execute);
}

TEST(PageTable, MapRangeUsesLargePagesWhereAlignedAnd4kAtTheEdges) {
  FakeArena a;
  PageTable pt = a.make_table();
  const u64 start = 2 * kMiB - 4 * kKiB, end = 6 * kMiB + 4 * kKiB;
  ASSERT_EQ(pt.map_range(start, start, end - start, W | NX, true), MapError::kNone);
  const auto l = leaves(pt);
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[0].page_base, start);
  EXPECT_EQ(l[0].level, 1u);
  EXPECT_EQ(l[1].page_base, 2 * kMiB);
  EXPECT_EQ(l[1].level, 2u);
  EXPECT_EQ(l[2].page_base, 4 * kMiB);
  EXPECT_EQ(l[2].level, 2u);
  EXPECT_EQ(l[3].page_base, 6 * kMiB);
  EXPECT_EQ(l[3].level, 1u);
  for (const auto& t : l) {
    EXPECT_EQ(t.phys, t.page_base);
    EXPECT_TRUE(t.writable);
    EXPECT_TRUE(t.no_execute);
  }
  for (u64 v = start; v < end; v += 4 * kKiB) {
    const Translation t = pt.translate(v + 0x10);
    ASSERT_TRUE(t.present) << std::hex << v;
    ASSERT_EQ(t.phys, v + 0x10);
  }
  EXPECT_FALSE(pt.translate(start - 4 * kKiB).present);
  EXPECT_FALSE(pt.translate(end).present);
}

TEST(PageTable, MapRangeWithoutLargeUsesOnly4kPages) {
  FakeArena a;
  PageTable pt = a.make_table();
  ASSERT_EQ(pt.map_range(2 * kMiB, 0x100'0000, 4 * kMiB, W, false), MapError::kNone);
  const auto l = leaves(pt);
  ASSERT_EQ(l.size(), 1024u);
  for (usize i = 0; i < l.size(); ++i) {
    EXPECT_EQ(l[i].level, 1u);
    EXPECT_EQ(l[i].page_base, 2 * kMiB + i * 4 * kKiB);
    EXPECT_EQ(l[i].phys, 0x100'0000 + i * 4 * kKiB);
  }
}

TEST(PageTable, MapRangeFallsBackTo4kWhenPhysIsNotLargeAligned) {
  FakeArena a;
  PageTable pt = a.make_table();
  ASSERT_EQ(pt.map_range(2 * kMiB, 3 * kMiB + 4 * kKiB, 2 * kMiB, 0, true), MapError::kNone);
  const auto l = leaves(pt);
  ASSERT_EQ(l.size(), 512u);
  EXPECT_EQ(pt.translate(3 * kMiB).phys, 4 * kMiB + 4 * kKiB);
}

TEST(PageTable, MapRangeShorterThanALargePageUses4k) {
  FakeArena a;
  PageTable pt = a.make_table();
  ASSERT_EQ(pt.map_range(2 * kMiB, 2 * kMiB, 2 * kMiB - 4 * kKiB, 0, true), MapError::kNone);
  EXPECT_EQ(leaves(pt).size(), 511u);
  EXPECT_EQ(pt.translate(2 * kMiB).level, 1u);
}

TEST(PageTable, MapRangeZeroSizeMapsNothing) {
  FakeArena a;
  PageTable pt = a.make_table();
  EXPECT_EQ(pt.map_range(0x1000, 0x1000, 0, 0, true), MapError::kNone);
  EXPECT_TRUE(leaves(pt).empty());
}

TEST(PageTable, MisalignedArgumentsAreRejectedWithoutEffect) {
  FakeArena a;
  PageTable pt = a.make_table();
  EXPECT_EQ(pt.map_4k(0x1001, 0x1000, 0), MapError::kMisaligned);
  EXPECT_EQ(pt.map_4k(0x1000, 0x1800, 0), MapError::kMisaligned);
  EXPECT_EQ(pt.map_2m(0x1000, 0, 0), MapError::kMisaligned);
  EXPECT_EQ(pt.map_2m(2 * kMiB, 0x1000, 0), MapError::kMisaligned);
  EXPECT_EQ(pt.map_range(0x1000, 0x1000, 0x1234, 0, false), MapError::kMisaligned);
  EXPECT_EQ(pt.map_range(0x1000, 0x1008, 0x1000, 0, false), MapError::kMisaligned);
  EXPECT_TRUE(leaves(pt).empty());
  EXPECT_EQ(a.used(), 1u);  // not even an intermediate table was built
}

TEST(PageTable, NonCanonicalAddressesAreRejected) {
  FakeArena a;
  PageTable pt = a.make_table();
  EXPECT_EQ(pt.map_4k(0x0000'8000'0000'0000, 0x1000, 0), MapError::kNotCanonical);
  EXPECT_EQ(pt.map_4k(0xffff'7fff'ffff'f000, 0x1000, 0), MapError::kNotCanonical);
  EXPECT_EQ(pt.map_2m(0x8000'0000'0000'0000, 0, 0), MapError::kNotCanonical);
  EXPECT_EQ(pt.map_range(0x0000'7fff'ffff'f000, 0, 0x2000, 0, false), MapError::kNotCanonical);
  // The canonical first page of that range was mapped; the non-canonical one was not.
  EXPECT_TRUE(pt.translate(0x0000'7fff'ffff'f000).present);
  EXPECT_FALSE(pt.translate(0x0000'8000'0000'0000).present);
  EXPECT_EQ(leaves(pt).size(), 1u);
  // Nothing aliases into the upper half (same PML4 index 256 as 0x0000'8000'0000'0000).
  EXPECT_FALSE(pt.translate(0xffff'8000'0000'0000).present);
}

TEST(PageTable, TranslateOfNonCanonicalAddressIsNotPresent) {
  FakeArena a;
  PageTable pt = a.make_table();
  ASSERT_EQ(pt.map_4k(0xffff'8000'0000'0000, 0x1000, 0), MapError::kNone);
  EXPECT_TRUE(pt.translate(0xffff'8000'0000'0000).present);
  EXPECT_FALSE(pt.translate(0x0000'8000'0000'0000).present);  // same indices, not canonical
}

TEST(PageTable, OutOfMemoryIsReportedAndLeavesNothingHalfMapped) {
  FakeArena a(3);  // root + 2: one table short of a 4 KiB mapping
  PageTable pt = a.make_table();
  EXPECT_EQ(pt.map_4k(0x40'0000, 0x1000, W), MapError::kOutOfMemory);
  EXPECT_FALSE(pt.translate(0x40'0000).present);
  EXPECT_TRUE(leaves(pt).empty());
  EXPECT_EQ(pt.map_2m(0x40'0000, 0, W), MapError::kNone);  // the PD it needs does exist
  EXPECT_EQ(pt.translate(0x40'0000).level, 2u);
  // A 4 KiB mapping elsewhere in that PD needs a PT, and there is no frame left.
  EXPECT_EQ(pt.map_4k(0x60'0000, 0x1000, W), MapError::kOutOfMemory);
  EXPECT_FALSE(pt.translate(0x60'0000).present);
  EXPECT_EQ(leaves(pt).size(), 1u);
}

TEST(PageTable, OutOfMemoryInMapRangeLeavesExactlyThePrefixMapped) {
  FakeArena a(64);
  PageTable pt = a.make_table();
  // 1 GiB of 4 KiB pages needs 512 PTs: the arena runs dry part way through.
  const u64 base = 0x40'0000'0000;
  EXPECT_EQ(pt.map_range(base, 0, kGiB, W, false), MapError::kOutOfMemory);
  const auto l = leaves(pt);
  ASSERT_FALSE(l.empty());
  ASSERT_LT(l.size(), 512u * 512u);
  for (usize i = 0; i < l.size(); ++i) {
    ASSERT_EQ(l[i].page_base, base + i * kPage);
    ASSERT_EQ(l[i].phys, i * kPage);
  }
  // translate agrees with for_each_leaf on every page of the range.
  usize present = 0;
  for (u64 off = 0; off < kGiB; off += kPage) {
    const Translation t = pt.translate(base + off);
    if (t.present) {
      ++present;
      ASSERT_EQ(t.phys, off);
    }
  }
  EXPECT_EQ(present, l.size());
  // With memory again, the same call completes over the half-built tables.
  a.set_limit(1024);
  EXPECT_EQ(pt.map_range(base, 0, kGiB, W, false), MapError::kNone);
  EXPECT_EQ(leaves(pt).size(), 512u * 512u);
}

TEST(PageTable, Map4kInsideA2mLeafIsAConflict) {
  FakeArena a;
  PageTable pt = a.make_table();
  ASSERT_EQ(pt.map_2m(2 * kMiB, 8 * kMiB, W), MapError::kNone);
  EXPECT_EQ(pt.map_4k(2 * kMiB + 0x5000, 0x1000, 0), MapError::kConflict);
  const Translation t = pt.translate(2 * kMiB + 0x5000);
  EXPECT_EQ(t.level, 2u);
  EXPECT_EQ(t.phys, 8 * kMiB + 0x5000);
  EXPECT_TRUE(t.writable);
}

TEST(PageTable, Map2mOverA4kTableIsAConflict) {
  FakeArena a;
  PageTable pt = a.make_table();
  ASSERT_EQ(pt.map_4k(4 * kMiB + 0x3000, 0x7000, 0), MapError::kNone);
  EXPECT_EQ(pt.map_2m(4 * kMiB, 0, W), MapError::kConflict);
  EXPECT_EQ(pt.translate(4 * kMiB + 0x3000).phys, 0x7000u);
  EXPECT_EQ(pt.translate(4 * kMiB + 0x3000).level, 1u);
  EXPECT_FALSE(pt.translate(4 * kMiB).present);
  // and map_range passes the conflict on
  EXPECT_EQ(pt.map_range(4 * kMiB, 0, 2 * kMiB, 0, true), MapError::kConflict);
}

TEST(PageTable, Unmap4kClearsOnlyThatLeaf) {
  FakeArena a;
  PageTable pt = a.make_table();
  ASSERT_EQ(pt.map_range(0x10'0000, 0x10'0000, 3 * kPage, W, false), MapError::kNone);
  EXPECT_TRUE(pt.unmap_4k(0x10'1000));
  EXPECT_FALSE(pt.translate(0x10'1000).present);
  EXPECT_TRUE(pt.translate(0x10'0000).present);
  EXPECT_TRUE(pt.translate(0x10'2000).present);
  EXPECT_FALSE(pt.unmap_4k(0x10'1000));  // already gone
  EXPECT_EQ(leaves(pt).size(), 2u);
}

TEST(PageTable, Unmap4kOfUnmappedOrLargeLeavesAnswersFalse) {
  FakeArena a;
  PageTable pt = a.make_table();
  EXPECT_FALSE(pt.unmap_4k(0x1234'5000));  // no tables at all
  ASSERT_EQ(pt.map_2m(2 * kMiB, 2 * kMiB, 0), MapError::kNone);
  EXPECT_FALSE(pt.unmap_4k(2 * kMiB + 0x1000));  // inside a 2 MiB leaf: not a 4 KiB page
  EXPECT_TRUE(pt.translate(2 * kMiB + 0x1000).present);
  ASSERT_EQ(pt.map_4k(8 * kMiB, 0x1000, 0), MapError::kNone);
  EXPECT_FALSE(pt.unmap_4k(8 * kMiB + 0x1000));  // PT exists, entry empty
}

TEST(PageTable, EntryIsTheWalksSlotAtEachLevelOrNull) {
  FakeArena a;
  PageTable pt = a.make_table();
  const u64 va = 0x7f01'0000'0000 + 0x1000;
  EXPECT_EQ(pt.entry(va, 1), nullptr);  // no tables yet
  ASSERT_EQ(pt.map_4k(va, 0x5000, W), MapError::kNone);
  for (unsigned level = 1; level <= 4; ++level)
    EXPECT_EQ(pt.entry(va, level), &entry_at(a, pt.root(), va, level)) << level;
  EXPECT_EQ(Pte{*pt.entry(va, 1)}.addr(), 0x5000u);
  // Rewriting the PDE in place is what a translation then sees.
  *pt.entry(va, 2) = 0;
  EXPECT_FALSE(pt.translate(va).present);
  EXPECT_EQ(pt.entry(va, 1), nullptr);
  ASSERT_EQ(pt.map_2m(4 * kMiB, 4 * kMiB, 0), MapError::kNone);
  EXPECT_EQ(pt.entry(4 * kMiB, 1), nullptr);  // a 2 MiB leaf ends the walk at level 2
  EXPECT_NE(pt.entry(4 * kMiB, 2), nullptr);
  EXPECT_EQ(pt.entry(0x0000'8000'0000'0000, 4), nullptr);  // not canonical
  EXPECT_EQ(pt.entry(va, 0), nullptr);
  EXPECT_EQ(pt.entry(va, 5), nullptr);
}

// page_table.h: "Clears the 4 KiB leaf for virt (no effect when unmapped)". A non-canonical
// address is never mapped, but unmap_4k does not check canonicality: it indexes the tables with
// bits 47:12 only, so 0x0000'8000'0000'0000 walks to the leaf of 0xffff'8000'0000'0000 and clears
// it. translate() does check (see TranslateOfNonCanonicalAddressIsNotPresent).
TEST(PageTable, Unmap4kOfNonCanonicalAddressDoesNotClearItsCanonicalAlias) {
  FakeArena a;
  PageTable pt = a.make_table();
  ASSERT_EQ(pt.map_4k(0xffff'8000'0000'0000, 0x1000, 0), MapError::kNone);
  EXPECT_FALSE(pt.unmap_4k(0x0000'8000'0000'0000));
  EXPECT_TRUE(pt.translate(0xffff'8000'0000'0000).present);
}

// map_range computes `end = virt + size`, which wraps to 0 for a range ending at the top of the
// address space (e.g. the last 2 MiB, or the kernel's -2 GiB region mapped in one call): the loop
// `while (virt < end)` runs zero times and kNone is returned with nothing mapped.
TEST(PageTable, MapRangeEndingAtTopOfAddressSpaceMapsIt) {
  FakeArena a;
  PageTable pt = a.make_table();
  EXPECT_EQ(pt.map_range(0xffff'ffff'ffe0'0000, 0x20'0000, 2 * kMiB, W, true), MapError::kNone);
  EXPECT_TRUE(pt.translate(0xffff'ffff'ffe0'0000).present);
  EXPECT_EQ(pt.map_range(0xffff'ffff'8000'0000, 0, 2 * kGiB, W, true), MapError::kNone);
  EXPECT_TRUE(pt.translate(0xffff'ffff'8000'0000).present);
  EXPECT_TRUE(pt.translate(0xffff'ffff'ffff'f000).present);
}

TEST(PageTable, MapRangeJustBelowTopOfAddressSpaceWorks) {
  FakeArena a;
  PageTable pt = a.make_table();
  EXPECT_EQ(pt.map_range(0xffff'ffff'ffc0'0000, 0, 2 * kMiB, W, true), MapError::kNone);
  EXPECT_EQ(pt.translate(0xffff'ffff'ffc0'0000).level, 2u);
  EXPECT_FALSE(pt.translate(0xffff'ffff'ffe0'0000).present);
}

TEST(PageTable, ForEachLeafVisitsExactlyTheMappedLeavesInAddressOrder) {
  FakeArena a;
  PageTable pt = a.make_table();
  // Includes both ends of both canonical halves; the upper half must come back sign-extended.
  std::map<u64, u64> want4k = {
      {0x1000, 0x10'0000},
      {0x40'0000, 0x20'0000},
      {0x7fff'ffff'f000, 0x30'0000},
      {0xffff'8000'0000'0000, 0x40'0000},
      {0xffff'8000'0000'1000, 0x50'0000},
      {0xffff'ff00'0000'0000, 0x60'0000},
      {0xffff'ffff'8000'0000, 0x70'0000},
      {0xffff'ffff'ffff'f000, 0x80'0000},
  };
  std::mt19937_64 rng(99);
  while (want4k.size() < 300) {
    u64 v = rng() & 0x0000'ffff'ffff'f000;
    if (v & 0x0000'8000'0000'0000) v |= 0xffff'0000'0000'0000;    // make canonical
    if (v >= 0x4000'0000'0000 && v < 0x4000'4000'0000) continue;  // keep clear of the 2M pages
    want4k[v] = (rng() & 0x000f'ffff'ffff'f000);
  }
  const std::map<u64, u64> want2m = {{0x4000'0000'0000, 0x8000'0000},
                                     {0x4000'0020'0000, 0xa0'0000}};
  // Map in a shuffled order so address order has to come from the walk.
  std::vector<std::pair<u64, u64>> order(want4k.begin(), want4k.end());
  std::shuffle(order.begin(), order.end(), rng);
  for (auto [v, p] : order) ASSERT_EQ(pt.map_4k(v, p, W), MapError::kNone) << std::hex << v;
  for (auto [v, p] : want2m) ASSERT_EQ(pt.map_2m(v, p, 0), MapError::kNone);

  std::map<u64, std::pair<u64, unsigned>> want;
  for (auto [v, p] : want4k) want[v] = {p, 1};
  for (auto [v, p] : want2m) want[v] = {p, 2};

  const auto l = leaves(pt);
  ASSERT_EQ(l.size(), want.size());
  auto it = want.begin();
  for (usize i = 0; i < l.size(); ++i, ++it) {
    SCOPED_TRACE(i);
    EXPECT_EQ(l[i].page_base, it->first) << std::hex << l[i].page_base << " vs " << it->first;
    EXPECT_EQ(l[i].phys, it->second.first);
    EXPECT_EQ(l[i].level, it->second.second);
    EXPECT_TRUE(l[i].present);
    EXPECT_TRUE(is_canonical(l[i].page_base));
    EXPECT_EQ(l[i].writable, it->second.second == 1);
    // for_each_leaf and translate describe the same leaf.
    const Translation t = pt.translate(l[i].page_base);
    EXPECT_EQ(t.phys, l[i].phys);
    EXPECT_EQ(t.level, l[i].level);
    EXPECT_EQ(t.page_size, l[i].page_size);
  }
}

TEST(PageTable, ForEachLeafReportsUpperHalfSignExtended) {
  FakeArena a;
  PageTable pt = a.make_table();
  ASSERT_EQ(pt.map_4k(0xffff'8000'0000'0000, 0x3000, 0), MapError::kNone);
  const auto l = leaves(pt);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].page_base, 0xffff'8000'0000'0000u);
  EXPECT_EQ(l[0].page_size, 4096u);
}

// How the kernel builds PTI tables (Linux arch/x86/mm/pti.c): a PGD pair, 8 KiB aligned, kernel
// PGD first and user PGD 4 KiB above it (Cr3::user_half sets bit 12); the user PGD shares the
// lower-half PML4 entries with the kernel (pti_set_user_pgtbl) and maps only the entry text, the
// entry data (per-CPU area, TSS, entry stacks) in the upper half, supervisor-only.
TEST(PageTable, PtiUserTablesExposeOnlyTheEntryAreaAndUserPages) {
  FakeArena a;
  const u64 kernel_root = a.alloc(), user_root = a.alloc();
  ASSERT_EQ(kernel_root % (8 * kKiB), 0u);
  ASSERT_EQ(user_root, kernel_root + 4 * kKiB);
  EXPECT_EQ(Cr3::root(kernel_root).with_pcid(Pcid{1}).user_half().table(), user_root);
  PageTable kernel(a.arena(), kernel_root), user(a.arena(), user_root);

  const u64 kimage = 0xffff'ffff'8000'0000;
  const u64 entry_text = kimage + 0x20'0000, entry_data = kimage + 0x40'0000;
  const u64 direct_map = 0xffff'8880'0000'0000;
  const u64 user_code = 0x40'0000, user_stack = 0x7fff'ffff'e000;

  // The kernel's view: the image (4 KiB pages), a direct map (2 MiB pages), user pages.
  ASSERT_EQ(kernel.map_range(kimage, 0x100'0000, 0x60'0000, W, false), MapError::kNone);
  ASSERT_EQ(kernel.map_range(direct_map, 0, 64 * kMiB, W | NX | G, true), MapError::kNone);
  ASSERT_EQ(kernel.map_4k(user_code, 0x900'0000, U), MapError::kNone);
  ASSERT_EQ(kernel.map_4k(user_code + kPage, 0x900'1000, U), MapError::kNone);
  ASSERT_EQ(kernel.map_4k(user_stack, 0x900'2000, U | W | NX), MapError::kNone);

  // The user PGD: lower half shared, upper half only the entry area.
  u64* kpml4 = a.table(kernel_root);
  u64* upml4 = a.table(user_root);
  for (unsigned i = 0; i < 256; ++i) upml4[i] = kpml4[i];
  ASSERT_EQ(user.map_4k(entry_text, 0x100'0000 + 0x20'0000, G), MapError::kNone);
  ASSERT_EQ(user.map_4k(entry_data, 0x100'0000 + 0x40'0000, W | NX | G), MapError::kNone);
  ASSERT_EQ(user.map_4k(entry_data + kPage, 0x100'0000 + 0x40'1000, W | NX | G), MapError::kNone);

  const auto l = leaves(user);
  struct Want {
    u64 va, pa;
    bool user, writable, nx;
  };
  const Want want[] = {
      {user_code, 0x900'0000, true, false, false},
      {user_code + kPage, 0x900'1000, true, false, false},
      {user_stack, 0x900'2000, true, true, true},
      {entry_text, 0x120'0000, false, false, false},
      {entry_data, 0x140'0000, false, true, true},
      {entry_data + kPage, 0x140'1000, false, true, true},
  };
  ASSERT_EQ(l.size(), std::size(want));
  usize supervisor = 0;
  for (usize i = 0; i < l.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(l[i].page_base, want[i].va);
    EXPECT_EQ(l[i].phys, want[i].pa);
    EXPECT_EQ(l[i].user, want[i].user);
    EXPECT_EQ(l[i].writable, want[i].writable);
    EXPECT_EQ(l[i].no_execute, want[i].nx);
    EXPECT_EQ(l[i].level, 1u);
    if (!l[i].user) ++supervisor;
  }
  EXPECT_EQ(supervisor, 3u);

  // The kernel image outside the entry area and the direct map are not in the user tables...
  EXPECT_FALSE(user.translate(kimage).present);
  EXPECT_FALSE(user.translate(entry_text + kPage).present);
  EXPECT_FALSE(user.translate(direct_map).present);
  // ...but are in the kernel's, which in turn has no entry-area-only tables of the user PGD.
  EXPECT_TRUE(kernel.translate(kimage).present);
  EXPECT_EQ(kernel.translate(direct_map + 0x30'0000).level, 2u);
  EXPECT_EQ(kernel.translate(entry_text).phys, 0x120'0000u);
  // The kernel's tables were not changed by building the user's upper half.
  usize kernel_leaves = leaves(kernel).size();
  EXPECT_EQ(kernel_leaves, 0x600u + 32u + 3u);
}

TEST(MapError, EveryErrorHasAName) {
  for (MapError e : {MapError::kNone, MapError::kOutOfMemory, MapError::kMisaligned,
                     MapError::kNotCanonical, MapError::kConflict}) {
    ASSERT_NE(map_error_name(e), nullptr);
    EXPECT_STRNE(map_error_name(e), "?");
    EXPECT_STRNE(map_error_name(e), "");
  }
}

}  // namespace
}  // namespace ptb::x86
