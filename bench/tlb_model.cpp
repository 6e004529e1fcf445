// The TLB model's behaviours (bench/tlb_model.h). Each operation first states what the SDM
// requires to go (kSdmMaxKeep drops exactly that), then how the emulators over-flush.
#include "bench/tlb_model.h"

namespace ptb::bench {

const char* behaviour_name(Behaviour b) {
  switch (b) {
    case Behaviour::kSdmMaxKeep:
      return "sdm-max-keep";
    case Behaviour::kBochs:
      return "bochs";
    case Behaviour::kQemuTcg:
      return "qemu-tcg";
    case Behaviour::kBroken:
      break;
  }
  return "broken";
}

void TlbModel::reset(const ProbeSpec& p) {
  for (Entry& e : tlb_) e.valid = false;
  for (PdeEntry& e : psc_) e.valid = false;
  pte_[0][0] = pte_[0][1] = kFrameA;
  pte_[1][0] = pte_[1][1] = kFrameB;
  pde_ = 0;
  global_ = p.global;
  pcide_ = p.pcid;
  pcid_ = p.pcid ? 1 : 0;
}

Magic TlbModel::read(Page page) {
  const u8 pg = static_cast<u8>(page);
  // SDM Vol.3 4.10.2.4: a global entry serves every PCID.
  for (const Entry& e : tlb_)
    if (e.valid && e.page == pg && (e.global || e.pcid == pcid_))
      return e.frame == kFrameA ? Magic::kA : Magic::kB;
  // The walk: through a PDE-cache entry of this PCID where there is one (SDM Vol.3 4.10.3.2);
  // Bochs and QEMU have no paging-structure caches.
  const bool has_psc = b_ == Behaviour::kSdmMaxKeep || b_ == Behaviour::kBroken;
  u8 table = pde_;
  bool cached = false;
  if (has_psc) {
    for (const PdeEntry& e : psc_) {
      if (e.valid && e.pcid == pcid_) {
        table = e.table;
        cached = true;
        break;
      }
    }
    if (!cached) {
      for (PdeEntry& e : psc_) {
        if (!e.valid) {
          e = {true, pcid_, table};
          break;
        }
      }
    }
  }
  const u8 frame = pte_[table][pg];
  Entry fresh{true, pcid_, pg, frame, global_};
  Entry* slot = &tlb_[0];
  for (Entry& e : tlb_) {
    if (!e.valid) {
      slot = &e;
      break;
    }
  }
  *slot = fresh;
  return frame == kFrameA ? Magic::kA : Magic::kB;
}

template <typename Keep>
void TlbModel::drop(Keep keep, bool psc, bool psc_all, u16 psc_pcid) {
  if (b_ == Behaviour::kBroken) return;
  for (Entry& e : tlb_)
    if (e.valid && !keep(e)) e.valid = false;
  if (!psc) return;
  for (PdeEntry& e : psc_)
    if (psc_all || e.pcid == psc_pcid) e.valid = false;
}

void TlbModel::drop_all() {
  drop([](const Entry&) { return false; }, true, true, 0);
}

void TlbModel::write_cr3(u16 pcid, bool noflush) {
  switch (b_) {
    case Behaviour::kSdmMaxKeep:
    case Behaviour::kBroken:
      // SDM Vol.3 4.10.4.1: the non-global entries and PDE-cache entries of the new PCID (0 with
      // PCIDE = 0), unless bit 63 is set.
      if (!(pcide_ && noflush))
        drop([pcid](const Entry& e) { return e.global || e.pcid != pcid; }, true, false, pcid);
      break;
    case Behaviour::kBochs:
      // No PCID tag, bit 63 ignored: every non-global entry goes; global pages survive.
      drop([](const Entry& e) { return e.global; }, true, true, 0);
      break;
    case Behaviour::kQemuTcg:
      drop_all();  // tlb_flush: global pages too
      break;
  }
  pcid_ = pcide_ ? pcid : 0;
}

void TlbModel::invpcid(u32 type, u16 pcid, Page page) {
  const u8 pg = static_cast<u8>(page);
  if (b_ == Behaviour::kQemuTcg) {
    drop_all();  // TCG has no INVPCID (#UD): the kernel skips these probes there
    return;
  }
  if (b_ == Behaviour::kBochs) {
    // Type 0 invalidates the page's non-global entries for every PCID (globals survive, as seen
    // booting Bochs 2.7's corei7_haswell_4770); 1 and 3 every non-global entry; 2 everything.
    if (type == 0) {
      drop([pg](const Entry& e) { return e.global || e.page != pg; }, true, true, 0);
    } else if (type == 2) {
      drop_all();
    } else {
      drop([](const Entry& e) { return e.global; }, true, true, 0);
    }
    return;
  }
  // SDM Vol.2 INVPCID: type 0 the page's non-global entries of the PCID, 1 all non-global entries
  // of the PCID (each with the PCID's paging-structure caches), 2 everything, 3 every non-global
  // entry (with every paging-structure cache).
  switch (type) {
    case 0:
      drop([pg, pcid](const Entry& e) { return e.global || e.pcid != pcid || e.page != pg; }, true,
           false, pcid);
      break;
    case 1:
      drop([pcid](const Entry& e) { return e.global || e.pcid != pcid; }, true, false, pcid);
      break;
    case 2:
      drop_all();
      break;
    default:
      drop([](const Entry& e) { return e.global; }, true, true, 0);
      break;
  }
}

void TlbModel::invlpg(Page page) {
  const u8 pg = static_cast<u8>(page);
  if (b_ == Behaviour::kBochs || b_ == Behaviour::kQemuTcg) {
    drop([pg](const Entry& e) { return e.page != pg; }, true, true, 0);  // untagged: every PCID
    return;
  }
  // SDM Vol.3 4.10.4.1: the page's entries of the current PCID, its global entries whatever their
  // PCID, and every paging-structure cache entry of the current PCID.
  const u16 cur = pcid_;
  drop([pg, cur](const Entry& e) { return e.page != pg || (!e.global && e.pcid != cur); }, true,
       false, cur);
}

void TlbModel::pcide_off() {
  // SDM Vol.3 4.10.4.1: clearing CR4.PCIDE invalidates everything, globals included.
  drop_all();
  pcide_ = false;
  pcid_ = 0;
}

}  // namespace ptb::bench
