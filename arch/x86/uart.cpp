#include "arch/x86/uart.h"

#include "arch/x86/cpu.h"

namespace ptb::x86 {
namespace {
constexpr u16 kData = 0, kIer = 1, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5;
constexpr u8 kLsrThre = 1 << 5, kLsrTemt = 1 << 6;
// ~100 ms at the slowest plausible port speed: a character takes ~87 us at 115200 baud.
constexpr u32 kSpinLimit = 1u << 20;
}  // namespace

bool Uart16550::init() {
  outb(base_ + kIer, 0x00);   // no interrupts: we poll
  outb(base_ + kLcr, 0x80);   // DLAB on
  outb(base_ + kData, 0x01);  // divisor 1: 115200 baud
  outb(base_ + kIer, 0x00);
  outb(base_ + kLcr, 0x03);  // 8N1, DLAB off
  outb(base_ + kFcr, 0xc7);  // FIFOs on, cleared, 14-byte threshold
  outb(base_ + kMcr, 0x1e);  // loopback mode for the presence test
  outb(base_ + kData, 0xae);
  present_ = inb(base_ + kData) == 0xae;
  outb(base_ + kMcr, 0x0f);  // normal operation: DTR, RTS, OUT1, OUT2
  return present_;
}

void Uart16550::put(u8 byte) {
  if (!present_) return;
  for (u32 i = 0; i < kSpinLimit && (inb(base_ + kLsr) & kLsrThre) == 0; ++i) pause();
  outb(base_ + kData, byte);
}

void Uart16550::drain() {
  if (!present_) return;
  for (u32 i = 0; i < kSpinLimit && (inb(base_ + kLsr) & kLsrTemt) == 0; ++i) pause();
}

}  // namespace ptb::x86
