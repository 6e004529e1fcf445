#include "bench/stats.h"

namespace ptb {

namespace {

// Restores the max-heap property below `root` in v[0..n).
void sift_down(i64* v, usize root, usize n) {
  i64 value = v[root];
  for (;;) {
    usize child = 2 * root + 1;
    if (child >= n) break;
    if (child + 1 < n && v[child + 1] > v[child]) ++child;
    if (v[child] <= value) break;
    v[root] = v[child];
    root = child;
  }
  v[root] = value;
}

// Q(p) for p = num/den (type 7); h = p * (n - 1) is split into integer and fractional parts in
// integers so that equal neighbours give exactly their value.
double quantile(const i64* sorted, u32 n, u32 num, u32 den) {
  u64 scaled = static_cast<u64>(n - 1) * num;
  u64 lo = scaled / den;
  u64 rem = scaled % den;
  double value = static_cast<double>(sorted[lo]);
  if (rem == 0) return value;
  double next = static_cast<double>(sorted[lo + 1]);
  return value + (next - value) * (static_cast<double>(rem) / den);
}

}  // namespace

void sort(i64* v, u32 n) {
  if (v == nullptr || n < 2) return;
  for (usize i = n / 2; i-- > 0;) sift_down(v, i, n);
  for (usize end = n - 1; end > 0; --end) {
    i64 top = v[0];
    v[0] = v[end];
    v[end] = top;
    sift_down(v, 0, end);
  }
}

double square_root(double x) {
  if (x != x) return x;  // NaN
  if (x <= 0) return 0;
  if (x > 1.7976931348623157e308) return x;  // +inf
  // Bring tiny (subnormal) and huge inputs toward 1 so the initial guess is good and y * y below
  // cannot overflow; scaling by an even power of two is exact and halves in the root.
  double unscale = 1;
  if (x < 0x1p-900) {
    x *= 0x1p1000;
    unscale = 0x1p-500;
  } else if (x > 0x1p900) {
    x *= 0x1p-1000;
    unscale = 0x1p500;
  }
  // Initial guess: halve the biased exponent (the bit pattern read as an integer is roughly a
  // scaled log2), within ~6% of the root.
  u64 bits = __builtin_bit_cast(u64, x);
  double y = __builtin_bit_cast(double, (bits >> 1) + 0x1FF8'0000'0000'0000ULL);
  // One step lands at or above the root (AM-GM); from there Newton's iteration decreases
  // monotonically until rounding stops it, within an ulp of the root.
  y = 0.5 * (y + x / y);
  for (int i = 0; i < 64; ++i) {
    double next = 0.5 * (y + x / y);
    if (!(next < y)) break;
    y = next;
  }
  // Final correction with the residual x - y*y computed exactly (Dekker's product; no FMA
  // needed): y + r / 2y then rounds to nearest, which makes the result correctly rounded except
  // when the root lies within ~2^-100 of a rounding boundary.
  const double split = 134217729.0 * y;  // 2^27 + 1
  const double hi = split - (split - y);
  const double lo = y - hi;
  const double p = y * y;
  const double e = ((hi * hi - p) + 2 * hi * lo) + lo * lo;  // y*y == p + e exactly
  const double r = (x - p) - e;                              // x - p is exact (Sterbenz)
  y += r / (2 * y);
  return y * unscale;
}

Summary summarize(i64* samples, u32 n, double divisor) {
  Summary s;
  if (samples == nullptr || n == 0) return s;
  if (!(divisor > 0) || divisor > 1.7976931348623157e308) divisor = 1;
  sort(samples, n);
  s.n = n;

  // mean = quot + rem / n exactly, with 0 <= rem < n: accumulate quotients and remainders by n
  // instead of the sum, which could overflow.
  const i64 count = n;
  i64 quot = 0;
  i64 rem = 0;
  for (u32 i = 0; i < n; ++i) {
    quot += samples[i] / count;
    rem += samples[i] % count;  // in (-n, n), so rem stays in (-2n, 2n) before normalising
    if (rem >= count) {
      rem -= count;
      ++quot;
    } else if (rem < 0) {
      rem += count;
      --quot;
    }
  }
  const double frac = static_cast<double>(rem) / static_cast<double>(count);
  const double mean = static_cast<double>(quot) + frac;

  // Deviation from the exact mean: (x - quot) is an exact integer, then the fraction comes off.
  double squares = 0;
  for (u32 i = 0; i < n; ++i) {
    // Wrapping subtraction: exact whenever the samples span less than 2^63, and never UB.
    i64 diff = static_cast<i64>(static_cast<u64>(samples[i]) - static_cast<u64>(quot));
    double d = static_cast<double>(diff) - frac;
    squares += d * d;
  }
  const double stddev = n > 1 ? square_root(squares / static_cast<double>(n - 1)) : 0.0;

  s.min = static_cast<double>(samples[0]) / divisor;
  s.q1 = quantile(samples, n, 1, 4) / divisor;
  s.median = quantile(samples, n, 1, 2) / divisor;
  s.mean = mean / divisor;
  s.q3 = quantile(samples, n, 3, 4) / divisor;
  s.max = static_cast<double>(samples[n - 1]) / divisor;
  s.stddev = stddev / divisor;
  return s;
}

}  // namespace ptb
