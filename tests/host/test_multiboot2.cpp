// Multiboot2 boot information reader against synthetic, damaged and random buffers.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernel/multiboot2.h"

namespace ptb::mb2 {
namespace {

// Multiboot2 spec §3.6: tag types GRUB passes that the reader skips (it uses nothing in them).
constexpr u32 kTagLoaderName = 2, kTagBasicMeminfo = 4, kTagEfiBootServices = 18, kTagLoadBase = 21;

// Builds a boot information image byte by byte. Padding between tags is filled with 0xEE (the
// spec leaves it unspecified), so a reader that strays into padding sees garbage, not NULs.
class Builder {
 public:
  Builder() {
    put32(0);  // total_size, set by finish()
    put32(0);  // reserved
  }

  void put8(u8 v) { b_.push_back(v); }
  void put16(u16 v) { put_raw(&v, 2); }
  void put32(u32 v) { put_raw(&v, 4); }
  void put64(u64 v) { put_raw(&v, 8); }
  void put_raw(const void* p, usize n) {
    const u8* s = static_cast<const u8*>(p);
    b_.insert(b_.end(), s, s + n);
  }
  void put_str(const std::string& s, bool nul = true) {
    put_raw(s.data(), s.size());
    if (nul) put8(0);
  }
  void pad() {
    while (b_.size() % 8) put8(0xEE);
  }

  // Starts a tag; returns its offset for end_tag().
  usize begin(u32 type) {
    pad();
    usize at = b_.size();
    put32(type);
    put32(0);
    return at;
  }
  void end(usize at) { set32(at + 4, static_cast<u32>(b_.size() - at)); }
  // Overrides the recorded size of a tag (for damage).
  void set32(usize at, u32 v) { std::memcpy(&b_[at], &v, 4); }

  usize string_tag(u32 type, const std::string& s, bool nul = true) {
    usize at = begin(type);
    put_str(s, nul);
    end(at);
    return at;
  }
  usize cmdline(const std::string& s) { return string_tag(kTagCmdline, s); }
  usize module(u32 start, u32 end_addr, const std::string& s) {
    usize at = begin(kTagModule);
    put32(start);
    put32(end_addr);
    put_str(s);
    end(at);
    return at;
  }
  usize meminfo(u32 lower, u32 upper) {
    usize at = begin(kTagBasicMeminfo);
    put32(lower);
    put32(upper);
    end(at);
    return at;
  }
  struct Entry {
    u64 base, length;
    u32 type;
  };
  usize mmap(const std::vector<Entry>& entries, u32 entry_size = 24) {
    usize at = begin(kTagMemoryMap);
    put32(entry_size);
    put32(0);  // entry_version
    for (const Entry& e : entries) {
      put64(e.base);
      put64(e.length);
      put32(e.type);
      put32(0);
      for (u32 i = 24; i < entry_size; ++i) put8(0xA5);  // a later version's extra fields
    }
    end(at);
    return at;
  }
  usize framebuffer(u64 addr, u32 pitch, u32 width, u32 height, u8 bpp, u8 type) {
    usize at = begin(kTagFramebuffer);
    put64(addr);
    put32(pitch);
    put32(width);
    put32(height);
    put8(bpp);
    put8(type);
    put16(0);
    if (type == kFramebufferRgb) {
      for (u8 v : {16, 8, 8, 8, 0, 8}) put8(v);
    } else if (type == kFramebufferIndexed) {
      put32(0);  // no palette colors
    }
    end(at);
    return at;
  }
  usize rsdp(bool is_new, usize bytes) {
    usize at = begin(is_new ? kTagAcpiNew : kTagAcpiOld);
    for (usize i = 0; i < bytes; ++i) put8(static_cast<u8>(i < 8 ? "RSD PTR "[i] : i));
    end(at);
    return at;
  }
  usize u32_tag(u32 type, u32 v) {
    usize at = begin(type);
    put32(v);
    end(at);
    return at;
  }
  usize u64_tag(u32 type, u64 v) {
    usize at = begin(type);
    put64(v);
    end(at);
    return at;
  }
  usize empty_tag(u32 type) {
    usize at = begin(type);
    end(at);
    return at;
  }

  // Appends the end tag (unless told not to) and records total_size.
  std::vector<u8> finish(bool end_tag = true) {
    if (end_tag) {
      pad();
      put32(kTagEnd);
      put32(8);
    }
    set32(0, static_cast<u32>(b_.size()));
    return b_;
  }

  usize size() const { return b_.size(); }

