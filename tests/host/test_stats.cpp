#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "bench/stats.h"

namespace ptb {
namespace {

Summary run(std::vector<i64> v, double divisor = 1) {
  return summarize(v.data(), static_cast<u32>(v.size()), divisor);
}

TEST(Stats, EmptyGivesZeros) {
  Summary s = summarize(nullptr, 0, 1);
  EXPECT_EQ(s.n, 0u);
  EXPECT_EQ(s.min, 0);
  EXPECT_EQ(s.median, 0);
  EXPECT_EQ(s.mean, 0);
  EXPECT_EQ(s.max, 0);
  EXPECT_EQ(s.stddev, 0);
  i64 one = 5;
  EXPECT_EQ(summarize(&one, 0, 1).n, 0u);
  EXPECT_EQ(one, 5);
}

TEST(Stats, SingleSampleHasZeroStddev) {
  Summary s = run({42});
  EXPECT_EQ(s.n, 1u);
  EXPECT_EQ(s.min, 42);
  EXPECT_EQ(s.q1, 42);
  EXPECT_EQ(s.median, 42);
  EXPECT_EQ(s.mean, 42);
  EXPECT_EQ(s.q3, 42);
  EXPECT_EQ(s.max, 42);
  EXPECT_EQ(s.stddev, 0);
}

TEST(Stats, TwoSamplesInterpolate) {
  Summary s = run({20, 10});
  EXPECT_EQ(s.min, 10);
  EXPECT_EQ(s.q1, 12.5);
  EXPECT_EQ(s.median, 15);
  EXPECT_EQ(s.mean, 15);
  EXPECT_EQ(s.q3, 17.5);
  EXPECT_EQ(s.max, 20);
  EXPECT_DOUBLE_EQ(s.stddev, std::sqrt(50.0));
}

// numpy: np.percentile([1,2,3,4,5,6,7,8,9], [25,50,75]) == [3, 5, 7]
TEST(Stats, OddCountQuartilesAreOrderStatistics) {
  Summary s = run({9, 1, 8, 2, 7, 3, 6, 4, 5});
  EXPECT_EQ(s.n, 9u);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.q1, 3);
  EXPECT_EQ(s.median, 5);
  EXPECT_EQ(s.mean, 5);
  EXPECT_EQ(s.q3, 7);
  EXPECT_EQ(s.max, 9);
  EXPECT_DOUBLE_EQ(s.stddev, std::sqrt(7.5));  // sum of squares 60, / 8
}

// numpy: np.percentile([1,2,3,4,5,6,7,8,9,10], [25,50,75]) == [3.25, 5.5, 7.75]
TEST(Stats, EvenCountMedianIsMeanOfMiddleTwo) {
  Summary s = run({10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
  EXPECT_EQ(s.q1, 3.25);
  EXPECT_EQ(s.median, 5.5);
  EXPECT_EQ(s.mean, 5.5);
  EXPECT_EQ(s.q3, 7.75);
  EXPECT_DOUBLE_EQ(s.stddev, std::sqrt(82.5 / 9));
}

// numpy: np.percentile([3,1,4,1,5,9,2,6], [25,50,75]) == [1.75, 3.5, 5.25]
TEST(Stats, TiesAndUnsortedInput) {
  std::vector<i64> v = {3, 1, 4, 1, 5, 9, 2, 6};
  Summary s = summarize(v.data(), 8, 1);
  EXPECT_EQ(v, (std::vector<i64>{1, 1, 2, 3, 4, 5, 6, 9}));  // sorted in place
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.q1, 1.75);
  EXPECT_EQ(s.median, 3.5);
  EXPECT_EQ(s.mean, 31.0 / 8);
  EXPECT_EQ(s.q3, 5.25);
  EXPECT_EQ(s.max, 9);
}

TEST(Stats, OutlierMovesMeanNotMedian) {
  Summary s = run({100, 101, 99, 100, 100, 1000000});
  EXPECT_EQ(s.median, 100);
  EXPECT_EQ(s.q1, 100);
  EXPECT_EQ(s.q3, 100.75);
  EXPECT_EQ(s.max, 1000000);
  EXPECT_DOUBLE_EQ(s.mean, 1000500.0 / 6);
  EXPECT_GT(s.stddev, 400000);
}

TEST(Stats, NegativeSamples) {
  Summary s = run({-3, 5, -1, 0, -7});
  EXPECT_EQ(s.min, -7);
  EXPECT_EQ(s.q1, -3);
  EXPECT_EQ(s.median, -1);
  EXPECT_EQ(s.q3, 0);
  EXPECT_EQ(s.max, 5);
  EXPECT_DOUBLE_EQ(s.mean, -6.0 / 5);
  // Deviations -5.8 -1.8 0.2 1.2 6.2: squares sum to 76.8.
  EXPECT_DOUBLE_EQ(s.stddev, std::sqrt(76.8 / 4));
  // Negative mean with a remainder: floor division must not round toward zero.
  EXPECT_DOUBLE_EQ(run({-1, -2}).mean, -1.5);
  EXPECT_DOUBLE_EQ(run({-1, 0, 0}).mean, -1.0 / 3);
}

TEST(Stats, DivisorScalesEveryStatistic) {
  Summary s = run({1000, 2000, 3000, 4000}, 1000);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.q1, 1.75);
  EXPECT_EQ(s.median, 2.5);
  EXPECT_EQ(s.mean, 2.5);
  EXPECT_EQ(s.q3, 3.25);
  EXPECT_EQ(s.max, 4);
  EXPECT_DOUBLE_EQ(s.stddev, std::sqrt(5.0 / 3));
}

TEST(Stats, EqualSamplesAreExactWithDivisor) {
  for (u32 n : {1u, 2u, 3u, 4u, 5u, 7u, 100u, 1001u}) {
    for (i64 k : {1, 3, 37, -5, 1000003}) {
      for (double divisor : {1.0, 3.0, 7.0, 128.0, 1000.0, 4096.0}) {
        i64 value = static_cast<i64>(k * divisor);
        Summary s = run(std::vector<i64>(n, value), divisor);
        const double want = static_cast<double>(k);
        EXPECT_EQ(s.min, want) << n << " " << k << " " << divisor;
        EXPECT_EQ(s.q1, want) << n << " " << k << " " << divisor;
        EXPECT_EQ(s.median, want) << n << " " << k << " " << divisor;
        EXPECT_EQ(s.mean, want) << n << " " << k << " " << divisor;
        EXPECT_EQ(s.q3, want) << n << " " << k << " " << divisor;
        EXPECT_EQ(s.max, want) << n << " " << k << " " << divisor;
        EXPECT_EQ(s.stddev, 0.0) << n << " " << k << " " << divisor;
      }
    }
  }
  Summary s = run(std::vector<i64>(64, 128), 128);
  EXPECT_EQ(s.mean, 1.0);
  EXPECT_EQ(s.median, 1.0);
  EXPECT_EQ(s.stddev, 0.0);
}

TEST(Stats, InvalidDivisorIsOne) {
  EXPECT_EQ(run({4, 6}, 0).mean, 5);
  EXPECT_EQ(run({4, 6}, -2).mean, 5);
  EXPECT_EQ(run({4, 6}, NAN).mean, 5);
}

TEST(Stats, LargeSamplesDoNotOverflowTheMean) {
  // 100000 samples near 2^40 sum to about 2^57; near 2^62 the plain sum would overflow.
  const i64 big = i64{1} << 62;
  std::vector<i64> v(100000, big);
  v[0] = big + 99999;  // remainder exactly n - 1
  Summary s = run(v);
  EXPECT_EQ(s.mean, static_cast<double>(big) + 0.99999);
  std::vector<i64> w(100000, (i64{1} << 40) + 7);
  EXPECT_EQ(run(w).mean, static_cast<double>((i64{1} << 40) + 7));
  EXPECT_EQ(run(w).stddev, 0.0);
}

TEST(Stats, AgreesWithTwoPassReference) {
  std::mt19937_64 rng(7);
  std::vector<i64> v(12345);
  for (auto& x : v) x = static_cast<i64>(rng() % 2000000) - 1000000;
  long double sum = 0;
  for (i64 x : v) sum += x;
  long double mean = sum / v.size();
  long double sq = 0;
  for (i64 x : v) sq += (x - mean) * (x - mean);
  Summary s = run(v, 10);
  EXPECT_NEAR(s.mean, static_cast<double>(mean / 10), 1e-9);
  EXPECT_NEAR(s.stddev, static_cast<double>(std::sqrt(sq / (v.size() - 1)) / 10), 1e-7);
  std::sort(v.begin(), v.end());
  const double h = 0.25 * (v.size() - 1);
  const usize lo = static_cast<usize>(h);
  EXPECT_DOUBLE_EQ(s.q1 * 10, v[lo] + (h - lo) * (v[lo + 1] - v[lo]));
}

TEST(Sort, SmallCases) {
  sort(nullptr, 0);
  std::vector<i64> one = {5};
  sort(one.data(), 1);
  EXPECT_EQ(one, std::vector<i64>{5});
  std::vector<i64> v = {2, -1, 2, 0, INT64_MIN, INT64_MAX, -1};
  sort(v.data(), static_cast<u32>(v.size()));
  EXPECT_EQ(v, (std::vector<i64>{INT64_MIN, -1, -1, 0, 2, 2, INT64_MAX}));
}

TEST(Sort, LargeRandomMatchesStdSort) {
  std::mt19937_64 rng(12345);
  for (usize n : {100000u, 99999u, 1000u}) {
    std::vector<i64> v(n);
    for (auto& x : v) x = static_cast<i64>(rng() % 1000) - 500;  // many ties
    if (n == 1000) {
      for (auto& x : v) x = static_cast<i64>(rng());  // full range
    }
    std::vector<i64> want = v;
    std::sort(want.begin(), want.end());
    sort(v.data(), static_cast<u32>(n));
    EXPECT_EQ(v, want) << n;
  }
}

TEST(Sort, SortedAndReversedInputs) {
  std::vector<i64> up(100000), down(100000);
  for (usize i = 0; i < up.size(); ++i) {
    up[i] = static_cast<i64>(i);
    down[i] = -static_cast<i64>(i);
  }
  std::vector<i64> want = up;
  sort(up.data(), 100000);
  EXPECT_EQ(up, want);
  sort(down.data(), 100000);
  EXPECT_TRUE(std::is_sorted(down.begin(), down.end()));
  EXPECT_EQ(down.front(), -99999);
}

u64 ulps_apart(double a, double b) {
  u64 x, y;
  std::memcpy(&x, &a, 8);
  std::memcpy(&y, &b, 8);
  return x > y ? x - y : y - x;
}

TEST(SquareRoot, PerfectSquaresAreExact) {
  for (i64 k = 0; k <= 100000; ++k) {
    double kd = static_cast<double>(k);
    ASSERT_EQ(square_root(kd * kd), kd) << k;
  }
  EXPECT_EQ(square_root(0.25), 0.5);
  EXPECT_EQ(square_root(0x1p-1060), 0x1p-530);  // subnormal input
  EXPECT_EQ(square_root(0x1p1000), 0x1p500);
}

TEST(SquareRoot, CorrectlyRoundedAlmostAlways) {
  std::mt19937_64 rng(99);
  u64 exact = 0;
  const int trials = 200000;
  for (int i = 0; i < trials; ++i) {
    // Random bit patterns: every exponent, including subnormals.
    u64 bits = rng() & 0x7FEF'FFFF'FFFF'FFFFULL;
    double x;
    std::memcpy(&x, &bits, 8);
    if (x == 0) continue;
    u64 d = ulps_apart(square_root(x), std::sqrt(x));
    ASSERT_LE(d, 1u) << x;
    exact += d == 0;
  }
  EXPECT_GT(exact, trials - trials / 1000);  // correctly rounded but for rare near-ties
  for (double x : {2.0, 3.0, 1e-300, 1e300, 1.7976931348623157e308, 4.9e-324, 123456789.0}) {
    EXPECT_LE(ulps_apart(square_root(x), std::sqrt(x)), 1u) << x;
  }
}

TEST(SquareRoot, SpecialValues) {
  EXPECT_EQ(square_root(0.0), 0.0);
  EXPECT_EQ(square_root(-4.0), 0.0);
  EXPECT_EQ(square_root(INFINITY), INFINITY);
  EXPECT_TRUE(std::isnan(square_root(NAN)));
}

}  // namespace
}  // namespace ptb
