// Text formatting into fixed buffers (lib/format.h). The output contract (docs/output-format.md)
// wants ASCII-only JSON (RFC 8259) with statistics printed with exactly three decimals; the
// expected strings below are written from that contract and from the comments in format.h.
#include <gtest/gtest.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "lib/format.h"

namespace ptb {
namespace {

// A buffer with guard bytes on both sides: any write outside [0, cap) is detected.
template <usize Cap>
struct Guarded {
  static constexpr char kGuard = '\x5a';
  char raw[Cap + 32];
  TextBuf buf;
  Guarded() : raw{}, buf((std::memset(raw, kGuard, sizeof raw), raw + 16), Cap) {}
  bool guards_intact() const {
    for (usize i = 0; i < 16; ++i)
      if (raw[i] != kGuard || raw[16 + Cap + i] != kGuard) return false;
    return true;
  }
  std::string str() const { return buf.c_str(); }
};

std::string fixed(double v, int decimals) {
  Text<64> t;
  t.put_fixed(v, decimals);
  return t.c_str();
}

std::string json(const char* s, usize n) {
  Text<4096> t;
  t.put_json_string(s, n);
  EXPECT_FALSE(t.truncated());
  return t.c_str();
}

TEST(TextBuf, StartsEmptyAndNulTerminated) {
  Guarded<8> g;
  EXPECT_EQ(g.str(), "");
  EXPECT_EQ(g.buf.size(), 0u);
  EXPECT_FALSE(g.buf.truncated());
  EXPECT_TRUE(g.guards_intact());
}

TEST(TextBuf, PutCharsAndStrings) {
  Text<32> t;
  t.put('a').put("bc").put("defgh", 2).put(static_cast<const char*>(nullptr));
  EXPECT_STREQ(t.c_str(), "abcde(null)");
  EXPECT_EQ(t.size(), 11u);
  EXPECT_FALSE(t.truncated());
  t.clear();
  EXPECT_STREQ(t.c_str(), "");
  EXPECT_EQ(t.size(), 0u);
}

TEST(TextBuf, PutU64) {
  Text<64> t;
  t.put_u64(0).put(' ').put_u64(9).put(' ').put_u64(10).put(' ').put_u64(1234567890);
  t.put(' ').put_u64(UINT64_MAX);
  EXPECT_STREQ(t.c_str(), "0 9 10 1234567890 18446744073709551615");
}

TEST(TextBuf, PutI64IncludingInt64Min) {
  Text<96> t;
  t.put_i64(0).put(' ').put_i64(-1).put(' ').put_i64(42).put(' ').put_i64(INT64_MAX).put(' ');
  t.put_i64(INT64_MIN);
  EXPECT_STREQ(t.c_str(), "0 -1 42 9223372036854775807 -9223372036854775808");
}

TEST(TextBuf, PutI64MatchesPrintfOnRandomValues) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 2000; ++i) {
    const i64 v = static_cast<i64>(rng()) >> (rng() % 64);
    char want[32];
    std::snprintf(want, sizeof want, "%" PRId64, v);
    Text<32> t;
    t.put_i64(v);
    ASSERT_STREQ(t.c_str(), want);
  }
}

TEST(TextBuf, PutHexPaddingAndPrefix) {
  auto hex = [](u64 v, int min_digits, bool prefix) {
    Text<32> t;
    t.put_hex(v, min_digits, prefix);
    return std::string(t.c_str());
  };
  EXPECT_EQ(hex(0, 1, true), "0x0");
  EXPECT_EQ(hex(0, 1, false), "0");
  EXPECT_EQ(hex(0x1a3000, 1, true), "0x1a3000");
  EXPECT_EQ(hex(0xab, 4, false), "00ab");
  EXPECT_EQ(hex(0xabcde, 4, true), "0xabcde");  // min, not max
  EXPECT_EQ(hex(0xdeadbeef, 16, true), "0x00000000deadbeef");
  EXPECT_EQ(hex(UINT64_MAX, 1, true), "0xffffffffffffffff");
  EXPECT_EQ(hex(0x8000000000000000, 1, false), "8000000000000000");
  EXPECT_EQ(hex(1, 40, false), "0000000000000001");  // capped at 16 digits
  EXPECT_EQ(hex(0x10, 0, false), "10");
  EXPECT_EQ(hex(0x10, -3, false), "10");
}