 private:
  std::vector<u8> b_;
};

// A heap copy of exactly `bytes.size()` bytes (16-aligned by the allocator), so AddressSanitizer
// catches any read past the end; `extra` bytes of poison can follow for non-ASan builds.
struct Image {
  explicit Image(const std::vector<u8>& bytes, usize extra = 0, u8 poison = 0)
      : size(bytes.size()), mem(new u8[bytes.size() + extra]) {
    if (!bytes.empty()) std::memcpy(mem.get(), bytes.data(), bytes.size());
    std::memset(mem.get() + bytes.size(), poison, extra);
  }
  const u8* data() const { return mem.get(); }
  usize size;
  std::unique_ptr<u8[]> mem;
};

bool has_problem(const BootInfo& bi, const std::string& what) {
  for (usize i = 0; i < bi.problem_count; ++i) {
    if (std::string(bi.problems[i].what).find(what) != std::string::npos) return true;
  }
  return false;
}

std::string problems_of(const BootInfo& bi) {
  std::string s;
  for (usize i = 0; i < bi.problem_count; ++i) {
    s += std::string(tag_name(bi.problems[i].tag_type)) + "@" +
         std::to_string(bi.problems[i].offset) + ": " + bi.problems[i].what + "\n";
  }
  return s;
}

// Each test gets its own (large) BootInfo rather than one on the stack per call.
struct Parsed {
  Image image;
  std::unique_ptr<BootInfo> bi{new BootInfo};
  bool ok;
  explicit Parsed(const std::vector<u8>& bytes, usize extra = 0, u8 poison = 0)
      : image(bytes, extra, poison) {
    ok = parse(image.data(), image.size, *bi);
  }
  const BootInfo& operator*() const { return *bi; }
  const BootInfo* operator->() const { return bi.get(); }
};

TEST(Multiboot2, WellFormedInfoWithEveryTagIsReadCompletely) {
  Builder b;
  b.cmdline("/boot/ptibench.elf suite=full reps=51");
  b.string_tag(kTagLoaderName, "GRUB 2.06");
  b.module(0x200000, 0x201000, "initrd");
  b.module(0x300000, 0x300000, "");
  b.meminfo(639, 523264);
  b.mmap({{0, 0x9fc00, 1},
          {0x9fc00, 0x400, 2},
          {0x100000, 0x7ee0000, 1},
          {0xfec00000, 0x1000, 2},
          {0x7fe0000, 0x20000, 3},
          {0x7fe0000 + 0x20000, 0x1000, 4},
          {0x8001000, 0x1000, 5}});
  b.framebuffer(0xfd000000, 4096, 1024, 768, 32, kFramebufferRgb);
  b.u64_tag(kTagEfi64, 0x7f9e018);
  usize old_rsdp = b.rsdp(false, 20);
  usize new_rsdp = b.rsdp(true, 36);
  b.empty_tag(kTagEfiBootServices);
  b.u32_tag(kTagLoadBase, 0x100000);
  b.u32_tag(99, 0xdeadbeef);  // unknown: skipped
  std::vector<u8> bytes = b.finish();
  Parsed p(bytes);

  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p->problem_count, 0u) << problems_of(*p);
  EXPECT_EQ(p->total_size, bytes.size());
  ASSERT_NE(p->cmdline, nullptr);
  EXPECT_STREQ(p->cmdline, "/boot/ptibench.elf suite=full reps=51");
  EXPECT_EQ(p->cmdline_len, std::strlen(p->cmdline));

  ASSERT_EQ(p->module_count, 2u);
  EXPECT_EQ(p->modules[0].start, 0x200000u);
  EXPECT_EQ(p->modules[0].end, 0x201000u);
  EXPECT_STREQ(p->modules[0].cmdline, "initrd");
  EXPECT_STREQ(p->modules[1].cmdline, "");

  ASSERT_EQ(p->memory_count, 7u);
  EXPECT_FALSE(p->memory_truncated);
  EXPECT_FALSE(p->memory_overlaps);
  EXPECT_EQ(p->memory[2].base, 0x100000u);
  EXPECT_EQ(p->memory[2].length, 0x7ee0000u);
  EXPECT_EQ(p->memory[2].type, kMemoryAvailable);
  EXPECT_EQ(p->memory[6].type, kMemoryBad);

  ASSERT_TRUE(p->has_framebuffer);
  const Framebuffer& fb = p->framebuffer;
  EXPECT_EQ(fb.addr, 0xfd000000u);
  EXPECT_EQ(fb.pitch, 4096u);
  EXPECT_EQ(fb.width, 1024u);
  EXPECT_EQ(fb.height, 768u);
  EXPECT_EQ(fb.bpp, 32);
  EXPECT_EQ(fb.type, kFramebufferRgb);
  EXPECT_EQ(fb.red_pos, 16);
  EXPECT_EQ(fb.red_size, 8);
  EXPECT_EQ(fb.green_pos, 8);
  EXPECT_EQ(fb.green_size, 8);
  EXPECT_EQ(fb.blue_pos, 0);
  EXPECT_EQ(fb.blue_size, 8);

