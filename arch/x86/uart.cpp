#include "arch/x86/uart.h"

#include "arch/x86/cpu.h"
#include "arch/x86/uart_logic.h"

namespace ptb::x86 {
namespace {
struct PortIo {
  u8 in(u16 port) { return inb(port); }
  void out(u16 port, u8 v) { outb(port, v); }
};
PortIo io;
}  // namespace

bool Uart16550::init() {
  present_ = uart::probe(io, base_);
  given_up_ = false;
  return present_;
}

void Uart16550::put(u8 byte) {
  if (!present_) return;
  if (!uart::wait_for(io, base_, uart::kLsrThre)) {
    present_ = false;  // stopped draining: give it up instead of waiting again for every byte
    given_up_ = true;
    return;
  }
  outb(base_ + uart::kData, byte);
}

void Uart16550::drain() {
  if (!present_) return;
  if (!uart::wait_for(io, base_, uart::kLsrTemt)) {
    present_ = false;
    given_up_ = true;
  }
}

}  // namespace ptb::x86