// Round half away from zero (format.h). Values chosen to be exact in binary so the expected
// strings do not depend on representation error.
TEST(TextBuf, PutFixedRoundsHalfAwayFromZero) {
  EXPECT_EQ(fixed(0.125, 2), "0.13");
  EXPECT_EQ(fixed(-0.125, 2), "-0.13");
  EXPECT_EQ(fixed(2.5, 0), "3");
  EXPECT_EQ(fixed(-2.5, 0), "-3");
  EXPECT_EQ(fixed(0.0625, 3), "0.063");
  EXPECT_EQ(fixed(-0.0625, 3), "-0.063");
  EXPECT_EQ(fixed(1.4375, 3), "1.438");
  EXPECT_EQ(fixed(0.9995117187500000, 3), "1.000");  // 2047/2048, rounds up into the units
  EXPECT_EQ(fixed(9.9999, 3), "10.000");
}

TEST(TextBuf, PutFixedThreeDecimalsAsTheContractShowsThem) {
  EXPECT_EQ(fixed(1.0, 3), "1.000");
  EXPECT_EQ(fixed(0.0, 3), "0.000");
  EXPECT_EQ(fixed(-0.5, 3), "-0.500");
  EXPECT_EQ(fixed(0.294, 3), "0.294");
  EXPECT_EQ(fixed(123456.789, 3), "123456.789");
  EXPECT_EQ(fixed(-42.0, 3), "-42.000");
  EXPECT_EQ(fixed(0.001, 3), "0.001");
  EXPECT_EQ(fixed(0.05, 1), "0.1");
}

// A tiny negative rounds to zero: the contract wants a valid JSON number with three decimals.
// "-0.000" would be valid JSON too, but it is a needless second spelling of zero (two runs that
// differ only by noise would differ byte-wise); the code prints "0.000", which we pin here.
TEST(TextBuf, PutFixedTinyNegativeIsPlainZero) {
  EXPECT_EQ(fixed(-0.0004, 3), "0.000");
  EXPECT_EQ(fixed(-0.0, 3), "0.000");
  EXPECT_EQ(fixed(-1e-300, 3), "0.000");
  EXPECT_EQ(fixed(-0.4, 0), "0");
  EXPECT_EQ(fixed(-0.0006, 3), "-0.001");
}

TEST(TextBuf, PutFixedNonFiniteAndHugePrintZero) {
  EXPECT_EQ(fixed(std::numeric_limits<double>::quiet_NaN(), 3), "0.000");
  EXPECT_EQ(fixed(std::numeric_limits<double>::infinity(), 3), "0.000");
  EXPECT_EQ(fixed(-std::numeric_limits<double>::infinity(), 3), "0.000");
  EXPECT_EQ(fixed(1e300, 3), "0.000");
}

TEST(TextBuf, PutFixedDecimalsClamped) {
  EXPECT_EQ(fixed(1.5, -2), "2");
  EXPECT_EQ(fixed(0.5, 12), "0.500000000");  // at most 9 decimals
  EXPECT_EQ(fixed(3.0, 0), "3");             // no decimal point with 0 decimals
}

TEST(TextBuf, PutFixedAgreesWithPrintfOnValuesAwayFromTies) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> dist(-1e6, 1e6);
  int compared = 0;
  for (int i = 0; i < 5000; ++i) {
    const double v = dist(rng);
    const double frac = std::fabs(v * 1000) - std::floor(std::fabs(v * 1000));
    if (std::fabs(frac - 0.5) < 1e-3) continue;  // printf rounds ties to even: skip near-ties
    char want[64];
    std::snprintf(want, sizeof want, "%.3f", v);
    std::string w = want;
    if (w == "-0.000") w = "0.000";
    ASSERT_EQ(fixed(v, 3), w) << v;
    ++compared;
  }
  EXPECT_GT(compared, 4900);
}