  EXPECT_TRUE(p->efi);

  EXPECT_EQ(p->rsdp, p.image.data() + new_rsdp + 8);
  EXPECT_EQ(p->rsdp_version, 2);
  EXPECT_EQ(std::memcmp(p->rsdp, "RSD PTR ", 8), 0);
  (void)old_rsdp;
}

TEST(Multiboot2, MinimalInfoWithOnlyAnEndTagIsUsableAndEmpty) {
  Parsed p(Builder().finish());
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p->total_size, 16u);
  EXPECT_EQ(p->problem_count, 0u);  // not even "no end tag"
  EXPECT_EQ(p->cmdline, nullptr);
  EXPECT_EQ(p->cmdline_len, 0u);
  EXPECT_EQ(p->rsdp, nullptr);
  EXPECT_FALSE(p->efi);
  EXPECT_FALSE(p->has_framebuffer);
  EXPECT_EQ(p->memory_count, 0u);
}

TEST(Multiboot2, Efi32TagMarksUefiBoot) {
  Builder b;
  b.u32_tag(kTagEfi32, 0x7f00000);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p->efi);
  EXPECT_EQ(p->problem_count, 0u);
}

TEST(Multiboot2, BiosBootHasNoEfiFlag) {
  Builder b;
  b.rsdp(false, 20);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(p->efi);
  EXPECT_EQ(p->rsdp_version, 1);
  EXPECT_EQ(p->rsdp, p.image.data() + 8 + 8);
}

TEST(Multiboot2, NewRsdpWinsOverOldWhicheverComesFirst) {
  Builder b;
  usize new_at = b.rsdp(true, 36);
  b.rsdp(false, 20);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p->rsdp_version, 2);
  EXPECT_EQ(p->rsdp, p.image.data() + new_at + 8);
}

TEST(Multiboot2, NullPointerIsRejected) {
  BootInfo bi;
  EXPECT_FALSE(parse(nullptr, 4096, bi));
  ASSERT_EQ(bi.problem_count, 1u);
  EXPECT_EQ(bi.problems[0].tag_type, kNoTag);
  EXPECT_TRUE(has_problem(bi, "null"));
}

TEST(Multiboot2, MisalignedPointerIsRejectedWithoutReading) {
  alignas(8) u8 storage[64] = {};
  BootInfo bi;
  EXPECT_FALSE(parse(storage + 4, 32, bi));
  EXPECT_TRUE(has_problem(bi, "not 8-byte aligned"));
}

TEST(Multiboot2, TotalSizeBelow16IsRejected) {
  std::vector<u8> bytes = Builder().finish();
  u32 eight = 8;
  std::memcpy(bytes.data(), &eight, 4);
  Parsed p(bytes);
  EXPECT_FALSE(p.ok);
  EXPECT_TRUE(has_problem(*p, "total_size smaller than 16"));
}

TEST(Multiboot2, TotalSizeBeyondReadableIsRejected) {
  Builder b;
  b.cmdline("x");
  std::vector<u8> bytes = b.finish();
  BootInfo bi;
  Image image(bytes);
  EXPECT_FALSE(parse(image.data(), bytes.size() - 1, bi));
  EXPECT_TRUE(has_problem(bi, "total_size larger than the readable"));
}

TEST(Multiboot2, FewerThan16ReadableBytesAreRejected) {
  Image image(Builder().finish());
  BootInfo bi;
  EXPECT_FALSE(parse(image.data(), 15, bi));
  EXPECT_TRUE(has_problem(bi, "fewer than 16"));
  EXPECT_FALSE(parse(image.data(), 0, bi));
}

TEST(Multiboot2, TagSizeBelow8StopsTheWalkAndKeepsEarlierTags) {
  Builder b;
  b.cmdline("reps=5");
  usize bad = b.u32_tag(kTagLoadBase, 0x1000);
  b.module(0x200000, 0x201000, "after");
  b.set32(bad + 4, 4);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_STREQ(p->cmdline, "reps=5");
  EXPECT_EQ(p->module_count, 0u);  // the walk stopped at the broken tag
  EXPECT_TRUE(has_problem(*p, "tag size smaller than 8"));
  EXPECT_TRUE(has_problem(*p, "no end tag"));
  EXPECT_EQ(p->problems[0].offset, bad);
  EXPECT_EQ(p->problems[0].tag_type, kTagLoadBase);
}

