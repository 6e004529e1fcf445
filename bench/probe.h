// TLB semantics probes (issue 13): what a CPU keeps and drops after each kind of flush, judged
// against the SDM, and on AMD CPUs against the APM where the table cites it. A probe maps X (and Y,
// in the same 2 MiB region) to frame A, reads X so the translation is cached, rewrites the PTE (or
// the PDE) to frame B without invalidating, performs the operation under test and reads again: A
// means the old translation survived ("kept"), B that it was dropped (or re-walked). Pure: the
// probe programs drive any ProbeCpu, the TLB model of bench/tlb_model.h on the host and the real
// CPU in the kernel (bench/probe_cpu.cpp).
#pragma once

#include "arch/x86/cpu_features.h"
#include "lib/types.h"

namespace ptb::bench {

// What a read of X or Y returns: the old frame's magic, the new one's, or neither (a bug).
enum class Magic : u8 { kA, kB, kOther };
enum class Page : u8 { kX, kY };

// One step of a probe program, after the reset (X, Y -> A through the first page table, every
// cached translation dropped, PCID 1 when the probe runs with CR4.PCIDE = 1).
enum class Step : u8 {
  kEnd,
  kReadX,         // read X in the current PCID (the program's last read is the observation)
  kReadY,         // read Y: a page never read since the reset
  kRetargetPte,   // X's PTE -> frame B, no invalidation
  kRetargetPde,   // the PDE of X's 2 MiB region -> a second page table (X, Y -> B), no invalidation
  kCr3,           // mov to CR3: same root, same PCID, bit 63 clear
  kCr3Noflush,    // the same with bit 63 set (PCIDE = 1 only)
  kToPcid2,       // mov to CR3: same root, PCID 2, NOFLUSH
  kToPcid1,       // back to PCID 1, NOFLUSH
  kToPcid0,       // to PCID 0, NOFLUSH (the PCID CR4.PCIDE = 0 runs on)
  kInvpcidAddr,   // INVPCID type 0: X in the current PCID
  kInvpcidAddr2,  // type 0: X in PCID 2
  kInvpcidSingle,        // type 1: the current PCID
  kInvpcidSingle2,       // type 1: PCID 2
  kInvpcidAll,           // type 2
  kInvpcidAllNonGlobal,  // type 3
  kInvlpgX,
  kInvlpgY,
  kPgeToggle,  // CR4.PGE cleared and set again
  kPcideOff,   // CR4.PCIDE 1 -> 0
};

// What the manual says of the translation read last.
enum class Rule : u8 { kMustDrop, kMayKeep };
const char* rule_name(Rule r);  // "must-drop", "may-keep"

enum class Seen : u8 { kKept, kDropped, kMixed };
const char* seen_name(Seen s);  // "kept", "dropped", "mixed"

inline constexpr usize kProbeSteps = 8;

// The manual a verdict applies: Intel's SDM, or AMD's APM (on AMD CPUs, where the probe cites it).
enum class Manual : u8 { kSdm, kApm };
const char* manual_name(Manual m);  // "SDM", "APM"

// What the APM says of a probe. With no reference the APM is not cited for it (silent, or not
// confirmed): AMD CPUs are then judged by the SDM's rule, and `rule` is unused.
struct ApmRule {
  const char* reference = nullptr;  // "APM Vol.<n> <section> (...)"
  Rule rule = Rule::kMustDrop;
};

struct ProbeSpec {
  const char* label;      // the name after "probe."
  bool global;            // X and Y mapped with PTE.G (CR4.PGE on)
  bool pcid;              // runs with CR4.PCIDE = 1 on PCID 1
  u64 features;           // bit per x86::Feature, all required
  Rule rule;              // the SDM's
  const char* reference;  // the SDM's section stating it
  Step steps[kProbeSteps];
  ApmRule apm{};  // AMD's, where the APM is cited
};

// The rule a CPU of `vendor` is judged by: the APM's on AMD when the probe cites the APM, the
// SDM's otherwise (Intel, other vendors, and AMD where the APM is not cited).
struct AppliedRule {
  Manual manual;
  Rule rule;
  const char* reference;
};
AppliedRule applied_rule(const ProbeSpec& p, x86::Vendor vendor);
// The APM is cited and states another rule than the SDM.
bool amd_differs(const ProbeSpec& p);

// Every probe, in table order.
const ProbeSpec* probe_specs(usize* count);
const ProbeSpec* find_probe(const char* label);  // nullptr when there is none

// R reads of one probe: how many read the old frame (kept), and how many neither frame; and the
// vendor of the CPU that read (the kernel's runner sets it), whose manual judges the reads.
struct Observation {
  u32 reads = 0, kept = 0, other = 0;
  u32 disturbed = 0;  // reads made again because the CPU said they were disturbed (an NMI)
  x86::Vendor vendor = x86::Vendor::kOther;
};
// A probe read is made again when disturbed, at most this many times per probe; then the probe
// gives up with the reads it has (Observation::reads says how many).
constexpr u32 max_probe_disturbed(u32 reads) { return reads + 16; }
struct Judgement {
  Seen seen;
  bool violation;       // kept at least once what the applied rule requires dropped
  bool broken;          // a read returned neither magic: the probe itself is wrong
  AppliedRule applied;  // applied_rule(p, o.vendor)
};
Judgement judge(const ProbeSpec& p, const Observation& o);

template <typename T, typename U>
concept SameAs = __is_same(T, U);

// The operations a probe program needs of a CPU: the host model and the kernel implement them.
template <typename C>
concept ProbeCpu = requires(C& c, const ProbeSpec& p, Page page, u16 pcid, bool flag, u32 type) {
  c.reset(p);  // the reset described at Step
  { c.read(page) } -> SameAs<Magic>;
  c.retarget_pte();             // X -> B
  c.retarget_pde();             // the region -> the second table
  c.write_cr3(pcid, flag);      // same root; PCID (0 with PCIDE = 0), NOFLUSH
  c.invpcid(type, pcid, page);  // the descriptor's PCID; the address for type 0
  c.invlpg(page);
  c.toggle_pge();
  c.pcide_off();
};

// Runs one probe `reads` times on `cpu`. A CPU that can tell a disturbed read (the kernel's: an
// NMI ran between the reset and the read, and its handler may have evicted or filled entries)
// has `bool disturbed()`, asked after each read: such a read is not counted and is made again.
template <typename C>
requires ProbeCpu<C> Observation run_probe(C& cpu, const ProbeSpec& p, u32 reads) {
  Observation o;
  o.reads = reads;
  for (u32 r = 0; r < reads; ++r) {
    cpu.reset(p);
    u16 pcid = p.pcid ? 1 : 0;
    Magic last = Magic::kOther;
    for (Step s : p.steps) {
      if (s == Step::kEnd) break;
      switch (s) {
        case Step::kEnd:
          break;
        case Step::kReadX:
          last = cpu.read(Page::kX);
          break;
        case Step::kReadY:
          last = cpu.read(Page::kY);
          break;
        case Step::kRetargetPte:
          cpu.retarget_pte();
          break;
        case Step::kRetargetPde:
          cpu.retarget_pde();
          break;
        case Step::kCr3:
          cpu.write_cr3(pcid, false);
          break;
        case Step::kCr3Noflush:
          cpu.write_cr3(pcid, true);
          break;
        case Step::kToPcid2:
          cpu.write_cr3(pcid = 2, true);
          break;
        case Step::kToPcid1:
          cpu.write_cr3(pcid = 1, true);
          break;
        case Step::kToPcid0:
          cpu.write_cr3(pcid = 0, true);
          break;
        case Step::kInvpcidAddr:
          cpu.invpcid(0, pcid, Page::kX);
          break;
        case Step::kInvpcidAddr2:
          cpu.invpcid(0, 2, Page::kX);
          break;
        case Step::kInvpcidSingle:
          cpu.invpcid(1, pcid, Page::kX);
          break;
        case Step::kInvpcidSingle2:
          cpu.invpcid(1, 2, Page::kX);
          break;
        case Step::kInvpcidAll:
          cpu.invpcid(2, pcid, Page::kX);
          break;
        case Step::kInvpcidAllNonGlobal:
          cpu.invpcid(3, pcid, Page::kX);
          break;
        case Step::kInvlpgX:
          cpu.invlpg(Page::kX);
          break;
        case Step::kInvlpgY:
          cpu.invlpg(Page::kY);
          break;
        case Step::kPgeToggle:
          cpu.toggle_pge();
          break;
        case Step::kPcideOff:
          cpu.pcide_off();
          pcid = 0;
          break;
      }
    }
    if constexpr (requires { cpu.disturbed(); }) {
      if (cpu.disturbed()) {
        if (++o.disturbed > max_probe_disturbed(reads)) {
          o.reads = r;  // gave up: the reads completed so far
          return o;
        }
        --r;
        continue;
      }
    }
    if (last == Magic::kA) ++o.kept;
    if (last == Magic::kOther) ++o.other;
  }
  return o;
}

}  // namespace ptb::bench
