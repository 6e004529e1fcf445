#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "kernel/font.h"

namespace ptb {
namespace {

bool empty(const u8* g) {
  for (u32 y = 0; y < kFontHeight; ++y) {
    if (g[y] != 0) return false;
  }
  return true;
}

bool same(const u8* a, const u8* b) { return std::memcmp(a, b, kFontHeight) == 0; }

TEST(Font, EveryPrintableGlyphButSpaceHasPixels) {
  EXPECT_TRUE(empty(glyph(' ')));
  for (int c = 0x21; c <= 0x7E; ++c) EXPECT_FALSE(empty(glyph(static_cast<char>(c)))) << c;
  EXPECT_FALSE(empty(kFontBox));
}

TEST(Font, NoTwoGlyphsAreIdentical) {
  for (u32 a = 0; a < kFontGlyphs; ++a) {
    EXPECT_FALSE(same(kFont8x16[a], kFontBox)) << "0x" << std::hex << a + kFontFirst;
    for (u32 b = a + 1; b < kFontGlyphs; ++b) {
      EXPECT_FALSE(same(kFont8x16[a], kFont8x16[b]))
          << std::hex << "0x" << a + kFontFirst << " 0x" << b + kFontFirst;
    }
  }
}

TEST(Font, ConfusablesDiffer) {
  EXPECT_FALSE(same(glyph('0'), glyph('O')));
  EXPECT_FALSE(same(glyph('0'), glyph('o')));
  EXPECT_FALSE(same(glyph('1'), glyph('l')));
  EXPECT_FALSE(same(glyph('1'), glyph('I')));
  EXPECT_FALSE(same(glyph('l'), glyph('I')));
  EXPECT_FALSE(same(glyph('|'), glyph('l')));
  EXPECT_FALSE(same(glyph('5'), glyph('S')));
  EXPECT_FALSE(same(glyph('8'), glyph('B')));
  // Not just one stray pixel: these pairs differ in at least two rows.
  auto rows_differing = [](char a, char b) {
    int n = 0;
    for (u32 y = 0; y < kFontHeight; ++y) n += glyph(a)[y] != glyph(b)[y];
    return n;
  };
  EXPECT_GE(rows_differing('0', 'O'), 2);
  EXPECT_GE(rows_differing('1', 'l'), 2);
  EXPECT_GE(rows_differing('I', 'l'), 2);
}

TEST(Font, GlyphLooksUpPrintableAsciiAndBoxesTheRest) {
  EXPECT_EQ(glyph('A'), kFont8x16['A' - 0x20]);
  EXPECT_EQ(glyph(' '), kFont8x16[0]);
  EXPECT_EQ(glyph('~'), kFont8x16[kFontGlyphs - 1]);
  for (int c : {0x00, 0x01, 0x09, 0x0A, 0x1B, 0x1F, 0x7F, 0x80, 0xC3, 0xFF}) {
    EXPECT_EQ(glyph(static_cast<char>(c)), kFontBox) << c;
  }
}

TEST(Font, MetricsLeaveRoomBetweenCharacters) {
  for (u32 i = 0; i < kFontGlyphs; ++i) {
    const char c = static_cast<char>(i + kFontFirst);
    // Rows 0-1 are the gap between lines.
    EXPECT_EQ(glyph(c)[0], 0) << c;
    EXPECT_EQ(glyph(c)[1], 0) << c;
    // Column 7 is the gap between characters; only '_' joins up with its neighbours.
    if (c == '_') continue;
    for (u32 y = 0; y < kFontHeight; ++y) EXPECT_EQ(glyph(c)[y] & 1, 0) << c << " row " << y;
  }
}

// kernel/font.cpp is generated from tools/font/glyphs.txt: the two must not drift apart.
TEST(Font, MatchesItsSourceArt) {
  std::ifstream in(PTIBENCH_SOURCE_DIR "/tools/font/glyphs.txt");
  ASSERT_TRUE(in) << "tools/font/glyphs.txt";
  std::map<int, std::vector<u8>> art;  // code (-1 = box) -> rows
  int current = -2;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("glyph ", 0) == 0) {
      std::istringstream words(line.substr(6));
      std::string tag;
      words >> tag;
      current = tag == "box" ? -1 : std::stoi(tag, nullptr, 16);
      art[current];
      continue;
    }
    if (line.size() != 8 || line.find_first_not_of("#.") != std::string::npos) continue;
    ASSERT_NE(current, -2) << line;
    u8 bits = 0;
    for (char ch : line) bits = static_cast<u8>(bits << 1 | (ch == '#'));
    art[current].push_back(bits);
  }
  ASSERT_EQ(art.size(), kFontGlyphs + 1);
  for (auto& [code, rows] : art) {
    ASSERT_EQ(rows.size(), kFontHeight) << code;
    const u8* g = code == -1 ? kFontBox : glyph(static_cast<char>(code));
    EXPECT_TRUE(same(rows.data(), g))
        << "glyph 0x" << std::hex << code << ": run tools/font/gen_font.py";
  }
}

}  // namespace
}  // namespace ptb
