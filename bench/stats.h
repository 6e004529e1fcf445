// Summary statistics of a benchmark's repetitions: pure (host-tested), no libm, no heap.
#pragma once

#include "lib/types.h"

namespace ptb {

// Every field except n is in units of one operation: the statistic of the raw samples divided by
// the `divisor` given to summarize(). For n samples x(0) <= ... <= x(n-1) (sorted):
//
//  - min, max: x(0), x(n-1).
//  - q1, median, q3: the quantile Q(p) for p = 1/4, 1/2, 3/4 by linear interpolation between
//    order statistics (Hyndman & Fan 1996, definition 7; numpy's and R's default):
//        h = p * (n - 1),  Q(p) = x(floor h) + (h - floor h) * (x(floor h + 1) - x(floor h)).
//    So the median of an even n is the mean of the two middle values. h is computed in integers,
//    so Q is exact when the two neighbours are equal.
//  - mean: the exact integer sum divided by n (the sum is never formed, so it cannot overflow:
//    the quotient and remainder by n are accumulated instead).
//  - stddev: the sample standard deviation, sqrt(sum((x - mean)^2) / (n - 1)); 0 when n == 1.
//    Deviations are taken from the exact mean, so identical samples give exactly 0.
//
// Exactness: when all samples equal k * divisor (k an integer), every statistic is exactly k and
// stddev exactly 0. n == 0 gives all zeros. Samples may be negative; |x| < 2^53 keeps every step
// exact up to the final rounding.
struct Summary {
  u32 n = 0;
  double min = 0, q1 = 0, median = 0, mean = 0, q3 = 0, max = 0, stddev = 0;
};

// Sorts samples[0..n) ascending in place, then summarises them with every statistic divided by
// `divisor` (the number of operations one sample covers; must be > 0, anything else is taken as 1).
Summary summarize(i64* samples, u32 n, double divisor);

// Ascending in-place heapsort: O(n log n) worst case, no extra memory.
void sort(i64* v, u32 n);

// The square root the freestanding kernel lacks (no libm): Newton's iteration, within one ulp of
// the correctly rounded result, exact for perfect squares. Negative inputs give 0, +inf gives +inf,
// NaN gives NaN.
double square_root(double x);

}  // namespace ptb