TEST(Multiboot2, TagRunningPastTotalSizeIsReportedAndEarlierTagsKept) {
  Builder b;
  b.cmdline("GRUB");
  usize bad = b.module(0x200000, 0x201000, "m");
  b.set32(bad + 4, 4096);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_STREQ(p->cmdline, "GRUB");
  EXPECT_EQ(p->module_count, 0u);
  EXPECT_TRUE(has_problem(*p, "tag runs past the end of the boot information"));
  EXPECT_TRUE(has_problem(*p, "no end tag"));
}

TEST(Multiboot2, TagHeaderCutByTotalSizeIsReported) {
  Builder b;
  b.cmdline("abc");
  b.pad();
  std::vector<u8> bytes = b.finish(false);
  // 4 more bytes: half a tag header, included in total_size.
  bytes.insert(bytes.end(), {1, 0, 0, 0});
  u32 total = static_cast<u32>(bytes.size());
  std::memcpy(bytes.data(), &total, 4);
  Parsed p(bytes);
  ASSERT_TRUE(p.ok);
  EXPECT_STREQ(p->cmdline, "abc");
  EXPECT_TRUE(has_problem(*p, "tag header runs past the end"));
  EXPECT_TRUE(has_problem(*p, "no end tag"));
}

TEST(Multiboot2, MissingEndTagIsReportedButTagsKept) {
  Builder b;
  b.cmdline("quick");
  b.module(0x200000, 0x201000, "m");
  Parsed p(b.finish(/*end_tag=*/false));
  ASSERT_TRUE(p.ok);
  EXPECT_STREQ(p->cmdline, "quick");
  EXPECT_EQ(p->module_count, 1u);
  ASSERT_EQ(p->problem_count, 1u);
  EXPECT_STREQ(p->problems[0].what, "no end tag");
}

TEST(Multiboot2, EndTagWithWrongSizeIsReported) {
  Builder b;
  b.cmdline("a");
  usize end_at = b.empty_tag(kTagEnd);
  b.set32(end_at + 4, 16);
  b.put64(0);
  Parsed p(b.finish(false));
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(has_problem(*p, "no end tag"));  // still the end
  EXPECT_TRUE(has_problem(*p, "end tag size is not 8"));
}

TEST(Multiboot2, TagsAfterTheEndTagAreNotRead) {
  Builder b;
  b.empty_tag(kTagEnd);
  b.set32(8 + 4, 8);
  b.cmdline("after");
  Parsed p(b.finish(false));
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p->cmdline, nullptr);
  EXPECT_EQ(p->problem_count, 0u);
}

TEST(Multiboot2, CommandLineWithoutNulIsIgnoredAndReported) {
  Builder b;
  b.string_tag(kTagCmdline, "reps=5", /*nul=*/false);
  b.module(0x200000, 0x201000, "m");
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p->cmdline, nullptr);
  EXPECT_EQ(p->cmdline_len, 0u);
  EXPECT_EQ(p->module_count, 1u);  // the walk went on
  EXPECT_TRUE(has_problem(*p, "command line not NUL-terminated"));
  EXPECT_FALSE(has_problem(*p, "no end tag"));
}

TEST(Multiboot2, EmptyCommandLineIsPresentWithLengthZero) {
  Builder b;
  b.cmdline("");
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  ASSERT_NE(p->cmdline, nullptr);
  EXPECT_EQ(p->cmdline_len, 0u);
}

TEST(Multiboot2, MemoryMapEntrySizeBelow24IsRejected) {
  for (u32 entry_size : {0u, 8u, 16u, 23u}) {
    Builder b;
    b.mmap({{0, 0x1000, 1}}, 24);
    usize bad = b.mmap({{0x100000, 0x1000, 1}}, 24);
    b.set32(bad + 8, entry_size);
    Parsed p(b.finish());
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p->memory_count, 1u) << entry_size;  // the first map is kept
    EXPECT_TRUE(has_problem(*p, "memory map entry_size smaller than 24")) << entry_size;
  }
}

TEST(Multiboot2, MemoryMapHonoursALargerEntrySize) {
  Builder b;
  b.mmap({{0, 0x9f000, 1}, {0x100000, 0x100000, 1}, {0xe0000000, 0x10000000, 2}}, 40);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p->problem_count, 0u) << problems_of(*p);
  ASSERT_EQ(p->memory_count, 3u);
  EXPECT_EQ(p->memory[1].base, 0x100000u);
  EXPECT_EQ(p->memory[2].base, 0xe0000000u);
  EXPECT_EQ(p->memory[2].type, kMemoryReserved);
}

