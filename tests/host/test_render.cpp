// Result lines on the screen fit its width (80 columns on VGA text) and keep the figures.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bench/render.h"
#include "bench/row.h"

namespace ptb::bench {
namespace {

std::vector<std::string> every_name() {
  std::vector<Row> rows(kMaxRows);
  const u32 touch[] = {1, 8, 64, 512};
  usize n = build_table(rows.data(), kMaxRows, TableParams{4096, false, touch, 4});
  std::vector<std::string> names;
  for (usize i = 0; i < n; ++i) {
    Text<kNameMax> t;
    put_name(t, rows[i]);
    names.push_back(t.c_str());
  }
  return names;
}

Result ok(double median, double q1, double q3) {
  Result r{Status::kOk, nullptr, {}, 1};
  r.stats.n = 31;
  r.stats.median = median;
  r.stats.q1 = q1;
  r.stats.q3 = q3;
  r.stats.min = q1;
  return r;
}

std::string screen(const std::string& name, const Result& r, u32 cols, usize* lines = nullptr,
                   std::string* second = nullptr) {
  Text<320> line, more;
  usize n = put_screen_result(line, more, name.c_str(), r, cols, 3'000'000'000);
  if (lines) *lines = n;
  if (second) *second = more.c_str();
  return line.c_str();
}

TEST(ScreenLine, EveryResultFitsEightyColumnsWithItsFigures) {
  // Seven-digit tick counts: far beyond any refill of 4096 pages on real hardware.
  const Result r = ok(9'999'999.999, 1'234'567.125, 9'876'543.5);
  for (const std::string& name : every_name()) {
    std::string line = screen(name, r, 80);
    EXPECT_LE(line.size(), 80u) << line;
    EXPECT_NE(line.find(name), std::string::npos) << line;
    for (const char* figure : {"9999999.999", "1234567.125", "9876543.500"})
      EXPECT_NE(line.find(figure), std::string::npos) << figure << " lost in: " << line;
  }
}

TEST(ScreenLine, ALongReasonGoesToASecondLineThatFitsToo) {
  Result skip{Status::kSkip, "CPU lacks invariant_tsc (CPUID.80000007H:EDX[8])"};
  usize lines = 0;
  std::string more;
  std::string line = screen("tlb.refill.global.invpcid.single.4096", skip, 80, &lines, &more);
  EXPECT_EQ(lines, 2u);
  EXPECT_LE(line.size(), 80u);
  EXPECT_NE(line.find("skip"), std::string::npos);
  EXPECT_LE(more.size(), 80u);
  EXPECT_NE(more.find("CPU lacks invariant_tsc"), std::string::npos) << more;
}

TEST(ScreenLine, AWideScreenGetsTheSerialForm) {
  const Result r = ok(12, 12, 12);
  Text<320> serial;
  put_result_line(serial, "cr3.read", r, 3'000'000'000);
  EXPECT_EQ(screen("cr3.read", r, 200), std::string(serial.c_str()));
  EXPECT_GT(serial.size(), 80u);  // which is why VGA text needs the compact form
  EXPECT_LE(screen("cr3.read", r, 80).size(), 80u);
}

TEST(ResultLine, SerialFormHasEveryFigure) {
  Text<320> t;
  Result r = ok(2.5, 2, 3);
  r.stats.min = 1;
  put_result_line(t, "syscall.direct", r, 1'000'000'000);
  EXPECT_STREQ(t.c_str(),
               "  syscall.direct                          ok  median 2.500  q1 2.000  q3 3.000"
               "  min 1.000  n 31  (2.500 ns)");
}

}  // namespace
}  // namespace ptb::bench
