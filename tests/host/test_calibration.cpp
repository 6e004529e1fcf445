// The TSC source choice and its cross-check.
#include <gtest/gtest.h>

#include <string>

#include "kernel/calibration.h"

namespace ptb::calibration {
namespace {

constexpr Kind D = Kind::kDeclared, M = Kind::kMeasured;

TEST(Calibration, TakesTheFirstAvailableAndChecksItAgainstAMeasuredOne) {
  const Source s[] = {
      {"cmdline", D, 0}, {"cpuid.15h", D, 3'000'000'000}, {"hypervisor", D, 3'000'100'000},
      {"hpet", M, 0},    {"pm-timer", M, 2'999'000'000},  {"pit", M, 2'990'000'000}};
  Verdict v = decide(s, 6);
  EXPECT_EQ(v.hz, 3'000'000'000u);
  EXPECT_EQ(std::string(v.source), "cpuid.15h");
  // Not the hypervisor's declared figure: the first measured one.
  EXPECT_EQ(std::string(v.check_source), "pm-timer");
  EXPECT_EQ(v.diff_ppm, 333u);
  EXPECT_FALSE(v.disagree);
}

TEST(Calibration, ADisagreementOverOnePercentIsFlaggedWithBothFigures) {
  const Source s[] = {{"cmdline", D, 2'000'000'000}, {"hpet", M, 2'100'000'000}};
  Verdict v = decide(s, 2);
  EXPECT_EQ(v.hz, 2'000'000'000u);
  EXPECT_EQ(v.check_hz, 2'100'000'000u);
  EXPECT_EQ(v.diff_ppm, 50'000u);
  EXPECT_TRUE(v.disagree);
  // Exactly 1 % is still agreement; just over is not.
  const Source edge[] = {{"a", M, 1'000'000}, {"b", M, 1'010'000}};
  EXPECT_FALSE(decide(edge, 2).disagree);
  const Source over[] = {{"a", M, 1'000'000}, {"b", M, 1'010'001}};
  EXPECT_TRUE(decide(over, 2).disagree);
}

TEST(Calibration, AMeasuredChoiceIsCheckedAgainstTheNextMeasuredOne) {
  const Source s[] = {{"cpuid.15h", D, 0},
                      {"hpet", M, 1'000'000'156},
                      {"cpuid.16h", D, 900'000'000},
                      {"pit", M, 1'000'000'900}};
  Verdict v = decide(s, 4);
  EXPECT_EQ(std::string(v.source), "hpet");
  EXPECT_EQ(std::string(v.check_source), "pit");
}

TEST(Calibration, FallsBackToADeclaredCheckAndToNothing) {
  const Source one_each[] = {
      {"cpuid.15h", D, 0}, {"pit", M, 1'000'000}, {"cpuid.16h", D, 1'200'000}};
  Verdict v = decide(one_each, 3);
  EXPECT_EQ(std::string(v.check_source), "cpuid.16h");
  EXPECT_TRUE(v.disagree);
  const Source alone[] = {{"pit", M, 1'000'000}};
  v = decide(alone, 1);
  EXPECT_EQ(v.check_hz, 0u);
  EXPECT_EQ(std::string(v.check_source), "none");
  EXPECT_FALSE(v.disagree);
  const Source none[] = {{"pit", M, 0}};
  v = decide(none, 1);
  EXPECT_EQ(v.hz, 0u);
  EXPECT_EQ(std::string(v.source), "unknown");
}

TEST(Calibration, HugeFiguresDoNotOverflow) {
  const Source s[] = {{"cmdline", D, ~u64{0}}, {"pit", M, 1}};
  Verdict v = decide(s, 2);
  EXPECT_TRUE(v.disagree);
  EXPECT_GT(v.diff_ppm, 999'000u);
}

}  // namespace
}  // namespace ptb::calibration
