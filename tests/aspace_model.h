// The host's model of the address-space lab's CPU (a LabCpu, bench/asid_policy.h): a TLB tagged
// by PCID with global entries, keeping every translation the SDM allows it to keep (Vol.3
// 4.10.2.4, 4.10.4.1: MOV to CR3 without NOFLUSH drops the new PCID's non-global entries, with
// PCIDE = 0 every non-global entry; INVPCID type 0 one address's non-global entry in one PCID;
// INVLPG the address in the current PCID and its global entries), over the lab's address spaces:
// each process's PTI pair (its working set and the shared kernel page in both halves, as Linux's
// entry area is; the Kk kernel pages in the kernel half only). The ring-3 part of a slice and the
// system calls are modelled step by step as bench/aspace.asm and arch/x86/pti.inc do them, so a
// policy that leaves a stale translation visible shows it as a read of the wrong frame. Host-only
// (tests/).
#pragma once

#include <map>
#include <string>
#include <utility>

#include "bench/asid_policy.h"

namespace ptb::bench::aspace::model {

struct Shape {
  u32 pages = 8;         // W
  u32 calls = 4;         // k
  u32 kernel_pages = 8;  // Kk
  bool global = false;   // the Kk pages global
};

class TlbCpu {
 public:
  TlbCpu(const Shape& s, bool pcide, u64* user_flush_mask)
      : s_(s), pcide_(pcide), mask_(user_flush_mask) {}

  // ---- LabCpu ----
  void load_kernel(u32 p, x86::Pcid pcid, bool noflush) { set_cr3(p, false, pcid.value, noflush); }
  void run_user(u32 p, x86::Pcid user, bool noflush, x86::Pcid kernel) {
    set_cr3(p, true, user.value, noflush);  // ring3_enter: the user CR3 as the policy made it
    for (u32 w = 0; w < s_.pages; ++w) read(Page{kUser, w}, p);
    for (u32 c = 0; c < s_.calls; ++c) {
      // The entry reads the shared kernel page on the user half first (both halves map it).
      read(Page{kShared, 0}, p);
      // TO_KERNEL_CR3: the kernel half of whatever CR3 holds, NOFLUSH with PCID.
      set_cr3(root_, false, static_cast<u16>(pcid_ & ~x86::kUserPcidBit), pcide_);
      for (u32 i = 0; i < s_.kernel_pages; ++i) read(Page{kKernel, i}, p);
      read(Page{kShared, 0}, p);
      // TO_USER_CR3: with PCID, flush the user PCID only if its lazy bit (by kernel PCID) is set.
      bool flush = !pcide_;
      if (pcide_) {
        u64& w = mask_[pcid_ / 64];
        const u64 m = u64{1} << (pcid_ % 64);
        flush = (w & m) != 0;
        w &= ~m;
      }
      set_cr3(root_, true, static_cast<u16>(pcid_ | (pcide_ ? x86::kUserPcidBit : 0)), !flush);
    }
    set_cr3(p, false, kernel.value, pcide_);  // ring3_exit_stub: the per-CPU kernel CR3
  }
  void invpcid_addr(x86::Pcid pcid) { tlb_.erase({pcid.value, Page{kShared, 0}}); }
  void invlpg() {
    tlb_.erase({pcid_, Page{kShared, 0}});
    global_.erase(Page{kShared, 0});
  }
  void remap_kernel_page() { shared_ ^= 1; }

  // What a kernel read of working-set page w sees now (the deferred policy's condition).
  u64 kernel_reads_user_page(u32 w) { return lookup(Page{kUser, w}); }

  u64 stale() const { return stale_; }
  const std::string& first_stale() const { return first_; }
  u64 reads() const { return reads_; }

 private:
  enum Kind : u8 { kUser, kKernel, kShared };
  struct Page {
    Kind kind;
    u32 index;
    friend auto operator<=>(const Page&, const Page&) = default;
  };

  // The frame the current tables map the page to (the frame ids are the magics).
  u64 walk(Page pg) const {
    switch (pg.kind) {
      case kUser:
        return page_magic(root_, pg.index);
      case kKernel:
        return 0x1'0000'0000ull + pg.index;
      case kShared:
        return kernel_page_magic(shared_);
    }
    return 0;
  }
  bool is_global(Page pg) const { return pg.kind == kKernel && s_.global; }
  u64 lookup(Page pg) {
    if (auto g = global_.find(pg); g != global_.end()) return g->second;
    if (auto e = tlb_.find({pcid_, pg}); e != tlb_.end()) return e->second;
    const u64 f = walk(pg);
    if (is_global(pg)) {
      global_[pg] = f;
    } else {
      tlb_[{pcid_, pg}] = f;
    }
    return f;
  }
  void read(Page pg, u32 process) {
    ++reads_;
    if (pg.kind == kKernel && user_half_) {
      ++stale_;  // the user half maps none of the Kk pages: would fault
      if (first_.empty()) first_ = "kernel page read on the user half";
      return;
    }
    const u64 seen = lookup(pg), truth = walk(pg);
    if (seen == truth) return;
    if (++stale_ == 1)
      first_ = "process " + std::to_string(process) + " kind " + std::to_string(pg.kind) +
               " page " + std::to_string(pg.index) + " read " + std::to_string(seen) +
               " expected " + std::to_string(truth) + " (PCID " + std::to_string(pcid_) + ")";
  }
  void set_cr3(u32 root, bool user_half, u16 pcid, bool noflush) {
    if (!pcide_) {
      pcid = 0;
      noflush = false;
    }
    if (!noflush) {
      for (auto it = tlb_.begin(); it != tlb_.end();)
        it = (!pcide_ || it->first.first == pcid) ? tlb_.erase(it) : std::next(it);
    }
    root_ = root;
    user_half_ = user_half;
    pcid_ = pcid;
  }

  Shape s_;
  bool pcide_;
  u64* mask_;
  std::map<std::pair<u16, Page>, u64> tlb_;
  std::map<Page, u64> global_;
  u32 root_ = 0;  // the process whose pair CR3 points at
  bool user_half_ = false;
  u16 pcid_ = 1;  // the lab starts on the kernel PCID of Linux's slot 0
  u32 shared_ = 0;
  u64 stale_ = 0, reads_ = 0;
  std::string first_;
};
static_assert(LabCpu<TlbCpu>);

// One record's run on the model: its decision counts and what the reads saw.
struct Outcome {
  Counts counts;
  u64 stale, reads;
  std::string first_stale;
};
template <typename State = AsidState>
Outcome simulate(const RunSpec& spec, const Shape& shape, State&& st = State{}) {
  u64 mask[kMaskWords] = {};
  TlbCpu cpu(shape, spec.cfg.policy != Policy::kNopcid, mask);
  run(st, cpu, spec, mask, [](u32, u32) {});
  return {st.counts(), cpu.stale(), cpu.reads(), cpu.first_stale()};
}

}  // namespace ptb::bench::aspace::model
