// A PCID-tagged TLB with global bits and a PDE cache, as a ProbeCpu (bench/probe.h), with the
// behaviours the probes must tell apart. Pure: the host tests run every probe on every behaviour
// and check the observation and the verdict; nothing in the kernel uses it.
#pragma once

#include "bench/probe.h"
#include "lib/types.h"

namespace ptb::bench {

enum class Behaviour : u8 {
  kSdmMaxKeep,  // keeps everything SDM Vol.3 4.10.4.1 allows it to keep
  kBochs,       // Bochs 2.7: untagged TLB, NOFLUSH ignored, INVPCID flushes more, no PDE cache
  kQemuTcg,     // QEMU TCG: every CR3 write (and PGE toggle) drops everything, globals included
  kBroken,      // keeps what it must drop: never invalidates anything but at the reset
};
const char* behaviour_name(Behaviour b);

class TlbModel {
 public:
  explicit TlbModel(Behaviour b) : b_(b) {}

  void reset(const ProbeSpec& p);
  Magic read(Page page);
  void retarget_pte() { pte_[0][0] = kFrameB; }
  void retarget_pde() { pde_ = 1; }
  void write_cr3(u16 pcid, bool noflush);
  void invpcid(u32 type, u16 pcid, Page page);
  void invlpg(Page page);
  void toggle_pge() { drop_all(); }
  void pcide_off();

 private:
  static constexpr u8 kFrameA = 0, kFrameB = 1;
  struct Entry {
    bool valid;
    u16 pcid;
    u8 page, frame;
    bool global;
  };
  struct PdeEntry {
    bool valid;
    u16 pcid;
    u8 table;
  };
  // Drops the TLB entries for which keep(entry) is false, and with `psc` the PDE-cache entries of
  // `psc_pcid` (any PCID when psc_all).
  template <typename Keep>
  void drop(Keep keep, bool psc, bool psc_all, u16 psc_pcid);
  void drop_all();

  Behaviour b_;
  Entry tlb_[8]{};
  PdeEntry psc_[4]{};
  u8 pte_[2][2]{};  // [table][page] -> frame
  u8 pde_ = 0;      // which table the region's PDE points at
  bool global_ = false, pcide_ = false;
  u16 pcid_ = 0;
};
static_assert(ProbeCpu<TlbModel>);

}  // namespace ptb::bench
