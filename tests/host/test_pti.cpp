// The PTI user tables: exactly the entry area of the kernel, with the right permissions, the
// user half shared with the kernel tables, nothing else.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "arch/x86/pti.h"
#include "arch/x86/regs.h"

namespace ptb::x86 {
namespace {

// Page-aligned host memory standing in for physical frames; "physical" = host address.
struct Arena {
  std::vector<void*> blocks;
  ~Arena() {
    for (void* b : blocks) std::free(b);
  }
  static u64 alloc(void* ctx) {
    auto* a = static_cast<Arena*>(ctx);
    void* p = std::aligned_alloc(4096, 4096);
    std::memset(p, 0, 4096);
    a->blocks.push_back(p);
    return reinterpret_cast<u64>(p);
  }
  static u64* table(void*, u64 phys) { return reinterpret_cast<u64*>(phys); }
  x86::Arena view() { return {alloc, table, this}; }
};

constexpr u64 kUserBase = u64{255} << 39;
constexpr u64 kNx = Pte::kNoExecute;

struct Fixture {
  Arena arena;
  PageTable kernel{arena.view(), Arena::alloc(&arena)};
  PageTable user{arena.view(), Arena::alloc(&arena)};
  EntryArea area{0x113000, 0x114000, 0x129000, 0x12b000, 0x12b000, 0x136000};

