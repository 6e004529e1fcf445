#include "bench/faults.h"

#include "arch/x86/pti.h"
#include "bench/env.h"
#include "bench/user_space.h"
#include "kernel/console.h"
#include "kernel/run.h"

extern "C" char __data_start[];

namespace ptb::bench {
namespace {

// Recursion with a frame the compiler cannot elide. The depth check can never stop it (the
// guard page below the kernel stack does) but keeps the compiler from proving it infinite.
[[gnu::noinline]] u64 recurse(u64 depth) {
  volatile u8 frame[512];
  frame[0] = static_cast<u8>(depth);
  if (depth == ~u64{0}) return frame[0];
  return recurse(depth + 1) + frame[0];
}

}  // namespace

void provoke_requested_fault() {
  const FaultKind kind = options().fault_kind();
  if (kind == FaultKind::kNone) return;
  run::set_phase("fault", "deliberate (fault= on the command line)");
  console::line("ptibench: provoking the fault requested on the command line");
  switch (kind) {
    case FaultKind::kUd:
      asm volatile("ud2");
      break;
    case FaultKind::kPf: {
      volatile u64* p = reinterpret_cast<volatile u64*>(u64{8});
      (void)*p;
      break;
    }
    case FaultKind::kGp: {
      volatile u64* p = reinterpret_cast<volatile u64*>(u64{0x8000'0000'0000'0000});
      (void)*p;
      break;
    }
    case FaultKind::kDe:
      // In asm: the compiler may turn a C++ division by a known-zero (undefined) into anything.
      asm volatile("xorl %%edx, %%edx; movl $1, %%eax; divl %0" ::"r"(0u) : "rax", "rdx");
      break;
    case FaultKind::kStack:
      recurse(0);
      break;
    case FaultKind::kUserRead: {
      // A ring-3 read of kernel data under PTI, with no one expecting it: the fault report.
      setup_user_space();
      run::set_phase("fault", "ring-3 read of kernel data under PTI (fault=user-read)");
      EnvScope env({.scheme = x86::EntryScheme::kPti});
      user_read_unguarded(reinterpret_cast<u64>(__data_start));
      break;
    }
    case FaultKind::kNone:
      break;
  }
  run::fail("the requested fault did not happen");
}

}  // namespace ptb::bench
