#include "kernel/calibration.h"

namespace ptb::calibration {

Verdict decide(const Source* s, usize n) {
  Verdict v;
  usize chosen = n;
  for (usize i = 0; i < n && chosen == n; ++i)
    if (s[i].hz) chosen = i;
  if (chosen == n) return v;
  v.hz = s[chosen].hz;
  v.source = s[chosen].name;
  usize check = n;
  for (usize i = 0; i < n && check == n; ++i)
    if (i != chosen && s[i].hz && s[i].kind == Kind::kMeasured) check = i;
  for (usize i = 0; i < n && check == n; ++i)
    if (i != chosen && s[i].hz) check = i;
  if (check == n) return v;
  v.check_hz = s[check].hz;
  v.check_source = s[check].name;
  const u64 diff = v.hz > v.check_hz ? v.hz - v.check_hz : v.check_hz - v.hz;
  // In floating point: diff * 10^6 would overflow 64 bits for absurd inputs (a command line may
  // say anything); a double's 53 bits are ample for parts per million.
  const double ppm = static_cast<double>(diff) / static_cast<double>(v.hz) * 1e6;
  v.diff_ppm = ppm >= 4'294'967'295.0 ? 0xffff'ffff : static_cast<u32>(ppm + 0.5);
  v.disagree = v.diff_ppm > kTolerancePpm;
  return v;
}

}  // namespace ptb::calibration
