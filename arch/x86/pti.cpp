#include "arch/x86/pti.h"

#include "arch/x86/regs.h"

namespace ptb::x86 {
namespace {

MapError map_run(PageTable& t, u64 start, u64 end, u64 flags) {
  start &= ~(kPage - 1);
  end = (end + kPage - 1) & ~(kPage - 1);
  return t.map_range(start, start, end - start, flags, false);
}

struct Collector {
  ExposedRun* out;
  usize cap;
  usize n;
};

void collect(void* ctx, const Translation& tr) {
  auto& c = *static_cast<Collector*>(ctx);
  if (tr.user) return;
  bool exec = !tr.no_execute;
  if (c.n > 0 && c.n <= c.cap) {
    ExposedRun& last = c.out[c.n - 1];
    if (last.end == tr.page_base && last.writable == tr.writable && last.executable == exec) {
      last.end = tr.page_base + tr.page_size;
      return;
    }
  }
  if (c.n < c.cap) c.out[c.n] = {tr.page_base, tr.page_base + tr.page_size, tr.writable, exec};
  ++c.n;
}

}  // namespace

const char* pti_globals_name(PtiGlobals g) {
  constexpr const char* kNames[] = {"none", "entry", "entry+text"};
  return kNames[static_cast<u32>(g)];
}

MapError build_pti_user_tables(const PageTable& kernel, PageTable& user, unsigned user_first,
                               unsigned user_last, const EntryArea& e, u64 nx, PtiGlobals globals,
                               const KernelImage* image) {
  // Share the user half: the same PDPTs as the kernel's, so a user mapping made in one is in both.
  u64* kroot = user.arena().table(user.arena().ctx, kernel.root());
  u64* uroot = user.arena().table(user.arena().ctx, user.root());
  for (unsigned i = user_first; i <= user_last && i < kEntries; ++i) uroot[i] = kroot[i];

  const u64 g = globals == PtiGlobals::kNone ? 0 : Pte::kGlobal;
  if (MapError err = map_run(user, e.text_start, e.text_end, g); err != MapError::kNone) return err;
  if (MapError err = map_run(user, e.rodata_start, e.rodata_end, nx | g); err != MapError::kNone)
    return err;
  if (MapError err = map_run(user, e.data_start, e.data_end, Pte::kWritable | nx | g);
      err != MapError::kNone)
    return err;
  if (globals != PtiGlobals::kEntryAndText || image == nullptr) return MapError::kNone;
  if (MapError err = map_run(user, image->text_start, image->text_end, Pte::kGlobal);
      err != MapError::kNone)
    return err;
  return map_run(user, image->rodata_start, image->rodata_end, nx);
}

usize set_global(const PageTable& t, u64 start, u64 end, bool global) {
  usize changed = 0;
  for (u64 va = start & ~(kPage - 1); va < end; va += kPage) {
    u64* pte = t.entry(va, 1);
    if (pte == nullptr || !Pte{*pte}.present()) continue;
    const u64 want = global ? (*pte | Pte::kGlobal) : (*pte & ~Pte::kGlobal);
    if (want != *pte) {
      *pte = want;
      ++changed;
    }
  }
  return changed;
}

void apply_kernel_globals(const PageTable& kernel, const EntryArea& e, const KernelImage& image,
                          PtiGlobals globals) {
  const bool entry = globals != PtiGlobals::kNone;
  set_global(kernel, image.text_start, image.text_end, globals == PtiGlobals::kEntryAndText);
  set_global(kernel, e.text_start, e.text_end, entry);
  set_global(kernel, e.rodata_start, e.rodata_end, entry);
  set_global(kernel, e.data_start, e.data_end, entry);
}

usize kernel_pages_in(const PageTable& tables, ExposedRun* out, usize cap) {
  Collector c{out, cap, 0};
  tables.for_each_leaf(collect, &c);
  return c.n;
}

PtiCr3 pti_cr3(EntryScheme scheme, u64 kernel_root) {
  const Cr3 root = Cr3::root(kernel_root);
  switch (scheme) {
    case EntryScheme::kNone:
      break;
    case EntryScheme::kPti:
      return {root.raw, Cr3::root(kernel_root + kUserPgdOffset).raw};
    case EntryScheme::kPcid:
    case EntryScheme::kPcidFlush: {
      const Cr3 k = root.with_pcid(kernel_pcid(Asid{0}));
      return {k.raw, k.user_half().raw};
    }
  }
  return {root.raw, root.raw};
}

}  // namespace ptb::x86
