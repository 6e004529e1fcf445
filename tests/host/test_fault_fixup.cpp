// The #GP fixup that rdmsr_safe/wrmsr_safe rely on (arch/x86/fault_fixup.h), on fake frames.
#include <gtest/gtest.h>

#include "arch/x86/fault_fixup.h"

namespace ptb::x86 {
namespace {

TrapFrame frame(u64 vector, u64 rip, u64 cs) {
  TrapFrame f{};
  f.vector = vector;
  f.rip = rip;
  f.cs = cs;
  return f;
}

constexpr u64 kAt = 0x10'4abc, kResume = 0x10'4abe;

TEST(FaultFixup, GpAtTheExpectedInstructionResumesOnce) {
  FaultFixup x{kAt, kResume};
  TrapFrame f = frame(kVectorGp, kAt, 0x08);
  EXPECT_TRUE(x.apply(f));
  EXPECT_EQ(f.rip, kResume);
  EXPECT_TRUE(x.faulted);
  EXPECT_EQ(x.vector, kVectorGp);
  // The expectation is used up: the same fault again is not ours.
  TrapFrame again = frame(kVectorGp, kAt, 0x08);
  EXPECT_FALSE(x.apply(again));
  EXPECT_EQ(again.rip, kAt);
}

TEST(FaultFixup, UdIsCaughtOnlyWhereTheCallerAllowsIt) {
  FaultFixup rdpmc{kAt, kResume};
  rdpmc.allow_ud = true;
  TrapFrame f = frame(kVectorUd, kAt, 0x08);
  EXPECT_TRUE(rdpmc.apply(f));
  EXPECT_EQ(f.rip, kResume);
  EXPECT_TRUE(rdpmc.faulted);
  EXPECT_EQ(rdpmc.vector, kVectorUd);  // INVLPGB's skip reason names it
  FaultFixup again{kAt, kResume};
  again.allow_ud = true;
  TrapFrame elsewhere = frame(kVectorUd, kAt + 3, 0x08);
  EXPECT_FALSE(again.apply(elsewhere));
  EXPECT_EQ(elsewhere.rip, kAt + 3);
}

TEST(FaultFixup, AnyOtherTrapIsLeftAlone) {
  const TrapFrame others[] = {
      frame(kVectorGp, kAt + 1, 0x08),  // another instruction
      frame(14, kAt, 0x08),             // #PF at the instruction
      frame(6, kAt, 0x08),              // #UD
      frame(kVectorGp, kAt, 0x2b),      // from ring 3
  };
  for (const TrapFrame& o : others) {
    FaultFixup x{kAt, kResume};
    TrapFrame f = o;
    EXPECT_FALSE(x.apply(f));
    EXPECT_EQ(f.rip, o.rip);
    EXPECT_FALSE(x.faulted);
  }
}

TEST(FaultFixup, NothingExpectedMatchesNothing) {
  FaultFixup x;
  TrapFrame f = frame(kVectorGp, 0, 0x08);  // even a #GP at RIP 0
  EXPECT_FALSE(x.apply(f));
  EXPECT_FALSE(x.faulted);
}

}  // namespace
}  // namespace ptb::x86