TEST(TextBuf, TruncationNeverOverflows) {
  Guarded<8> g;
  g.buf.put("0123456789");
  EXPECT_EQ(g.str(), "0123456");  // capacity 8: 7 characters and the NUL
  EXPECT_EQ(g.buf.size(), 7u);
  EXPECT_TRUE(g.buf.truncated());
  EXPECT_TRUE(g.guards_intact());
  g.buf.put_u64(UINT64_MAX).put_i64(INT64_MIN).put_hex(~u64{0}, 16).put_fixed(-1234.5678, 3);
  g.buf.put_json_string("\x01\x02\"\\").pad_to(0, 100);
  EXPECT_EQ(g.str(), "0123456");
  EXPECT_TRUE(g.guards_intact());
}

TEST(TextBuf, TruncationAtEveryCapacity) {
  const std::string full = "{\"type\":\"result\",\"median\":-12.500,\"name\":\"cr3.\\u0001\"}";
  for (usize cap = 1; cap < 70; ++cap) {
    SCOPED_TRACE(cap);
    char raw[96];
    std::memset(raw, 0x5a, sizeof raw);
    TextBuf t(raw + 8, cap);
    t.put("{\"type\":").put_json_string("result").put(",\"median\":").put_fixed(-12.5, 3);
    t.put(",\"name\":").put_json_string("cr3.\x01").put('}');
    const std::string got = t.c_str();
    EXPECT_EQ(got, full.substr(0, std::min(cap - 1, full.size())));
    EXPECT_EQ(t.size(), got.size());
    EXPECT_EQ(t.truncated(), full.size() > cap - 1);
    for (usize i = 0; i < 8; ++i) ASSERT_EQ(raw[i], 0x5a);
    for (usize i = 8 + cap; i < sizeof raw; ++i) ASSERT_EQ(raw[i], 0x5a);
  }
}

TEST(TextBuf, ZeroCapacityWritesNothing) {
  char c = 'x';
  TextBuf t(&c, 0);
  t.put("abc").put_u64(1);
  EXPECT_EQ(c, 'x');
  EXPECT_STREQ(t.c_str(), "");
  EXPECT_TRUE(t.truncated());
  EXPECT_EQ(t.size(), 0u);
}

TEST(TextBuf, PadToLeftJustifies) {
  Text<64> t;
  t.put("| ");
  usize start = t.size();
  t.put("cr3").pad_to(start, 8).put('|');
  EXPECT_STREQ(t.c_str(), "| cr3     |");
  start = t.size();
  t.put("toolongname").pad_to(start, 4).put('|');  // longer than width: unchanged
  EXPECT_STREQ(t.c_str(), "| cr3     |toolongname|");
  start = t.size();
  t.pad_to(start, 3).put('|');
  EXPECT_STREQ(t.c_str(), "| cr3     |toolongname|   |");
}

TEST(TextBuf, PadToStopsAtCapacity) {
  Guarded<6> g;
  g.buf.put("ab").pad_to(0, 50);
  EXPECT_EQ(g.str(), "ab   ");
  EXPECT_TRUE(g.buf.truncated());
  EXPECT_TRUE(g.guards_intact());
}

TEST(TextBuf, JsonStringPlain) {
  Text<64> t;
  t.put_json_string("cr3.write.nopcid");
  EXPECT_STREQ(t.c_str(), "\"cr3.write.nopcid\"");
  t.clear();
  t.put_json_string("");
  EXPECT_STREQ(t.c_str(), "\"\"");
  t.clear();
  t.put_json_string(nullptr);
  EXPECT_STREQ(t.c_str(), "\"\"");
}

