#include "arch/x86/page_table.h"

namespace ptb::x86 {
namespace {

// What a walk reports for a leaf at `level` (a page of 4 KiB << 9·(level−1)), with the
// permissions accumulated on the way down.
Translation leaf(Pte e, unsigned level, u64 page_base, bool w, bool u, bool nx) {
  Translation r;
  r.present = true;
  r.level = level;
  r.page_size = u64{1} << (12 + 9 * (level - 1));
  r.page_base = page_base;
  r.phys = e.addr() & ~(r.page_size - 1);
  r.writable = w;
  r.user = u;
  r.no_execute = nx;
  r.global = e.raw & Pte::kGlobal;
  return r;
}

}  // namespace

const char* map_error_name(MapError e) {
  switch (e) {
    case MapError::kNone:
      return "ok";
    case MapError::kOutOfMemory:
      return "out of memory for page tables";
    case MapError::kMisaligned:
      return "address or size not page-aligned";
    case MapError::kNotCanonical:
      return "virtual address not canonical";
    case MapError::kConflict:
      return "range already mapped with a different page size";
  }
  return "?";
}

u64* PageTable::walk_create(u64 virt, unsigned level, MapError& err) {
  u64* t = table(root_);
  for (unsigned l = 4; l > level; --l) {
    u64& e = t[table_index(virt, l)];
    Pte pte{e};
    if (!pte.present()) {
      u64 frame = arena_.alloc(arena_.ctx);
      if (frame == 0) {
        err = MapError::kOutOfMemory;
        return nullptr;
      }
      e = Pte::make(frame, kTableFlags).raw;
    } else if (pte.huge()) {
      err = MapError::kConflict;
      return nullptr;
    }
    t = table(Pte{e}.addr());
  }
  return t;
}

MapError PageTable::map_4k(u64 virt, u64 phys, u64 flags) {
  if ((virt | phys) & (kPage - 1)) return MapError::kMisaligned;
  if (!is_canonical(virt)) return MapError::kNotCanonical;
  MapError err = MapError::kNone;
  u64* pt = walk_create(virt, 1, err);
  if (!pt) return err;
  pt[table_index(virt, 1)] = Pte::make(phys, (flags | Pte::kPresent) & ~Pte::kHuge).raw;
  return MapError::kNone;
}

MapError PageTable::map_2m(u64 virt, u64 phys, u64 flags) {
  if ((virt | phys) & (kLargePage - 1)) return MapError::kMisaligned;
  if (!is_canonical(virt)) return MapError::kNotCanonical;
  MapError err = MapError::kNone;
  u64* pd = walk_create(virt, 2, err);
  if (!pd) return err;
  u64& e = pd[table_index(virt, 2)];
  if (Pte{e}.present() && !Pte{e}.huge()) return MapError::kConflict;  // a 4 KiB table is there
  e = Pte::make(phys, flags | Pte::kPresent | Pte::kHuge).raw;
  return MapError::kNone;
}

MapError PageTable::map_range(u64 virt, u64 phys, u64 size, u64 flags, bool large) {
  if ((virt | phys | size) & (kPage - 1)) return MapError::kMisaligned;
  // Count down what is left rather than compare with an end: a range may end at 2^64.
  while (size > 0) {
    MapError err;
    u64 step;
    if (large && ((virt | phys) & (kLargePage - 1)) == 0 && size >= kLargePage) {
      err = map_2m(virt, phys, flags);
      step = kLargePage;
    } else {
      err = map_4k(virt, phys, flags);
      step = kPage;
    }
    if (err != MapError::kNone) return err;
    virt += step;
    phys += step;
    size -= step;
  }
  return MapError::kNone;
}

u64* PageTable::entry(u64 virt, unsigned level) const {
  if (!is_canonical(virt) || level < 1 || level > 4) return nullptr;
  u64* t = table(root_);
  for (unsigned l = 4; l > level; --l) {
    Pte e{t[table_index(virt, l)]};
    if (!e.present() || e.huge()) return nullptr;
    t = table(e.addr());
  }
  return &t[table_index(virt, level)];
}

bool PageTable::unmap_4k(u64 virt) {
  u64* leaf = entry(virt, 1);
  if (!leaf) return false;
  bool was = Pte{*leaf}.present();
  *leaf = 0;
  return was;
}

Translation PageTable::translate(u64 virt) const {
  Translation r;
  if (!is_canonical(virt)) return r;
  const u64* t = table(root_);
  bool w = true, u = true, nx = false;
  for (unsigned l = 4; l >= 1; --l) {
    Pte e{t[table_index(virt, l)]};
    if (!e.present()) return r;
    w = w && (e.raw & Pte::kWritable);
    u = u && (e.raw & Pte::kUser);
    nx = nx || (e.raw & Pte::kNoExecute);
    if (l == 1 || (e.huge() && l <= 3)) {
      u64 size = u64{1} << (12 + 9 * (l - 1));
      r = leaf(e, l, virt & ~(size - 1), w, u, nx);
      r.phys += virt & (size - 1);  // the address itself, not its page
      return r;
    }
    t = table(e.addr());
  }
  return r;
}

void PageTable::visit_table(u64 phys, unsigned level, u64 base, bool w, bool u, bool nx,
                            void (*visit)(void*, const Translation&), void* ctx) const {
  const u64* t = table(phys);
  for (unsigned i = 0; i < kEntries; ++i) {
    Pte e{t[i]};
    if (!e.present()) continue;
    u64 va = base | (u64{i} << (12 + 9 * (level - 1)));
    if (level == 4 && i >= 256) va |= 0xffff'0000'0000'0000;  // sign-extend the upper half
    bool ew = w && (e.raw & Pte::kWritable), eu = u && (e.raw & Pte::kUser);
    bool enx = nx || (e.raw & Pte::kNoExecute);
    if (level == 1 || (e.huge() && level <= 3)) {
      visit(ctx, leaf(e, level, va, ew, eu, enx));
    } else {
      visit_table(e.addr(), level - 1, va, ew, eu, enx, visit, ctx);
    }
  }
}

void PageTable::for_each_leaf(void (*visit)(void* ctx, const Translation&), void* ctx) const {
  visit_table(root_, 4, 0, true, true, false, visit, ctx);
}

}  // namespace ptb::x86