TEST(Multiboot2, MemoryMapPartialEntryIsReportedAndWholeEntriesKept) {
  Builder b;
  usize at = b.mmap({{0, 0x1000, 1}, {0x100000, 0x1000, 1}});
  // Cut the tag 8 bytes into its second entry.
  b.set32(at + 4, 16 + 24 + 8);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p->memory_count, 1u);
  EXPECT_TRUE(has_problem(*p, "memory map ends with a partial entry"));
}

TEST(Multiboot2, MemoryMapTagTooShortIsReported) {
  Builder b;
  usize at = b.begin(kTagMemoryMap);
  b.put32(24);
  b.end(at);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(has_problem(*p, "memory map tag too short"));
}

TEST(Multiboot2, MoreRegionsThanFitAreTruncatedAndFlagged) {
  std::vector<Builder::Entry> entries;
  for (u64 i = 0; i < kMaxMemoryRegions + 5; ++i) entries.push_back({i * 0x1000, 0x1000, 1});
  Builder b;
  b.mmap(entries);
  b.cmdline("after the map");
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p->memory_count, kMaxMemoryRegions);
  EXPECT_TRUE(p->memory_truncated);
  EXPECT_EQ(p->memory[kMaxMemoryRegions - 1].base, (kMaxMemoryRegions - 1) * 0x1000);
  EXPECT_TRUE(has_problem(*p, "more memory regions than fit"));
  EXPECT_STREQ(p->cmdline, "after the map");  // the walk goes on after a full map
}

// Found by fuzzing: truncation returned before the overlap check, so a map that was both too
// long and overlapping said nothing about the overlap.
TEST(Multiboot2, TruncatedMapIsStillCheckedForOverlaps) {
  std::vector<Builder::Entry> entries;
  for (u64 i = 0; i < kMaxMemoryRegions + 1; ++i) entries.push_back({i * 0x1000, 0x1000, 1});
  entries[1] = entries[0];
  Builder b;
  b.mmap(entries);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p->memory_count, kMaxMemoryRegions);
  EXPECT_TRUE(p->memory_truncated);
  EXPECT_TRUE(p->memory_overlaps);
  EXPECT_TRUE(has_problem(*p, "memory regions overlap"));
  EXPECT_FALSE(has_problem(*p, "partial entry"));  // the unread rest is not a partial entry
}

TEST(Multiboot2, ZeroLengthRegionsAreSkipped) {
  Builder b;
  b.mmap({{0, 0x1000, 1}, {0x5000, 0, 1}, {0x6000, 0, 2}, {0x10000, 0x1000, 1}});
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(p->memory_count, 2u);
  EXPECT_EQ(p->memory[1].base, 0x10000u);
  EXPECT_TRUE(has_problem(*p, "zero-length"));
  EXPECT_EQ(p->problem_count, 1u);  // once per tag, not per entry
}

TEST(Multiboot2, OverlappingRegionsAreKeptAndNoted) {
  Builder b;
  b.mmap({{0, 0x10000, 1}, {0x8000, 0x10000, 2}, {0x20000, 0x1000, 1}});
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p->memory_count, 3u);
  EXPECT_TRUE(p->memory_overlaps);
  EXPECT_TRUE(has_problem(*p, "memory regions overlap"));
}

TEST(Multiboot2, AdjacentRegionsDoNotCountAsOverlapping) {
  Builder b;
  b.mmap({{0, 0x1000, 1}, {0x1000, 0x1000, 2}});
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(p->memory_overlaps);
  EXPECT_EQ(p->problem_count, 0u);
}