// RFC 8259 section 7: '"', '\\' and U+0000..U+001F must be escaped; the contract adds ASCII-only,
// so bytes >= 0x80 (and DEL) are written as \u00XX.
TEST(TextBuf, JsonStringEscapes) {
  EXPECT_EQ(json("a\"b", 3), "\"a\\\"b\"");
  EXPECT_EQ(json("a\\b", 3), "\"a\\\\b\"");
  EXPECT_EQ(json("\n\r\t", 3), "\"\\u000a\\u000d\\u0009\"");
  EXPECT_EQ(json("\x1f", 1), "\"\\u001f\"");
  EXPECT_EQ(json(" ~", 2), "\" ~\"");
  EXPECT_EQ(json("\x7f", 1), "\"\\u007f\"");
  EXPECT_EQ(json("\x80\xff\xc3\xa9", 4), "\"\\u0080\\u00ff\\u00c3\\u00a9\"");
  EXPECT_EQ(json("a\0b", 3), "\"a\\u0000b\"");  // explicit length: NUL is data
}

TEST(TextBuf, JsonStringOfEveryByteIsAsciiAndDecodesBack) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  const std::string out = json(all.data(), all.size());
  ASSERT_GE(out.size(), 2u);
  ASSERT_EQ(out.front(), '"');
  ASSERT_EQ(out.back(), '"');
  std::string decoded;
  for (usize i = 1; i + 1 < out.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(out[i]);
    ASSERT_TRUE(c >= 0x20 && c < 0x7f) << "non-printable in output at " << i;
    ASSERT_NE(c, '"') << "unescaped quote at " << i;
    if (c != '\\') {
      decoded.push_back(static_cast<char>(c));
      continue;
    }
    ASSERT_LT(i + 1, out.size() - 1);
    const char e = out[++i];
    if (e == '"' || e == '\\') {
      decoded.push_back(e);
    } else {
      ASSERT_EQ(e, 'u');
      ASSERT_LE(i + 4, out.size() - 2);
      decoded.push_back(static_cast<char>(std::stoi(out.substr(i + 1, 4), nullptr, 16)));
      i += 4;
    }
  }
  EXPECT_EQ(decoded, all);
}

TEST(StrLen, Counts) {
  EXPECT_EQ(str_len(""), 0u);
  EXPECT_EQ(str_len("cr3"), 3u);
}

TEST(StrEq, NulTerminated) {
  EXPECT_TRUE(str_eq("", ""));
  EXPECT_TRUE(str_eq("cr3", "cr3"));
  EXPECT_FALSE(str_eq("cr3", "cr4"));
  EXPECT_FALSE(str_eq("cr3", "cr3.read"));
  EXPECT_FALSE(str_eq("cr3.read", "cr3"));
  EXPECT_FALSE(str_eq("", "a"));
}

TEST(StrEq, WithLength) {
  const char* text = "cr3.read,invpcid";
  EXPECT_TRUE(str_eq(text, 8, "cr3.read"));
  EXPECT_FALSE(str_eq(text, 7, "cr3.read"));
  EXPECT_FALSE(str_eq(text, 8, "cr3.rea"));
  EXPECT_FALSE(str_eq(text, 8, "cr3.reads"));
  EXPECT_TRUE(str_eq(text, 0, ""));
  EXPECT_FALSE(str_eq(text, 0, "c"));
}

bool glob(const char* pattern, const char* text) {
  return glob_match(pattern, str_len(pattern), text);
}

TEST(GlobMatch, Literals) {
  EXPECT_TRUE(glob("cr3.read", "cr3.read"));
  EXPECT_FALSE(glob("cr3.read", "cr3.reads"));
  EXPECT_FALSE(glob("cr3.read", "cr3.rea"));
  EXPECT_FALSE(glob("abc", "ab"));  // pattern longer than text
}

TEST(GlobMatch, EmptyPatternAndText) {
  EXPECT_TRUE(glob("", ""));
  EXPECT_FALSE(glob("", "cr3"));
  EXPECT_TRUE(glob("*", ""));
  EXPECT_TRUE(glob("**", ""));
  EXPECT_FALSE(glob("?", ""));
}