  Fixture() {
    // The kernel maps itself (2 MiB identity pages) and the user region (user pages).
    EXPECT_EQ(kernel.map_range(0, 0, 64 << 20, Pte::kWritable | kNx, true), MapError::kNone);
    EXPECT_EQ(kernel.map_4k(kUserBase, 0x4000'0000, Pte::kUser), MapError::kNone);
    EXPECT_EQ(kernel.map_4k(kUserBase + 0x10'0000, 0x4000'1000, Pte::kUser | Pte::kWritable | kNx),
              MapError::kNone);
    EXPECT_EQ(build_pti_user_tables(kernel, user, 255, 255, area, kNx), MapError::kNone);
  }
};

TEST(PtiUserTables, ExposeExactlyTheEntryAreaWithItsPermissions) {
  Fixture f;
  ExposedRun runs[8];
  usize n = kernel_pages_in(f.user, runs, 8);
  ASSERT_EQ(n, 3u);
  EXPECT_EQ(runs[0].start, 0x113000u);
  EXPECT_EQ(runs[0].end, 0x114000u);
  EXPECT_TRUE(runs[0].executable);
  EXPECT_FALSE(runs[0].writable);
  EXPECT_EQ(runs[1].start, 0x129000u);
  EXPECT_EQ(runs[1].end, 0x12b000u);
  EXPECT_FALSE(runs[1].executable);
  EXPECT_FALSE(runs[1].writable);
  EXPECT_EQ(runs[2].start, 0x12b000u);
  EXPECT_EQ(runs[2].end, 0x136000u);
  EXPECT_FALSE(runs[2].executable);
  EXPECT_TRUE(runs[2].writable);
}

TEST(PtiUserTables, KernelOutsideTheEntryAreaIsAbsent) {
  Fixture f;
  for (u64 va :
       {u64{0x100000}, u64{0x112000}, u64{0x114000}, u64{0x128000}, u64{0x136000}, u64{0x200000}})
    EXPECT_FALSE(f.user.translate(va).present) << std::hex << va;
  EXPECT_TRUE(f.kernel.translate(0x128000).present);
}

TEST(PtiUserTables, EntryPagesAreSupervisorOnlyAndIdentityMapped) {
  Fixture f;
  Translation t = f.user.translate(0x113abc);
  ASSERT_TRUE(t.present);
  EXPECT_FALSE(t.user);
  EXPECT_EQ(t.phys, 0x113abcu);
  EXPECT_EQ(t.level, 1u);  // 4 KiB pages, never a large page that would drag neighbours in
}

TEST(PtiUserTables, UserHalfIsSharedWithTheKernelTables) {
  Fixture f;
  Translation code = f.user.translate(kUserBase);
  ASSERT_TRUE(code.present);
  EXPECT_TRUE(code.user);
  EXPECT_FALSE(code.no_execute);
  EXPECT_EQ(code.phys, 0x4000'0000u);
  // A user page mapped later in the kernel tables shows up in the user tables too.
  ASSERT_EQ(f.kernel.map_4k(kUserBase + 0x20'0000, 0x4000'2000, Pte::kUser | Pte::kWritable | kNx),
            MapError::kNone);
  EXPECT_TRUE(f.user.translate(kUserBase + 0x20'0000).present);
}

TEST(PtiUserTables, PairLayoutMatchesLinux) {
  // The user PML4 is the kernel PML4 + 4 KiB when both come from one 8 KiB-aligned pair.
  Arena arena;
  void* pair = std::aligned_alloc(8192, 8192);
  std::memset(pair, 0, 8192);
  u64 k = reinterpret_cast<u64>(pair);
  PageTable kernel{arena.view(), k}, user{arena.view(), k + 4096};
  ASSERT_EQ(kernel.map_4k(kUserBase, 0x5000'0000, Pte::kUser), MapError::kNone);
  EntryArea area{0x113000, 0x114000, 0x114000, 0x115000, 0x115000, 0x116000};
  ASSERT_EQ(build_pti_user_tables(kernel, user, 255, 255, area, kNx), MapError::kNone);
  EXPECT_EQ(Cr3::root(k).user_half().table(), user.root());
  EXPECT_EQ(Cr3::root(user.root()).kernel_half().table(), kernel.root());
  std::free(pair);
}

// ---- what each scheme makes global, as Linux does (arch/x86/mm/pti.c) ------------------------

TEST(PtiGlobals, FollowLinuxFromFourSeventeenOnAndFourFifteenOnRequest) {
  // pti_kernel_image_global_ok: kernel text global only without PCID; entry text and the CPU
  // entry area always (pti_clone_entry_text, cea_set_pte); 4.15: nothing.
  EXPECT_EQ(pti_globals(EntryScheme::kPti, false), PtiGlobals::kEntryAndText);
  EXPECT_EQ(pti_globals(EntryScheme::kPcid, false), PtiGlobals::kEntry);
  EXPECT_EQ(pti_globals(EntryScheme::kPcidFlush, false), PtiGlobals::kEntry);
  for (EntryScheme s : {EntryScheme::kPti, EntryScheme::kPcid, EntryScheme::kPcidFlush})
    EXPECT_EQ(pti_globals(s, true), PtiGlobals::kNone);
  EXPECT_EQ(pti_globals(EntryScheme::kNone, false), PtiGlobals::kNone);
  EXPECT_STREQ(pti_globals_name(PtiGlobals::kNone), "none");
  EXPECT_STREQ(pti_globals_name(PtiGlobals::kEntry), "entry");
  EXPECT_STREQ(pti_globals_name(PtiGlobals::kEntryAndText), "entry+text");
}

// A kernel image in 4 KiB pages, as kernel/memory.cpp maps it: text, entry text, rodata, the
// entry area's rodata and data, then data.
struct ImageFixture {
  Arena arena;
  PageTable kernel{arena.view(), Arena::alloc(&arena)};
  EntryArea area{0x113000, 0x114000, 0x129000, 0x12b000, 0x12b000, 0x136000};
  KernelImage image{0x100000, 0x113000, 0x114000, 0x129000};

  ImageFixture() {
    EXPECT_EQ(kernel.map_range(0x100000, 0x100000, 0x14000, 0, false), MapError::kNone);
    EXPECT_EQ(kernel.map_range(0x114000, 0x114000, 0x17000, kNx, false), MapError::kNone);
    EXPECT_EQ(kernel.map_range(0x12b000, 0x12b000, 0x20000, Pte::kWritable | kNx, false),
              MapError::kNone);
    EXPECT_EQ(kernel.map_4k(kUserBase, 0x4000'0000, Pte::kUser), MapError::kNone);
  }
  PageTable user_tables(PtiGlobals g) {
    PageTable user{arena.view(), Arena::alloc(&arena)};
    EXPECT_EQ(build_pti_user_tables(kernel, user, 255, 255, area, kNx, g, &image), MapError::kNone);
    return user;
  }
};

bool global_at(const PageTable& t, u64 va) {
  Translation tr = t.translate(va);
  return tr.present && tr.global;
}

TEST(PtiGlobals, UserTablesHoldTheEntryAreaGlobalAndWithoutPcidTheTextToo) {
  ImageFixture f;
  for (PtiGlobals g : {PtiGlobals::kNone, PtiGlobals::kEntry, PtiGlobals::kEntryAndText}) {
    PageTable user = f.user_tables(g);
    const bool entry = g != PtiGlobals::kNone, text = g == PtiGlobals::kEntryAndText;
    for (u64 va : {u64{0x113000}, u64{0x129000}, u64{0x12b000}, u64{0x135000}})
      EXPECT_EQ(global_at(user, va), entry) << pti_globals_name(g) << std::hex << " " << va;
    // The text: mapped, executable and global only without PCID; rodata mapped, not global.
    Translation t = user.translate(0x100000), ro = user.translate(0x114000);
    EXPECT_EQ(t.present, text) << pti_globals_name(g);
    EXPECT_EQ(ro.present, text) << pti_globals_name(g);
    if (text) {
      EXPECT_TRUE(t.global && !t.no_execute && !t.writable && !t.user);
      EXPECT_TRUE(!ro.global && ro.no_execute && !ro.writable && !ro.user);
    }
    // Never the data, never anything user-accessible of the kernel.
    EXPECT_FALSE(user.translate(0x136000).present) << pti_globals_name(g);
    EXPECT_FALSE(user.translate(0x140000).present) << pti_globals_name(g);
    EXPECT_TRUE(user.translate(kUserBase).user);
    EXPECT_FALSE(user.translate(kUserBase).global);
  }
}

TEST(PtiGlobals, KernelTablesFollowTheSchemeAndGoBackToNothingGlobal) {
  ImageFixture f;
  apply_kernel_globals(f.kernel, f.area, f.image, PtiGlobals::kEntryAndText);
  EXPECT_TRUE(global_at(f.kernel, 0x100000));  // text
  EXPECT_TRUE(global_at(f.kernel, 0x112fff));
  EXPECT_TRUE(global_at(f.kernel, 0x113000));   // entry text
  EXPECT_FALSE(global_at(f.kernel, 0x114000));  // rodata: not global (4 KiB-mapped image)
  EXPECT_TRUE(global_at(f.kernel, 0x129000));   // entry rodata, entry data
  EXPECT_TRUE(global_at(f.kernel, 0x135000));
  EXPECT_FALSE(global_at(f.kernel, 0x136000));  // data
  EXPECT_FALSE(global_at(f.kernel, kUserBase));
  apply_kernel_globals(f.kernel, f.area, f.image, PtiGlobals::kEntry);
  EXPECT_FALSE(global_at(f.kernel, 0x100000));
  EXPECT_TRUE(global_at(f.kernel, 0x113000));
  EXPECT_TRUE(global_at(f.kernel, 0x12b000));
  apply_kernel_globals(f.kernel, f.area, f.image, PtiGlobals::kNone);
  for (u64 va = 0x100000; va < 0x14b000; va += 0x1000)
    EXPECT_FALSE(global_at(f.kernel, va)) << std::hex << va;
  // Only PTE.G changed: the permissions are the kernel's as mapped.
  EXPECT_FALSE(f.kernel.translate(0x100000).no_execute);
  EXPECT_TRUE(f.kernel.translate(0x12b000).writable);
}

TEST(PtiGlobals, SetGlobalCountsWhatChangedAndSkipsHolesAndLargePages) {
  ImageFixture f;
  EXPECT_EQ(set_global(f.kernel, 0x100000, 0x103000, true), 3u);
  EXPECT_EQ(set_global(f.kernel, 0x100000, 0x103000, true), 0u);  // already global
  EXPECT_EQ(set_global(f.kernel, 0x14b000, 0x150000, true), 0u);  // not mapped
  ASSERT_EQ(f.kernel.map_2m(0x4000'0000, 0x4000'0000, 0), MapError::kNone);
  EXPECT_EQ(set_global(f.kernel, 0x4000'0000, 0x4000'2000, true), 0u);  // a 2 MiB leaf: left alone
  EXPECT_EQ(set_global(f.kernel, 0x100000, 0x104000, false), 3u);
}

// ---- the CR3 values each entry scheme runs with, against what the entry stubs compute --------

// arch/x86/pti.inc, TO_KERNEL_CR3: (bts 63 with PCID NOFLUSH,) and ~0x1800.
u64 stub_to_kernel(u64 cr3, bool noflush) {
  return (noflush ? cr3 | Cr3::kNoflush : cr3) & ~u64{0x1800};
}
// TO_USER_CR3: PTI without PCID sets bit 12 only; with PCID both bits (NOFLUSH unless flushing).
u64 stub_to_user(u64 cr3, EntryScheme mode) {
  if (mode == EntryScheme::kPti) return cr3 | 0x1000;
  u64 v = cr3 | 0x1800;
  return mode == EntryScheme::kPcid ? v | Cr3::kNoflush : v;
}

constexpr u64 kRoot = 0x17'8000;  // 8 KiB-aligned, as the kernel's pair is

TEST(PtiCr3, OffStaysOnTheKernelTables) {
  PtiCr3 c = pti_cr3(EntryScheme::kNone, kRoot);
  EXPECT_EQ(c.kernel, kRoot);
  EXPECT_EQ(c.user, kRoot);
}

TEST(PtiCr3, PtiWithoutPcidUsesTheSecondHalfAndPcidZero) {
  PtiCr3 c = pti_cr3(EntryScheme::kPti, kRoot);
  EXPECT_EQ(c.kernel, kRoot);
  EXPECT_EQ(c.user, kRoot + 0x1000);
  EXPECT_EQ(c.user & 0xfff, 0u);  // CR4.PCIDE = 0: no PCID bits
  EXPECT_EQ(stub_to_kernel(c.user, false), c.kernel);
  EXPECT_EQ(stub_to_user(c.kernel, EntryScheme::kPti), c.user);
}

TEST(PtiCr3, PcidUsesLinuxsKernelAndUserPcids) {
  for (EntryScheme mode : {EntryScheme::kPcid, EntryScheme::kPcidFlush}) {
    PtiCr3 c = pti_cr3(mode, kRoot);
    EXPECT_EQ(c.kernel, kRoot | 1);              // kernel PCID = ASID 0 + 1
    EXPECT_EQ(c.user, (kRoot + 0x1000) | 2049);  // user PCID = kernel PCID | 2048
    // What the stubs compute from one value gives the other (modulo the NOFLUSH request).
    EXPECT_EQ(stub_to_kernel(c.user, mode == EntryScheme::kPcid) & ~Cr3::kNoflush, c.kernel);
    EXPECT_EQ(stub_to_user(c.kernel, mode) & ~Cr3::kNoflush, c.user);
    EXPECT_EQ(stub_to_user(c.kernel, mode) >> 63, mode == EntryScheme::kPcid ? 1u : 0u);
  }
}

}  // namespace
}  // namespace ptb::x86