TEST(Multiboot2, RegionWrappingPast64BitsIsSkipped) {
  Builder b;
  b.mmap({{0xffff'ffff'ffff'f000, 0x2000, 2}, {0x1000, 0x1000, 1}});
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(p->memory_count, 1u);
  EXPECT_EQ(p->memory[0].base, 0x1000u);
  EXPECT_TRUE(has_problem(*p, "wraps past 2^64"));
}

// Found by fuzzing, the 56 bytes as the fuzzer wrote them: an RGB framebuffer at
// 0xffff'ffff'ffff'f000, pitch 4096, 1024 x 2 pixels of 32 bpp, so it would end 4 KiB past 2^64
// (a bounds check `addr + pitch * height <= limit` then passes).
TEST(Multiboot2, FramebufferWrappingPast64BitsIsRejected) {
  const u8 reproducer[56] = {
      0x38, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // total_size 56, reserved
      0x08, 0x00, 0x00, 0x00, 0x26, 0x00, 0x00, 0x00,  // framebuffer tag, size 38
      0x00, 0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // addr
      0x00, 0x10, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00,  // pitch 4096, width 1024
      0x02, 0x00, 0x00, 0x00, 0x20, 0x01, 0x00, 0x00,  // height 2, bpp 32, RGB, reserved
      0x10, 0x08, 0x08, 0x08, 0x00, 0x08, 0xee, 0xee,  // colour info, padding
      0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,  // end tag
  };
  Parsed p(std::vector<u8>(reproducer, reproducer + sizeof reproducer));
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(p->has_framebuffer);
  EXPECT_TRUE(has_problem(*p, "framebuffer wraps past 2^64"));
  EXPECT_EQ(p->problem_count, 1u) << problems_of(*p);
}

TEST(Multiboot2, FramebufferEndingJustBelow64BitsIsKept) {
  Builder b;
  b.framebuffer(0xffff'ffff'ffff'e000, 4096, 1024, 1, 32, kFramebufferRgb);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p->has_framebuffer);
  EXPECT_EQ(p->problem_count, 0u) << problems_of(*p);
  // One more row reaches 2^64 exactly: refused, as for memory regions.
  Builder c;
  c.framebuffer(0xffff'ffff'ffff'e000, 4096, 1024, 2, 32, kFramebufferRgb);
  Parsed q(c.finish());
  EXPECT_FALSE(q->has_framebuffer);
}

TEST(Multiboot2, ModuleWithStartAfterEndIsIgnored) {
  Builder b;
  b.module(0x2000, 0x1000, "backwards");
  b.module(0x3000, 0x4000, "good");
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(p->module_count, 1u);
  EXPECT_STREQ(p->modules[0].cmdline, "good");
  EXPECT_TRUE(has_problem(*p, "module start after its end"));
}

TEST(Multiboot2, ModuleTagTooShortIsReported) {
  Builder b;
  b.u32_tag(kTagModule, 0x1000);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p->module_count, 0u);
  EXPECT_TRUE(has_problem(*p, "module tag too short"));
}

TEST(Multiboot2, ModuleStringWithoutNulKeepsTheModuleWithoutString) {
  Builder b;
  usize at = b.begin(kTagModule);
  b.put32(0x1000);
  b.put32(0x2000);
  b.put_str("name", false);
  b.end(at);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(p->module_count, 1u);
  EXPECT_EQ(p->modules[0].cmdline, nullptr);
  EXPECT_TRUE(has_problem(*p, "module string not NUL-terminated"));
}

TEST(Multiboot2, MoreModulesThanFitAreReported) {
  Builder b;
  for (u32 i = 0; i < kMaxModules + 2; ++i) b.module(i * 0x1000, i * 0x1000 + 0x800, "m");
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p->module_count, kMaxModules);
  EXPECT_TRUE(has_problem(*p, "more modules than fit"));
}

TEST(Multiboot2, FramebufferTagTooShortIsRejected) {
  Builder b;
  b.u64_tag(kTagFramebuffer, 0xfd000000);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(p->has_framebuffer);
  EXPECT_TRUE(has_problem(*p, "framebuffer tag too short"));
}

TEST(Multiboot2, RgbFramebufferWithoutColorInfoIsRejected) {
  Builder b;
  usize at = b.framebuffer(0xfd000000, 4096, 1024, 768, 32, kFramebufferRgb);
  b.set32(at + 4, 36);  // cut two bytes of the six color-info bytes
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(p->has_framebuffer);
  EXPECT_TRUE(has_problem(*p, "framebuffer tag too short for its RGB color info"));
}

TEST(Multiboot2, FramebufferWithZeroBppIsRejected) {
  Builder b;
  b.framebuffer(0xfd000000, 4096, 1024, 768, 0, kFramebufferRgb);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(p->has_framebuffer);
  EXPECT_TRUE(has_problem(*p, "framebuffer bpp is 0"));
}

TEST(Multiboot2, FramebufferWithPitchBelowRowSizeIsRejected) {
  Builder b;
  b.framebuffer(0xfd000000, 4095, 1024, 768, 32, kFramebufferRgb);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(p->has_framebuffer);
  EXPECT_TRUE(has_problem(*p, "framebuffer pitch smaller than width * bpp / 8"));
}

TEST(Multiboot2, FramebufferPitchCheckDoesNotOverflow) {
  Builder b;
  b.framebuffer(0xfd000000, 0x1000, 0xffff'ffff, 1, 255, kFramebufferRgb);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(p->has_framebuffer);
}

TEST(Multiboot2, EgaTextAndIndexedFramebuffersAreAccepted) {
  {
    Builder b;
    b.framebuffer(0xb8000, 160, 80, 25, 16, kFramebufferEgaText);
    Parsed p(b.finish());
    ASSERT_TRUE(p.ok);
    ASSERT_TRUE(p->has_framebuffer) << problems_of(*p);
    EXPECT_EQ(p->framebuffer.type, kFramebufferEgaText);
    EXPECT_EQ(p->framebuffer.width, 80u);
    EXPECT_EQ(p->framebuffer.red_size, 0);
  }
  {
    Builder b;
    b.framebuffer(0xa0000, 320, 320, 200, 8, kFramebufferIndexed);
    Parsed p(b.finish());
    ASSERT_TRUE(p.ok);
    ASSERT_TRUE(p->has_framebuffer) << problems_of(*p);
    EXPECT_EQ(p->framebuffer.bpp, 8);
  }
}

TEST(Multiboot2, RsdpTagsShorterThanTheirTableAreRejected) {
  {
    Builder b;
    b.rsdp(false, 19);
    Parsed p(b.finish());
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p->rsdp, nullptr);
    EXPECT_TRUE(has_problem(*p, "ACPI old RSDP tag too short (< 20 bytes)"));
  }
  {
    Builder b;
    b.rsdp(false, 20);
    b.rsdp(true, 35);
    Parsed p(b.finish());
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p->rsdp_version, 1);  // the old copy still serves
    EXPECT_TRUE(has_problem(*p, "ACPI new RSDP tag too short (< 36 bytes)"));
  }
}

TEST(Multiboot2, TagsTheReaderDoesNotUseAreSkippedWhateverTheirSize) {
  Builder b;
  b.empty_tag(kTagBasicMeminfo);
  b.empty_tag(kTagEfi64);  // the tag's presence alone says UEFI
  b.empty_tag(kTagLoadBase);
  b.string_tag(kTagLoaderName, "GRUB", /*nul=*/false);
  b.cmdline("after");
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p->efi);
  EXPECT_STREQ(p->cmdline, "after");
  EXPECT_EQ(p->problem_count, 0u) << problems_of(*p);
}

TEST(Multiboot2, ProblemsBeyondCapacityAreCounted) {
  Builder b;
  for (int i = 0; i < 20; ++i) b.string_tag(kTagCmdline, "x", false);
  Parsed p(b.finish());
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p->problem_count, kMaxProblems);
  EXPECT_EQ(p->problems_dropped, 4u);
}

