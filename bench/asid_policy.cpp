// The lab's policies (bench/asid_policy.h): pure.
#include "bench/asid_policy.h"

namespace ptb::bench::aspace {

const char* policy_name(Policy p) {
  constexpr const char* kNames[] = {"nopcid", "linux", "perprocess", "deferred"};
  return kNames[static_cast<u32>(p)];
}

const char* schedule_name(Schedule s) {
  constexpr const char* kNames[] = {"rr", "random", "hotpair"};
  return kNames[static_cast<u32>(s)];
}

const char* AsidState::invalid(const Config& c) {
  if (c.processes < 2 || c.processes > kMaxProcesses) return "P must be 2..64";
  if ((c.policy == Policy::kLinux || c.policy == Policy::kDeferred) &&
      (c.slots < 1 || c.slots > kMaxSlots))
    return "slots must be 1..2047 (bit 11 of the PCID marks PTI's user half)";
  return nullptr;
}

void AsidState::reset(const Config& c, u64* user_flush_mask) {
  cfg_ = c;
  if (c.policy == Policy::kNopcid) cfg_.slots = 1;
  if (c.policy == Policy::kPerProcess) cfg_.slots = c.processes;
  mask_ = user_flush_mask;
  for (u32 w = 0; w < kMaskWords; ++w) mask_[w] = 0;
  for (u32 a = 0; a < kMaxSlots; ++a) slot_[a] = {0, 0};
  for (u32 p = 0; p < kMaxProcesses; ++p) mm_gen_[p] = 1;
  // As Linux boots: slot 0 holds the kernel's own context (the kernel runs on kernel PCID 1
  // when the lab starts), the round-robin cursor at 1. perprocess keeps slot p for process p.
  if (c.policy == Policy::kLinux || c.policy == Policy::kDeferred) slot_[0] = {kKernelCtx, 1};
  next_asid_ = 1;
  loaded_ = 0;
  invalidate_other_ = false;
  counts_ = {};
}

void AsidState::mark_user_flush(u16 asid) {
  const u16 bit = x86::kernel_pcid(x86::Asid{asid}).value;
  mask_[bit / 64] |= u64{1} << (bit % 64);
}

bool AsidState::take_user_flush(u16 asid) {
  loaded_ = asid;  // from here on the kernel runs on this slot's kernel PCID (the exit stub's)
  if (cfg_.policy == Policy::kNopcid) return false;
  const u16 bit = x86::kernel_pcid(x86::Asid{asid}).value;
  u64& w = mask_[bit / 64];
  const u64 m = u64{1} << (bit % 64);
  if (!(w & m)) return false;
  w &= ~m;
  ++counts_.user_flushes;
  return true;
}

// A pending invalidate_other: every one of the first n slots but the loaded one forgets its
// context, so each is flushed at its next use.
void AsidState::forget_others(u32 n) {
  if (!invalidate_other_) return;
  for (u32 a = 0; a < n; ++a)
    if (a != loaded_) slot_[a].ctx = 0;
  invalidate_other_ = false;
}

// choose_new_asid: the stale marks of a kernel flush first (every slot but the loaded one
// forgets its context), then a slot holding this context, else the next one round-robin.
void AsidState::choose_linux(u32 process, SwitchPlan& plan) {
  forget_others(cfg_.slots);
  const u64 ctx = ctx_of(process), gen = mm_gen_[process];
  for (u32 a = 0; a < cfg_.slots; ++a) {
    if (slot_[a].ctx != ctx) continue;
    plan.asid = static_cast<u16>(a);
    plan.hit = true;
    plan.flush = slot_[a].gen < gen;
    return;
  }
  u32 a = next_asid_++;
  if (a >= cfg_.slots) {
    a = 0;
    next_asid_ = 1;
  }
  plan.asid = static_cast<u16>(a);
  plan.flush = true;
}

SwitchPlan AsidState::switch_to(u32 process) {
  SwitchPlan plan{};
  ++counts_.switches;
  switch (cfg_.policy) {
    case Policy::kNopcid:
      plan.flush = true;
      break;
    case Policy::kPerProcess:
      forget_others(cfg_.processes);
      plan.asid = static_cast<u16>(process);
      plan.hit = slot_[process].ctx == ctx_of(process);
      plan.flush = !plan.hit || slot_[process].gen < mm_gen_[process];
      break;
    case Policy::kLinux:
    case Policy::kDeferred:
      choose_linux(process, plan);
      break;
  }
  (plan.hit ? counts_.hits : counts_.misses)++;
  if (plan.flush) {
    ++counts_.flushes;
    if (cfg_.policy != Policy::kNopcid) {
      slot_[plan.asid] = {ctx_of(process), mm_gen_[process]};
      mark_user_flush(plan.asid);  // invalidate_user_asid: the user half is flushed on exit
    }
  }
  if (cfg_.policy == Policy::kDeferred && !plan.flush) {
    plan.write_cr3 = false;
    ++counts_.skipped_cr3;
  } else {
    loaded_ = plan.asid;
  }
  return plan;
}

u32 Scheduler::next() {
  const u32 i = i_++;
  u32 p = 0;
  switch (s_) {
    case Schedule::kRoundRobin:
      p = i % p_;
      break;
    case Schedule::kRandom: {
      rng_ ^= rng_ << 13;
      rng_ ^= rng_ >> 17;
      rng_ ^= rng_ << 5;
      if (prev_ == ~0u) {
        p = rng_ % p_;
      } else {
        p = rng_ % (p_ - 1);
        if (p >= prev_) ++p;
      }
      break;
    }
    case Schedule::kHotPair:
      p = (i % 8 == 7 && p_ > 2) ? 2 + (i / 8) % (p_ - 2) : i % 2;
      break;
  }
  prev_ = p;
  return p;
}

}  // namespace ptb::bench::aspace
