#include "arch/x86/tsc.h"

#include "arch/x86/cpu.h"

namespace ptb::x86 {

namespace {
// Channel 2's current count, latched (8254: counter latch command, then low and high byte).
u16 pit_channel2_count() {
  outb(0x43, 0x80);  // latch channel 2
  const u8 lo = inb(0x42);
  const u8 hi = inb(0x42);
  return static_cast<u16>(lo | hi << 8);
}
}  // namespace

u64 calibrate_tsc_with_pit() {
  constexpr u64 kPitHz = 1'193'182;
  constexpr u16 kCount = 59'659;  // ~50 ms
  // A counter that reads the same this many times in a row is not counting: at 1.19 MHz it
  // changes every 0.84 us, and each read takes longer than that (three port accesses).
  constexpr u32 kSameReads = 2000;
  // Channel 2's gate is port 0x61 bit 0, its output is bit 5; bit 1 would drive the speaker.
  u8 port61 = inb(0x61);
  if (port61 == 0xff) return 0;  // nothing answers at port 0x61: no PIT (or no legacy I/O)
  outb(0x61, static_cast<u8>((port61 & ~0x02) & ~0x01));
  outb(0x43, 0xb0);  // channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count), binary
  outb(0x42, kCount & 0xff);
  outb(0x42, kCount >> 8);
  outb(0x61, static_cast<u8>((port61 & ~0x02) | 0x01));  // gate high: the count starts
  u64 start = rdtsc_ordered();
  u64 now = start;
  bool done = false;
  u16 last = pit_channel2_count();
  u32 same = 0;
  // Bounded twice: a counter that stops counting gives up within milliseconds, and ~2^36 ticks
  // (over 10 s at any real TSC rate) ends even a counter that counts but never reaches 0.
  while (now - start < (u64{1} << 36) && same < kSameReads) {
    if (inb(0x61) & 0x20) {
      done = true;
      break;
    }
    for (u32 i = 0; i < 64; ++i) pause();  // port reads are slow under emulators: poll sparsely
    const u16 c = pit_channel2_count();
    same = c == last ? same + 1 : 0;
    last = c;
    now = rdtsc_ordered();
  }
  now = rdtsc_ordered();
  outb(0x61, port61);
  if (!done) return 0;
  return (now - start) * kPitHz / kCount;
}

}  // namespace ptb::x86