// The info ends exactly where the caller's readable area ends; what lies beyond (here a NUL, a
// plausible continuation of the damaged tag) must not show up in the results.
TEST(Multiboot2, NothingBeyondReadableIsUsed) {
  {
    // Command line cut without NUL as the last thing before total_size (no end tag).
    Builder b;
    b.module(0x200000, 0x201000, "m");
    b.string_tag(kTagCmdline, "abcdefgh", false);  // exactly fills to an 8-byte boundary
    std::vector<u8> bytes = b.finish(false);
    ASSERT_EQ(bytes.size() % 8, 0u);
    Parsed p(bytes, /*extra=*/64, /*poison=*/0);
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p->cmdline, nullptr);
    EXPECT_EQ(p->module_count, 1u);
  }
  {
    // A memory map whose tag size promises a second entry that lies beyond total_size.
    Builder b;
    usize at = b.mmap({{0x1000, 0x1000, 1}});
    b.set32(at + 4, 16 + 48);
    std::vector<u8> bytes = b.finish(false);
    Parsed p(bytes, 64, 0x11);
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p->memory_count, 0u);
    EXPECT_TRUE(has_problem(*p, "tag runs past the end"));
  }
  {
    // readable smaller than the buffer: total_size honoured only when within readable.
    Builder b;
    b.cmdline("abc");
    std::vector<u8> bytes = b.finish();
    Image image(bytes);
    BootInfo bi;
    EXPECT_TRUE(parse(image.data(), bytes.size(), bi));
    EXPECT_FALSE(parse(image.data(), bytes.size() - 8, bi));
  }
}

// Every pointer the reader hands out lies inside the part of the info it was allowed to read.
void expect_within(const BootInfo& bi, const u8* base, usize limit) {
  auto inside = [&](const void* p, usize n) {
    const u8* q = static_cast<const u8*>(p);
    return q >= base && q + n <= base + limit;
  };
  if (bi.cmdline) {
    ASSERT_TRUE(inside(bi.cmdline, bi.cmdline_len + 1));
    ASSERT_EQ(bi.cmdline[bi.cmdline_len], '\0');
  }
  for (usize i = 0; i < bi.module_count; ++i) {
    ASSERT_LE(bi.modules[i].start, bi.modules[i].end);
    if (bi.modules[i].cmdline) {
      ASSERT_TRUE(inside(bi.modules[i].cmdline, std::strlen(bi.modules[i].cmdline) + 1));
    }
  }
  if (bi.rsdp) {
    ASSERT_TRUE(inside(bi.rsdp, bi.rsdp_version == 2 ? 36 : 20));
  }
  ASSERT_LE(bi.memory_count, kMaxMemoryRegions);
  for (usize i = 0; i < bi.memory_count; ++i) {
    ASSERT_NE(bi.memory[i].length, 0u);
  }
  ASSERT_LE(bi.module_count, kMaxModules);
  ASSERT_LE(bi.problem_count, kMaxProblems);
  for (usize i = 0; i < bi.problem_count; ++i) {
    ASSERT_NE(bi.problems[i].what, nullptr);
    ASSERT_LE(bi.problems[i].offset, limit);
  }
  if (bi.has_framebuffer) {
    ASSERT_NE(bi.framebuffer.bpp, 0);
  }
}