TEST(GlobMatch, Star) {
  EXPECT_TRUE(glob("*", "anything.at.all"));
  EXPECT_TRUE(glob("cr3.*", "cr3.write.noflush"));
  EXPECT_TRUE(glob("cr3.*", "cr3."));
  EXPECT_FALSE(glob("cr3.*", "cr3"));
  EXPECT_FALSE(glob("cr3.*", "cr4.pge"));
  EXPECT_TRUE(glob("*.noflush", "cr3.write.noflush"));
  EXPECT_FALSE(glob("*.noflush", "cr3.write.noflush2"));
  EXPECT_FALSE(glob("*.noflush", "noflush"));
  EXPECT_TRUE(glob("tlb.refill.*.1024", "tlb.refill.cr3.noflush.1024"));
  EXPECT_TRUE(glob("tlb.refill.*.1024", "tlb.refill.none.1024"));
  EXPECT_FALSE(glob("tlb.refill.*.1024", "tlb.refill.none.10240"));
  EXPECT_FALSE(glob("tlb.refill.*.1024", "tlb.refill.1024"));
  EXPECT_TRUE(glob("a*b*c", "aXXbYYbZZc"));
  EXPECT_FALSE(glob("a*b*c", "aXXbYYbZZ"));
  EXPECT_TRUE(glob("*a*", "banana"));
  EXPECT_TRUE(glob("*ana", "banana"));  // needs backtracking past the first "ana"
}

// Found by fuzzing: a '*' in the text was matched by the pattern's '*' as a literal, which then
// had nothing left to absorb the rest.
TEST(GlobMatch, StarInTheTextIsMatchedByTheWildcard) {
  EXPECT_TRUE(glob("*", "*x"));
  EXPECT_TRUE(glob("*b", "*ab"));
  EXPECT_TRUE(glob("a*", "a*"));
  EXPECT_TRUE(glob("*?", "*"));
  EXPECT_FALSE(glob("*b", "*a"));
}

TEST(GlobMatch, QuestionMark) {
  EXPECT_TRUE(glob("cr?", "cr3"));
  EXPECT_FALSE(glob("cr?", "cr"));
  EXPECT_FALSE(glob("cr?", "cr34"));
  EXPECT_TRUE(glob("?*", "x"));
  EXPECT_FALSE(glob("?*", ""));
  EXPECT_TRUE(glob("invpcid.?ingle", "invpcid.single"));
}

TEST(GlobMatch, PatternLengthIsRespected) {
  // The pattern is [p, p + n): text after n in the buffer is not part of it (comma lists).
  const char* list = "cr3.*,invpcid.*";
  EXPECT_TRUE(glob_match(list, 5, "cr3.read"));
  EXPECT_FALSE(glob_match(list, 5, "invpcid.all"));
  EXPECT_TRUE(glob_match(list + 6, 9, "invpcid.all"));
  EXPECT_FALSE(glob_match(list, 3, "cr3.read"));
}

// A reference matcher (plain recursion) as the oracle for random patterns.
bool ref_glob(const char* p, usize pn, const char* s) {
  if (pn == 0) return *s == '\0';
  if (*p == '*') return ref_glob(p + 1, pn - 1, s) || (*s && ref_glob(p, pn, s + 1));
  return *s && (*p == '?' || *p == *s) && ref_glob(p + 1, pn - 1, s + 1);
}

TEST(GlobMatch, AgreesWithAReferenceMatcherOnRandomInput) {
  std::mt19937 rng(5);
  // The text may hold the wildcard characters too (names never do, but a matcher must not care).
  const char alphabet[] = "ab.*?";
  for (int i = 0; i < 20000; ++i) {
    std::string p, s;
    for (int k = static_cast<int>(rng() % 7); k > 0; --k) p.push_back(alphabet[rng() % 5]);
    for (int k = static_cast<int>(rng() % 9); k > 0; --k) s.push_back(alphabet[rng() % 5]);
    ASSERT_EQ(glob_match(p.data(), p.size(), s.c_str()), ref_glob(p.data(), p.size(), s.c_str()))
        << "pattern '" << p << "' text '" << s << "'";
  }
}

}  // namespace
}  // namespace ptb
