#include "arch/x86/tsc.h"

#include "arch/x86/cpu.h"

namespace ptb::x86 {

u64 calibrate_tsc_with_pit() {
  constexpr u64 kPitHz = 1'193'182;
  constexpr u16 kCount = 59'659;  // ~50 ms
  // Channel 2's gate is port 0x61 bit 0, its output is bit 5; bit 1 would drive the speaker.
  u8 port61 = inb(0x61);
  outb(0x61, static_cast<u8>((port61 & ~0x02) & ~0x01));
  outb(0x43, 0xb0);  // channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count), binary
  outb(0x42, kCount & 0xff);
  outb(0x42, kCount >> 8);
  outb(0x61, static_cast<u8>((port61 & ~0x02) | 0x01));  // gate high: the count starts
  u64 start = rdtsc_ordered();
  u64 now = start;
  bool done = false;
  // Bounded: ~2^36 ticks is over 10 s at any real TSC rate; a missing PIT gives up.
  while (now - start < (u64{1} << 36)) {
    if (inb(0x61) & 0x20) {
      done = true;
      break;
    }
    now = rdtsc_ordered();
  }
  now = rdtsc_ordered();
  outb(0x61, port61);
  if (!done) return 0;
  return (now - start) * kPitHz / kCount;
}

}  // namespace ptb::x86
