#include "bench/render.h"

namespace ptb::bench {
namespace {

void put_figures(TextBuf& t, const Result& r, u64 tsc_hz) {
  t.put("  median ").put_fixed(r.stats.median, 3).put("  q1 ").put_fixed(r.stats.q1, 3);
  t.put("  q3 ").put_fixed(r.stats.q3, 3).put("  min ").put_fixed(r.stats.min, 3);
  t.put("  n ").put_u64(r.stats.n);
  if (tsc_hz) t.put("  (").put_fixed(ticks_to_ns(r.stats.median, tsc_hz), 3).put(" ns)");
}

// Copies what fits of `src` into `dst` (at most `cols` characters).
void put_cut(TextBuf& dst, const TextBuf& src, u32 cols) {
  dst.clear();
  dst.put(src.c_str(), src.size() < cols ? src.size() : cols);
}

}  // namespace

const char* status_name(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kSkip:
      return "skip";
    case Status::kFail:
      return "fail";
  }
  return "?";
}

void put_result_line(TextBuf& t, const char* name, const Result& r, u64 tsc_hz) {
  t.put("  ").put(name).put(' ').pad_to(0, 42);
  t.put(status_name(r.status));
  if (r.status == Status::kOk) {
    put_figures(t, r, tsc_hz);
  } else {
    t.put(": ").put(r.reason ? r.reason : "");
  }
}

usize put_screen_result(TextBuf& line, TextBuf& more, const char* name, const Result& r, u32 cols,
                        u64 tsc_hz) {
  Text<320> wide;
  put_result_line(wide, name, r, tsc_hz);
  if (wide.size() <= cols) {
    put_cut(line, wide, cols);
    return 1;
  }
  // The longest name (tlb.refill.global.invpcid.single.4096, 37 characters) and three figures
  // below 10^7 ticks (11 characters each) fit 80 columns.
  Text<320> compact;
  compact.put("  ").put(name).put(' ').pad_to(0, 41);
  if (r.status == Status::kOk) {
    usize col = compact.size();
    compact.put_fixed(r.stats.median, 3).put(" ").pad_to(col, 11).put("[").put_fixed(r.stats.q1, 3);
    compact.put(" .. ").put_fixed(r.stats.q3, 3).put(']');
    put_cut(line, compact, cols);
    return 1;
  }
  compact.put(status_name(r.status));
  put_cut(line, compact, cols);
  Text<320> reason;
  reason.put("      ").put(r.reason ? r.reason : "");
  put_cut(more, reason, cols);
  return 2;
}

}  // namespace ptb::bench
