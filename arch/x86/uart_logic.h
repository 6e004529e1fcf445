// The 16550's presence test and polled transmit, written against any port I/O (`Io` provides
// u8 in(u16 port) and void out(u16 port, u8 value)), so the host tests run them against a fake
// UART with a real one's latency. Every wait is bounded by a count of status reads (an ISA port
// read takes about a microsecond on real hardware).
#pragma once

#include "lib/types.h"

namespace ptb::x86::uart {

inline constexpr u16 kData = 0, kIer = 1, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5;
inline constexpr u8 kLsrDataReady = 1 << 0, kLsrThre = 1 << 5, kLsrTemt = 1 << 6;
// At 115200 baud a byte takes about 87 us to come back in loopback or to leave the shift
// register; a few thousand reads are several milliseconds.
inline constexpr u32 kLoopbackReads = 20'000;
inline constexpr u32 kTransmitReads = 20'000;
inline constexpr u8 kProbe = 0xae;

// Programs 115200 8N1 with FIFOs and checks that a byte sent in loopback mode comes back: waits
// for LSR data-ready first (reading at once reads nothing on real hardware), then compares.
// A missing port reads 0xff everywhere and fails the comparison.
template <class Io>
bool probe(Io& io, u16 base) {
  io.out(base + kIer, 0x00);   // no interrupts: polled
  io.out(base + kLcr, 0x80);   // DLAB on
  io.out(base + kData, 0x01);  // divisor 1: 115200 baud
  io.out(base + kIer, 0x00);
  io.out(base + kLcr, 0x03);  // 8N1, DLAB off
  io.out(base + kFcr, 0xc7);  // FIFOs on, cleared, 14-byte threshold
  io.out(base + kMcr, 0x1e);  // loopback mode for the presence test
  io.out(base + kData, kProbe);
  bool ready = false;
  for (u32 i = 0; i < kLoopbackReads && !ready; ++i)
    ready = (io.in(base + kLsr) & kLsrDataReady) != 0;
  const bool present = ready && io.in(base + kData) == kProbe;
  io.out(base + kMcr, 0x0f);  // normal operation: DTR, RTS, OUT1, OUT2
  return present;
}

// Waits (bounded) until LSR has `bit`; false when it never came.
template <class Io>
bool wait_for(Io& io, u16 base, u8 bit) {
  for (u32 i = 0; i < kTransmitReads; ++i)
    if (io.in(base + kLsr) & bit) return true;
  return false;
}

}  // namespace ptb::x86::uart
