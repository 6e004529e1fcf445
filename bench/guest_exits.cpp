#include "bench/guest_exits.h"

namespace ptb::bench {
namespace {

u32 probe_exits(const ProbeSpec& spec) {
  u32 e = 0;
  for (Step s : spec.steps) {
    switch (s) {
      case Step::kEnd:
      case Step::kReadX:
      case Step::kReadY:
        break;
      case Step::kRetargetPte:
      case Step::kRetargetPde:
        e |= kExitPtWrite;
        break;
      case Step::kCr3:
      case Step::kCr3Noflush:
      case Step::kToPcid2:
      case Step::kToPcid1:
      case Step::kToPcid0:
        e |= kExitCr3;
        break;
      case Step::kInvpcidAddr:
      case Step::kInvpcidAddr2:
      case Step::kInvpcidSingle:
      case Step::kInvpcidSingle2:
      case Step::kInvpcidAll:
      case Step::kInvpcidAllNonGlobal:
        e |= kExitInvpcid;
        break;
      case Step::kInvlpgX:
      case Step::kInvlpgY:
        e |= kExitInvlpg;
        break;
      case Step::kPgeToggle:
      case Step::kPcideOff:
        e |= kExitCr4;
        break;
    }
  }
  return e;
}

u32 flush_exits(Flush f) {
  switch (f) {
    case Flush::kNone:
      return 0;
    case Flush::kCr3:
    case Flush::kCr3Noflush:
      return kExitCr3;
    case Flush::kInvpcidSingle:
      return kExitInvpcid;
    case Flush::kInvlpg:
      return kExitInvlpg;
  }
  return 0;
}

}  // namespace

u32 guest_exits(const Row& row) {
  // Every entry scheme but kNone switches CR3 on the way in and out.
  const u32 pti = row.env.scheme != x86::EntryScheme::kNone ? u32{kExitCr3} : 0u;
  switch (row.group) {
    case Group::kCr3:
      return kExitCr3;
    case Group::kInvpcid:
      return kExitInvpcid;
    case Group::kInvlpg:
      return kExitInvlpg;
    case Group::kCr4:
      // cr4.read reads the shadow on VMX and is not intercepted by KVM on SVM with NPT; every
      // other cr4 row writes it.
      return str_eq(row.label, "read") ? 0u : u32{kExitCr4};
    case Group::kTlb:
      return flush_exits(row.flush);
    case Group::kSyscall:
    case Group::kTrap:
    case Group::kInt:
      return pti;
    case Group::kFault:
      return pti | kExitPf;
    case Group::kCrossing:
      return pti | (row.cross == Cross::kPf ? u32{kExitPf} : 0u);
    case Group::kIpi:
      // The ICR write, and the target waking from HLT (ipi.fixed; ipi.poll spins in memory).
      return kExitIpi | (row.method == Method::kIpiFixed ? u32{kExitHlt} : 0u);
    case Group::kShootdown:
      // The PTE rewrites, the local and remote invalidations (INVLPG, CR3 above the ceiling,
      // INVPCID for the user PCID), the IPIs; INVLPGB rows send none.
      return kExitPtWrite | kExitInvlpg | kExitCr3 | kExitInvpcid |
             (broadcast(row.shoot) ? 0u : u32{kExitIpi});
    case Group::kAspace:
      // Every switch writes CR3 (and the PTI entries do); every M slices the shared kernel page
      // is remapped and invalidated by INVPCID, or by INVLPG where the CPU lacks it.
      return kExitCr3 | kExitInvlpg | kExitInvpcid | kExitPtWrite;
    case Group::kProbe: {
      usize n = 0;
      const ProbeSpec* specs = probe_specs(&n);
      return row.probe < n ? probe_exits(specs[row.probe]) : 0;
    }
  }
  return 0;
}

void put_guest_exits(TextBuf& out, u32 exits) {
  constexpr const char* kNames[] = {"cr3", "cr4",      "invlpg", "invpcid",
                                    "pf",  "pt-write", "ipi",    "hlt"};
  bool first = true;
  for (u32 i = 0; i < sizeof(kNames) / sizeof(kNames[0]); ++i) {
    if (!(exits >> i & 1)) continue;
    if (!first) out.put(',');
    out.put(kNames[i]);
    first = false;
  }
}

}  // namespace ptb::bench
