// Text renderings of a result, pure (host-tested): the serial line and the screen's, which must
// fit the screen's width (80 columns on VGA text) without losing the figures.
#pragma once

#include "bench/measure.h"
#include "lib/format.h"

namespace ptb::bench {

// TSC ticks as nanoseconds at tsc_hz (which must be known, non-zero).
inline double ticks_to_ns(double ticks, u64 tsc_hz) {
  return ticks * 1e9 / static_cast<double>(tsc_hz);
}

// "  name      ok  median 12.000  q1 12.000  q3 12.000  min 12.000  n 31  (4.000 ns)" or
// "  name      skip: reason".
void put_result_line(TextBuf& t, const char* name, const Result& r, u64 tsc_hz);

// The same for a screen `cols` wide: the serial form when it fits, else "  name  median [q1 ..
// q3]"; a skip or fail reason that does not fit goes to `more` as a second, indented line.
// Returns the number of lines (1 or 2). Each line is at most `cols` characters long.
usize put_screen_result(TextBuf& line, TextBuf& more, const char* name, const Result& r, u32 cols,
                        u64 tsc_hz);

}  // namespace ptb::bench
