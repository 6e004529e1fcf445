// A polled 16550 UART (COM1 by default), 115200 8N1. Every write waits for the transmitter, so no
// byte is lost; every wait is bounded, and a port whose transmitter stops draining is given up
// at the first timeout (not one timeout per byte), so a machine without the port, or with a
// broken one, never hangs or crawls. The logic is arch/x86/uart_logic.h (host-tested).
#pragma once

#include "lib/types.h"

namespace ptb::x86 {

class Uart16550 {
 public:
  explicit constexpr Uart16550(u16 base) : base_(base) {}
  // Programs the UART and checks it is there with a loopback test. Returns presence.
  bool init();
  bool present() const { return present_; }
  // True when the port was found but later stopped draining and was given up.
  bool given_up() const { return given_up_; }
  void put(u8 byte);
  // Waits until the transmitter is completely empty (LSR.TEMT), e.g. before the machine stops.
  void drain();

 private:
  u16 base_;
  bool present_ = false;
  bool given_up_ = false;
};

}  // namespace ptb::x86