// Mutated and truncated copies of a full info: the reader must not crash, must stay inside the
// buffer (the copies are exact-size heap blocks; run under ASan to check), and must only hand out
// pointers inside the readable area.
TEST(Multiboot2, MutatedAndTruncatedInfoNeverEscapesItsBounds) {
  Builder b;
  b.cmdline("/boot/ptibench.elf suite=full");
  b.string_tag(kTagLoaderName, "GRUB 2.06");
  b.module(0x200000, 0x201000, "initrd");
  b.meminfo(639, 523264);
  b.mmap({{0, 0x9fc00, 1}, {0x100000, 0x7ee0000, 1}, {0xfec00000, 0x1000, 2}});
  b.framebuffer(0xfd000000, 4096, 1024, 768, 32, kFramebufferRgb);
  b.u64_tag(kTagEfi64, 0x7f9e018);
  b.rsdp(false, 20);
  b.rsdp(true, 36);
  b.empty_tag(kTagEfiBootServices);
  b.u32_tag(kTagLoadBase, 0x100000);
  const std::vector<u8> base = b.finish();

  std::mt19937 rng(20240611);
  auto pick = [&](usize n) { return n == 0 ? usize{0} : static_cast<usize>(rng() % n); };
  int accepted = 0;
  for (int iter = 0; iter < 5000; ++iter) {
    std::vector<u8> bytes = base;
    int mutations = 1 + static_cast<int>(pick(6));
    for (int m = 0; m < mutations && !bytes.empty(); ++m) {
      switch (pick(5)) {
        case 0:
          bytes[pick(bytes.size())] = static_cast<u8>(rng());
          break;
        case 1:
          bytes[pick(bytes.size())] ^= static_cast<u8>(1u << pick(8));
          break;
        case 2: {  // a plausible but wrong size or type word at a tag-aligned place
          usize at = (pick(bytes.size() / 8) * 8) + (pick(2) ? 4 : 0);
          u32 v = pick(2) ? static_cast<u32>(pick(80)) : static_cast<u32>(rng());
          if (at + 4 <= bytes.size()) std::memcpy(&bytes[at], &v, 4);
          break;
        }
        case 3:
          bytes.resize(pick(bytes.size() + 1));
          break;   // truncate (total_size unchanged)
        case 4: {  // truncate and make total_size agree
          bytes.resize(pick(bytes.size() + 1));
          u32 v = static_cast<u32>(bytes.size());
          if (bytes.size() >= 4) std::memcpy(bytes.data(), &v, 4);
          break;
        }
      }
    }
    Image image(bytes);
    usize readable = pick(4) == 0 ? pick(bytes.size() + 1) : bytes.size();
    std::unique_ptr<BootInfo> bi(new BootInfo);
    bool ok = parse(image.data(), readable, *bi);
    if (!ok) {
      ASSERT_GE(bi->problem_count, 1u);
      continue;
    }
    ++accepted;
    ASSERT_LE(bi->total_size, readable);
    expect_within(*bi, image.data(), bi->total_size);
  }
  EXPECT_GT(accepted, 500);  // the mutations leave plenty for the walk to chew on
}

TEST(Multiboot2, NamesForMemoryTypesAndTags) {
  EXPECT_STREQ(memory_type_name(1), "available");
  EXPECT_STREQ(memory_type_name(2), "reserved");
  EXPECT_STREQ(memory_type_name(3), "ACPI reclaimable");
  EXPECT_STREQ(memory_type_name(4), "ACPI NVS");
  EXPECT_STREQ(memory_type_name(5), "bad");
  EXPECT_STREQ(memory_type_name(0), "unknown");
  EXPECT_STREQ(memory_type_name(77), "unknown");
  EXPECT_STREQ(tag_name(kTagMemoryMap), "memory map");
  EXPECT_STREQ(tag_name(kNoTag), "header");
  EXPECT_STREQ(tag_name(1234), "unknown");
}

}  // namespace
}  // namespace ptb::mb2
