// The 16550 presence test and transmit give-up against fake UARTs with a real one's timing.
#include <gtest/gtest.h>

#include "arch/x86/uart_logic.h"

namespace ptb::x86::uart {
namespace {

// A 16550 at 115200 baud: a byte written in loopback mode shows up in the receiver after
// `latency` status reads (about 87 us on hardware); the transmitter drains after `tx_latency`
// reads, or never when `stuck`.
struct FakeUart {
  u32 latency = 90, tx_latency = 90;
  bool stuck = false, absent = false;
  u8 regs[8] = {};
  bool loopback = false, rx_pending = false;
  u8 rx = 0;
  u32 rx_countdown = 0, tx_countdown = 0;
  u32 lsr_reads = 0, writes = 0;

  u8 in(u16 port) {
    if (absent) return 0xff;
    const u16 r = port & 7;
    if (r == kLsr) {
      ++lsr_reads;
      if (rx_countdown && --rx_countdown == 0) rx_pending = true;
      if (tx_countdown && !stuck) --tx_countdown;
      u8 lsr = rx_pending ? kLsrDataReady : 0;
      if (tx_countdown == 0 && !stuck) lsr |= kLsrThre | kLsrTemt;
      return lsr;
    }
    if (r == kData) {
      const u8 v = rx_pending ? rx : 0;
      rx_pending = false;
      return v;
    }
    return regs[r];
  }
  void out(u16 port, u8 v) {
    const u16 r = port & 7;
    regs[r] = v;
    if (r == kMcr) loopback = v & 0x10;
    if (r == kData && !(regs[kLcr] & 0x80)) {
      ++writes;
      if (loopback) {
        rx = v;
        rx_countdown = latency;
      }
      tx_countdown = tx_latency;
    }
  }
};

constexpr u16 kCom1 = 0x3f8;

TEST(Uart, ARealUartIsFoundAlthoughTheByteTakesTimeToComeBack) {
  FakeUart u;
  EXPECT_TRUE(probe(u, kCom1));
  EXPECT_GE(u.lsr_reads, u.latency);  // it waited for data-ready
  EXPECT_FALSE(u.loopback);           // and left loopback mode
}

TEST(Uart, ReadingAtOnceWouldHaveMissedIt) {
  // What 0.1 did: compare the data register right after the write.
  FakeUart u;
  u.out(kCom1 + kMcr, 0x1e);
  u.out(kCom1 + kData, kProbe);
  EXPECT_NE(u.in(kCom1 + kData), kProbe);
}

TEST(Uart, AMissingPortIsNotFound) {
  FakeUart u;
  u.absent = true;
  EXPECT_FALSE(probe(u, kCom1));
}

TEST(Uart, AUartTooSlowToAnswerIsNotFoundAndTheProbeIsBounded) {
  FakeUart u;
  u.latency = kLoopbackReads * 4;
  EXPECT_FALSE(probe(u, kCom1));
  EXPECT_LE(u.lsr_reads, kLoopbackReads);
}

TEST(Uart, TransmitWaitsForTheHoldingRegisterAndGivesUpWhenItNeverDrains) {
  FakeUart u;
  u.out(kCom1 + kData, 'x');
  EXPECT_TRUE(wait_for(u, kCom1, kLsrThre));
  u.stuck = true;
  u.out(kCom1 + kData, 'y');
  const u32 before = u.lsr_reads;
  EXPECT_FALSE(wait_for(u, kCom1, kLsrThre));
  EXPECT_EQ(u.lsr_reads - before, kTransmitReads);  // bounded
}

}  // namespace
}  // namespace ptb::x86::uart
