#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "kernel/fb_text.h"
#include "kernel/font.h"

namespace ptb {
namespace {

constexpr u8 kGuard = 0xA5;    // around the buffer: must never change
constexpr u8 kPadding = 0x5A;  // bytes past width * bytes-per-pixel in a row: must never change
constexpr usize kGuardBytes = 256;

// A host framebuffer: pitch * height bytes with guard zones before and after.
struct HostFb {
  HostFb(u32 width, u32 height, u8 bpp, u32 pitch = 0) {
    g.width = width;
    g.height = height;
    g.bpp = bpp;
    bytes = (bpp + 7u) / 8u;
    g.pitch = pitch != 0 ? pitch : width * bytes;
    mem.assign(kGuardBytes * 2 + usize{g.pitch} * height, kGuard);
    for (usize i = 0; i < usize{g.pitch} * height; ++i) {
      const usize x = i % g.pitch;
      mem[kGuardBytes + i] = x < usize{width} * bytes ? 0x11 : kPadding;
    }
    g.base = mem.data() + kGuardBytes;
  }
  u32 pixel(u32 x, u32 y) const {
    const u8* p = g.base + usize{y} * g.pitch + usize{x} * bytes;
    u32 v = 0;
    for (u32 i = 0; i < bytes; ++i) v |= u32{p[i]} << (8 * i);
    return v;
  }
  bool guards_intact() const {
    for (usize i = 0; i < kGuardBytes; ++i) {
      if (mem[i] != kGuard || mem[mem.size() - 1 - i] != kGuard) return false;
    }
    return true;
  }
  bool padding_intact() const {
    for (usize y = 0; y < g.height; ++y) {
      for (usize x = usize{g.width} * bytes; x < g.pitch; ++x) {
        if (g.base[y * g.pitch + x] != kPadding) return false;
      }
    }
    return true;
  }
  bool untouched() const {
    HostFb fresh(g.width, g.height, g.bpp, g.pitch);
    return fresh.mem == mem;
  }

  FbInfo g;
  u32 bytes;
  std::vector<u8> mem;
};

// Whether text cell (col, row) of fb shows c in the console's colours.
::testing::AssertionResult shows(const HostFb& fb, const FbText& t, u32 col, u32 row, char c,
                                 u32 fg, u32 bg) {
  const u32 s = t.scale();
  const u8* rows = glyph(c);
  for (u32 y = 0; y < kFontHeight * s; ++y) {
    for (u32 x = 0; x < kFontWidth * s; ++x) {
      const bool on = (rows[y / s] << (x / s)) & 0x80;
      const u32 want = on ? fg : bg;
      const u32 got = fb.pixel(col * kFontWidth * s + x, row * kFontHeight * s + y);
      if (got != want) {
        return ::testing::AssertionFailure()
               << "cell (" << col << "," << row << ") '" << c << "' pixel (" << x << "," << y
               << "): got 0x" << std::hex << got << " want 0x" << want;
      }
    }
  }
  return ::testing::AssertionSuccess();
}

void set_rgb(FbInfo& g, u8 rp, u8 rs, u8 gp, u8 gs, u8 bp, u8 bs) {
  g.red_pos = rp, g.red_size = rs, g.green_pos = gp, g.green_size = gs, g.blue_pos = bp,
  g.blue_size = bs;
}

TEST(FbText, GlyphPixelsMatchFontAt32Bpp) {
  HostFb fb(64, 32, 32);
  set_rgb(fb.g, 16, 8, 8, 8, 0, 8);
  FbText t(fb.g);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.scale(), 1u);
  EXPECT_EQ(t.columns(), 8u);
  EXPECT_EQ(t.rows(), 2u);
  t.set_colors(0x123456, 0x0A0B0C);
  t.clear();
  t.write("A@g");
  EXPECT_TRUE(shows(fb, t, 0, 0, 'A', 0x123456, 0x0A0B0C));
  EXPECT_TRUE(shows(fb, t, 1, 0, '@', 0x123456, 0x0A0B0C));
  EXPECT_TRUE(shows(fb, t, 2, 0, 'g', 0x123456, 0x0A0B0C));
  EXPECT_TRUE(shows(fb, t, 3, 0, ' ', 0x123456, 0x0A0B0C));
  EXPECT_TRUE(fb.guards_intact());
}

TEST(FbText, GlyphPixelsMatchFontAt16BppWithPaddedPitch) {
  HostFb fb(40, 20, 16, 40 * 2 + 6);
  FbText t(fb.g);  // all-zero fields: r5g6b5
  ASSERT_TRUE(t.ok());
  t.set_colors(0xFFFFFF, 0x000000);
  t.clear();
  t.write("%Q1l0");
  EXPECT_EQ(t.columns(), 5u);
  EXPECT_TRUE(shows(fb, t, 0, 0, '%', 0xFFFF, 0));
  EXPECT_TRUE(shows(fb, t, 1, 0, 'Q', 0xFFFF, 0));
  EXPECT_TRUE(shows(fb, t, 4, 0, '0', 0xFFFF, 0));
  EXPECT_EQ(t.row(), 0u);
  EXPECT_EQ(t.column(), 5u);  // wrap pending
  EXPECT_TRUE(fb.guards_intact());
  EXPECT_TRUE(fb.padding_intact());
}

TEST(FbText, GlyphPixelsMatchFontAt24BppWithOddPitch) {
  HostFb fb(20, 17, 24, 20 * 3 + 5);
  set_rgb(fb.g, 0, 8, 8, 8, 16, 8);  // BGR byte order reversed: red in the first byte
  FbText t(fb.g);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.bytes_per_pixel(), 3u);
  EXPECT_EQ(t.columns(), 2u);
  EXPECT_EQ(t.rows(), 1u);
  t.set_colors(0xC08040, 0x102030);
  t.clear();
  t.write("#&");
  EXPECT_TRUE(shows(fb, t, 0, 0, '#', 0x4080C0, 0x302010));
  EXPECT_TRUE(shows(fb, t, 1, 0, '&', 0x4080C0, 0x302010));
  // The margin column (x 16..19) and the row below the text (y 16) are background.
  for (u32 y = 0; y < 17; ++y) EXPECT_EQ(fb.pixel(19, y), 0x302010u);
  for (u32 x = 0; x < 20; ++x) EXPECT_EQ(fb.pixel(x, 16), 0x302010u);
  EXPECT_TRUE(fb.guards_intact());
  EXPECT_TRUE(fb.padding_intact());
}

TEST(FbText, ColourConversionFollowsFieldLayout) {
  HostFb rgb(16, 16, 32);
  set_rgb(rgb.g, 16, 8, 8, 8, 0, 8);
  EXPECT_EQ(FbText(rgb.g).pixel_value(0x123456), 0x123456u);

  HostFb bgr(16, 16, 32);
  set_rgb(bgr.g, 0, 8, 8, 8, 16, 8);
  EXPECT_EQ(FbText(bgr.g).pixel_value(0x123456), 0x563412u);

  HostFb r565(16, 16, 16);
  set_rgb(r565.g, 11, 5, 5, 6, 0, 5);
  FbText t565(r565.g);
  EXPECT_EQ(t565.pixel_value(0xFF0000), 0xF800u);
  EXPECT_EQ(t565.pixel_value(0x00FF00), 0x07E0u);
  EXPECT_EQ(t565.pixel_value(0x0000FF), 0x001Fu);
  EXPECT_EQ(t565.pixel_value(0xFFFFFF), 0xFFFFu);
  EXPECT_EQ(t565.pixel_value(0x808080), (16u << 11) | (32u << 5) | 16u);  // rounded

  HostFb x555(16, 16, 15);  // defaults: x1r5g5b5
  FbText t555(x555.g);
  ASSERT_TRUE(t555.ok());
  EXPECT_EQ(t555.pixel_value(0xFFFFFF), 0x7FFFu);
  EXPECT_EQ(t555.pixel_value(0x00FF00), 0x03E0u);

  HostFb wide(16, 16, 32);  // 10-bit channels (x2r10g10b10)
  set_rgb(wide.g, 20, 10, 10, 10, 0, 10);
  FbText t30(wide.g);
  ASSERT_TRUE(t30.ok());
  EXPECT_EQ(t30.pixel_value(0xFF0000), 0x3FFu << 20);
  EXPECT_EQ(t30.pixel_value(0x000000), 0u);
}

TEST(FbText, NewlineReturnTabAndWrap) {
  HostFb fb(80, 48, 32);  // 10 x 3
  FbText t(fb.g);
  ASSERT_TRUE(t.ok());
  t.set_colors(0xFFFFFF, 0);
  t.clear();
  t.write("ab\tc");
  EXPECT_EQ(t.column(), 9u);
  EXPECT_TRUE(shows(fb, t, 8, 0, 'c', 0xFFFFFF, 0));
  EXPECT_TRUE(shows(fb, t, 2, 0, ' ', 0xFFFFFF, 0));
  t.put('\t');  // from column 9 the next stop is past the end: stop at the end
  EXPECT_EQ(t.column(), 10u);
  EXPECT_EQ(t.row(), 0u);
  t.put('\t');  // a tab at a pending wrap goes to column 8 of the next line
  EXPECT_EQ(t.row(), 1u);
  EXPECT_EQ(t.column(), 8u);
  t.put('\r');
  EXPECT_EQ(t.column(), 0u);
  EXPECT_EQ(t.row(), 1u);
  t.put('Z');
  EXPECT_TRUE(shows(fb, t, 0, 1, 'Z', 0xFFFFFF, 0));
  t.put('\n');
  EXPECT_EQ(t.row(), 2u);
  EXPECT_EQ(t.column(), 0u);

  t.clear();
  t.write("0123456789");  // exactly one line: the wrap waits
  EXPECT_EQ(t.row(), 0u);
  t.put('\n');  // and a newline does not leave an empty line
  EXPECT_EQ(t.row(), 1u);
  EXPECT_EQ(t.column(), 0u);
  t.write("0123456789X");
  EXPECT_EQ(t.row(), 2u);
  EXPECT_EQ(t.column(), 1u);
  EXPECT_TRUE(shows(fb, t, 0, 2, 'X', 0xFFFFFF, 0));
  EXPECT_TRUE(shows(fb, t, 9, 1, '9', 0xFFFFFF, 0));
  EXPECT_TRUE(fb.guards_intact());
}

TEST(FbText, NonPrintableBytesDrawTheBox) {
  HostFb fb(32, 16, 32);
  FbText t(fb.g);
  t.set_colors(0xFFFFFF, 0);
  t.clear();
  t.write("\x01\x7f\xc3", 3);
  EXPECT_EQ(t.column(), 3u);
  const u8 box_first_row = kFontBox[3];
  EXPECT_NE(box_first_row, 0);
  for (u32 col = 0; col < 3; ++col) {
    for (u32 y = 0; y < kFontHeight; ++y) {
      for (u32 x = 0; x < kFontWidth; ++x) {
        const bool on = (kFontBox[y] << x) & 0x80;
        ASSERT_EQ(fb.pixel(col * 8 + x, y), on ? 0xFFFFFFu : 0u);
      }
    }
  }
}

TEST(FbText, ScrollMovesRowsUpAndClearsTheLast) {
  for (u8 bpp : {32, 24, 16}) {
    HostFb fb(40, 50, bpp, 40 * ((bpp + 7) / 8) + 4);  // 5 x 3, 2 spare pixel rows
    FbText t(fb.g);
    ASSERT_TRUE(t.ok());
    const u32 fg = t.pixel_value(0xFFFFFF), bg = t.pixel_value(0x203040);
    t.set_colors(0xFFFFFF, 0x203040);
    t.clear();
    t.write("A1\nB2\nC3");
    EXPECT_TRUE(shows(fb, t, 0, 0, 'A', fg, bg));
    t.write("\nD4");
    EXPECT_EQ(t.row(), 2u);
    EXPECT_TRUE(shows(fb, t, 0, 0, 'B', fg, bg)) << int{bpp};
    EXPECT_TRUE(shows(fb, t, 1, 0, '2', fg, bg)) << int{bpp};
    EXPECT_TRUE(shows(fb, t, 0, 1, 'C', fg, bg)) << int{bpp};
    EXPECT_TRUE(shows(fb, t, 1, 1, '3', fg, bg)) << int{bpp};
    EXPECT_TRUE(shows(fb, t, 0, 2, 'D', fg, bg)) << int{bpp};
    EXPECT_TRUE(shows(fb, t, 2, 2, ' ', fg, bg)) << int{bpp};
    t.put('\n');  // the new last row is blank
    for (u32 col = 0; col < 5; ++col) EXPECT_TRUE(shows(fb, t, col, 2, ' ', fg, bg));
    EXPECT_TRUE(shows(fb, t, 0, 1, 'D', fg, bg));
    for (u32 y = 48; y < 50; ++y) {  // the spare rows below the text are untouched background
      for (u32 x = 0; x < 40; ++x) EXPECT_EQ(fb.pixel(x, y), bg);
    }
    EXPECT_TRUE(fb.guards_intact());
    EXPECT_TRUE(fb.padding_intact());
  }
}

// A scroll must not read the framebuffer (on real hardware a read of video memory costs
// microseconds, seconds per line on large modes): the text moves from the RAM copy. Pixels the
// framebuffer holds below a cell therefore never move up, and a cell whose character stays the
// same is not written at all.
TEST(FbText, ScrollingNeverReadsTheFramebufferAndSkipsUnchangedCells) {
  HostFb fb(40, 48, 32);  // 5 x 3
  FbText t(fb.g);
  ASSERT_TRUE(t.ok());
  t.clear();
  const u32 fg = t.pixel_value(FbText::kDefaultForeground), bg = t.pixel_value(0);
  t.write("ab\ncd\nef");
  // Poison one pixel of a cell in row 1 that changes on a scroll ('c' -> 'e') and one of a blank
  // cell that stays blank (col 4).
  const u32 poison = 0x00C0FFEE;
  auto poke = [&](u32 x, u32 y) {
    u8* p = fb.g.base + usize{y} * fb.g.pitch + usize{x} * 4;
    for (int i = 0; i < 4; ++i) p[i] = static_cast<u8>(poison >> (8 * i));
  };
  poke(0 * 8 + 1, 1 * 16 + 1);
  poke(4 * 8 + 1, 1 * 16 + 1);
  poke(4 * 8 + 1, 2 * 16 + 1);  // below it, in row 2: a read-back scroll would move this up
  t.put('\n');
  EXPECT_TRUE(shows(fb, t, 0, 0, 'c', fg, bg));
  EXPECT_TRUE(shows(fb, t, 0, 1, 'e', fg, bg));        // redrawn whole: the poison is gone
  EXPECT_EQ(fb.pixel(4 * 8 + 1, 0 * 16 + 1), bg);      // nothing came up from below
  EXPECT_EQ(fb.pixel(4 * 8 + 1, 1 * 16 + 1), poison);  // blank before and after: not written
}

TEST(FbText, ManyScrollsLeaveWhatAFreshScreenWouldShow) {
  HostFb fb(64, 64, 32), fresh(64, 64, 32);  // 8 x 4
  FbText t(fb.g), f(fresh.g);
  t.clear();
  f.clear();
  std::mt19937 rng(7);
  std::vector<std::string> lines;
  for (int i = 0; i < 200; ++i) {
    std::string line(rng() % 9, 'x');
    for (char& c : line) c = static_cast<char>('!' + rng() % 90);
    lines.push_back(line);
    t.write(line.data(), line.size());
    t.put('\n');
  }
  // The last three lines on rows 0..2, row 3 blank: draw exactly that on a fresh screen.
  for (usize i = lines.size() - 3; i < lines.size(); ++i) {
    f.write(lines[i].data(), lines[i].size());
    f.put('\n');
  }
  EXPECT_EQ(fb.mem, fresh.mem);
}

TEST(FbText, AScreenWithTooManyCellsForTheGridGetsALargerScale) {
  HostFb fb(8 * 300, 16 * 200, 32);  // 60000 cells at scale 1
  FbText t(fb.g, 1);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.scale(), 2u);
  EXPECT_LE(t.columns() * t.rows(), FbText::kMaxCells);
}

TEST(FbText, WrapAtTheBottomScrolls) {
  HostFb fb(24, 32, 32);  // 3 x 2
  FbText t(fb.g);
  t.set_colors(0xFFFFFF, 0);
  t.clear();
  t.write("abcdefg");
  EXPECT_EQ(t.row(), 1u);
  EXPECT_EQ(t.column(), 1u);
  EXPECT_TRUE(shows(fb, t, 0, 0, 'd', 0xFFFFFF, 0));
  EXPECT_TRUE(shows(fb, t, 2, 0, 'f', 0xFFFFFF, 0));
  EXPECT_TRUE(shows(fb, t, 0, 1, 'g', 0xFFFFFF, 0));
  EXPECT_TRUE(shows(fb, t, 1, 1, ' ', 0xFFFFFF, 0));
}

TEST(FbText, HiDpiScreensGetDoubleSizeGlyphs) {
  HostFb fb(1600, 64, 32);
  FbText t(fb.g);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.scale(), 2u);
  EXPECT_EQ(t.columns(), 100u);
  EXPECT_EQ(t.rows(), 2u);
  t.set_colors(0xFFFFFF, 0);
  t.clear();
  t.write("W\nx");
  EXPECT_TRUE(shows(fb, t, 0, 0, 'W', 0xFFFFFF, 0));
  EXPECT_TRUE(shows(fb, t, 0, 1, 'x', 0xFFFFFF, 0));
  t.put('\n');  // scroll at scale 2
  EXPECT_TRUE(shows(fb, t, 0, 0, 'x', 0xFFFFFF, 0));
  EXPECT_TRUE(shows(fb, t, 0, 1, ' ', 0xFFFFFF, 0));
  EXPECT_TRUE(fb.guards_intact());

  HostFb narrow(1599, 64, 32);
  EXPECT_EQ(FbText(narrow.g).scale(), 1u);
  HostFb low(1600, 31, 32);  // too short for a double-size glyph: stays at 1
  EXPECT_EQ(FbText(low.g).scale(), 1u);
  HostFb forced(64, 64, 32);
  EXPECT_EQ(FbText(forced.g, 4).columns(), 2u);
  EXPECT_FALSE(FbText(forced.g, 9).ok());
}

TEST(FbText, ClearPaintsEveryPixelButNotThePadding) {
  HostFb fb(13, 19, 32, 13 * 4 + 12);
  FbText t(fb.g);
  ASSERT_TRUE(t.ok());
  t.set_colors(0xFFFFFF, 0x445566);
  t.write("x");
  t.clear();
  EXPECT_EQ(t.column(), 0u);
  for (u32 y = 0; y < 19; ++y) {
    for (u32 x = 0; x < 13; ++x) ASSERT_EQ(fb.pixel(x, y), 0x445566u);
  }
  EXPECT_TRUE(fb.padding_intact());
  EXPECT_TRUE(fb.guards_intact());
}

void expect_refused(const HostFb& fb, const FbInfo& g) {
  HostFb copy = fb;  // write through the copy's buffer
  FbInfo cg = g;
  cg.base = g.base == nullptr ? nullptr : copy.g.base;
  FbText t(cg);
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(t.columns(), 0u);
  EXPECT_EQ(t.rows(), 0u);
  t.clear();
  t.write("hello\n\tworld\x01\n\n\n");
  t.set_colors(0xFFFFFF, 0xFFFFFF);
  t.clear();
  EXPECT_TRUE(copy.untouched());
}

TEST(FbText, InvalidFramebuffersAreRefusedAndNeverWritten) {
  {
    HostFb fb(7, 16, 32);  // narrower than one glyph
    expect_refused(fb, fb.g);
  }
  {
    HostFb fb(8, 15, 32);  // shorter than one glyph
    expect_refused(fb, fb.g);
  }
  for (u8 bpp : {0, 1, 4, 8, 12, 18, 31, 33, 64, 255}) {
    HostFb fb(64, 64, 32);
    FbInfo g = fb.g;
    g.bpp = bpp;
    expect_refused(fb, g);
  }
  {
    HostFb fb(64, 64, 32);
    FbInfo g = fb.g;
    g.pitch = 64 * 4 - 1;  // rows would overlap
    expect_refused(fb, g);
    g = fb.g;
    g.base = nullptr;
    expect_refused(fb, g);
    g = fb.g;
    set_rgb(g, 30, 8, 8, 8, 0, 8);  // red beyond the 32-bit pixel
    expect_refused(fb, g);
    g = fb.g;
    set_rgb(g, 0, 17, 17, 8, 25, 7);  // a field wider than 16 bits
    expect_refused(fb, g);
  }
  {
    HostFb fb(64, 64, 16);
    FbInfo g = fb.g;
    set_rgb(g, 11, 5, 5, 6, 12, 5);  // blue runs past bit 15
    expect_refused(fb, g);
  }
  {
    HostFb fb(64, 64, 24);
    FbInfo g = fb.g;
    set_rgb(g, 24, 8, 8, 8, 0, 8);  // red in a fourth byte a 24-bit pixel does not have
    expect_refused(fb, g);
  }
  FbText never;  // default-constructed: a no-op console
  EXPECT_FALSE(never.ok());
  never.write("x\n");
  never.clear();
}

TEST(FbText, OneGlyphScreenStaysInBounds) {
  HostFb fb(8, 16, 32);
  FbText t(fb.g);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.columns(), 1u);
  EXPECT_EQ(t.rows(), 1u);
  t.set_colors(0xFFFFFF, 0);
  t.clear();
  t.write("hello\n\tworld\r\n\x01!");
  EXPECT_TRUE(shows(fb, t, 0, 0, '!', 0xFFFFFF, 0));
  EXPECT_TRUE(fb.guards_intact());
}

// Random geometries (valid or not) and random text: nothing outside the rows' pixel bytes moves.
TEST(FbText, RandomGeometriesNeverWriteOutOfBounds) {
  std::mt19937 rng(2024);
  const u8 depths[] = {8, 15, 16, 24, 32, 0, 12};
  const char alphabet[] = "ab \t\n\r\x01\x7f\xff~0";
  for (int trial = 0; trial < 400; ++trial) {
    const u32 width = 1 + rng() % 90;
    const u32 height = 1 + rng() % 70;
    const u8 bpp = depths[rng() % 7];
    const u32 bytes = (bpp + 7u) / 8u;
    const u32 pitch = width * (bytes ? bytes : 1) + rng() % 9;
    HostFb fb(width, height, bpp, pitch);
    FbText t(fb.g, rng() % 4 == 0 ? 2 : 0);
    t.set_colors(rng() & 0xFFFFFF, rng() & 0xFFFFFF);
    t.clear();
    std::string text;
    for (int i = 0; i < 300; ++i) text += alphabet[rng() % (sizeof alphabet - 1)];
    t.write(text.data(), text.size());
    ASSERT_TRUE(fb.guards_intact()) << width << "x" << height << " bpp " << int{bpp};
    ASSERT_TRUE(fb.padding_intact()) << width << "x" << height << " bpp " << int{bpp};
    if (t.ok()) {
      EXPECT_LE(t.columns() * 8 * t.scale(), width);
      EXPECT_LE(t.rows() * 16 * t.scale(), height);
      EXPECT_LT(t.row(), t.rows());
      EXPECT_LE(t.column(), t.columns());
    } else {
      EXPECT_TRUE(fb.untouched());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// VgaText

struct HostVga {
  HostVga(u32 columns, u32 rows, u32 pitch_cells = 0) {
    stride = pitch_cells ? pitch_cells : columns;
    cells.assign(16 + usize{stride} * rows + 16, 0xDEAD);
    cols = columns;
  }
  volatile u16* base() { return cells.data() + 16; }
  u16 at(u32 col, u32 row) const { return cells[16 + usize{row} * stride + col]; }
  bool guards_intact() const {
    for (usize i = 0; i < 16; ++i) {
      if (cells[i] != 0xDEAD || cells[cells.size() - 1 - i] != 0xDEAD) return false;
    }
    return true;
  }
  u32 stride, cols;
  std::vector<u16> cells;
};

u16 cell(char c, u8 attr = 0x07) { return static_cast<u16>(attr << 8 | static_cast<u8>(c)); }

TEST(VgaText, WritesCharactersWithTheAttribute) {
  HostVga vga(10, 3);
  VgaText t(vga.base(), 10, 3);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.attribute(), 0x07);
  t.clear();
  EXPECT_EQ(vga.at(9, 2), cell(' '));
  t.write("Hi");
  t.set_attribute(0x1E);  // yellow on blue
  t.put('!');
  EXPECT_EQ(vga.at(0, 0), cell('H'));
  EXPECT_EQ(vga.at(1, 0), cell('i'));
  EXPECT_EQ(vga.at(2, 0), cell('!', 0x1E));
  t.write("\x01\xff", 2);
  EXPECT_EQ(vga.at(3, 0), static_cast<u16>(0x1E00 | VgaText::kPlaceholder));
  EXPECT_EQ(vga.at(4, 0), static_cast<u16>(0x1E00 | VgaText::kPlaceholder));
  EXPECT_TRUE(vga.guards_intact());
}

TEST(VgaText, TabNewlineReturnAndWrap) {
  HostVga vga(10, 3);
  VgaText t(vga.base(), 10, 3);
  t.clear();
  t.write("a\tb");
  EXPECT_EQ(vga.at(8, 0), cell('b'));
  EXPECT_EQ(t.column(), 9u);
  t.write("c");  // fills the line; wrap pending
  EXPECT_EQ(t.row(), 0u);
  t.write("d");
  EXPECT_EQ(vga.at(0, 1), cell('d'));
  t.write("\rX");
  EXPECT_EQ(vga.at(0, 1), cell('X'));
  t.write("\nY");
  EXPECT_EQ(vga.at(0, 2), cell('Y'));
  EXPECT_EQ(t.row(), 2u);
  EXPECT_TRUE(vga.guards_intact());
}

TEST(VgaText, ScrollsWhenFull) {
  HostVga vga(4, 3, 6);  // pitch wider than the visible row: the 2 extra cells stay untouched
  VgaText t(vga.base(), 4, 3, 12);
  ASSERT_TRUE(t.ok());
  t.clear();
  t.write("row0\nrow1\nrow2");
  t.set_attribute(0x70);
  t.write("\nrow3");
  EXPECT_EQ(vga.at(0, 0), cell('r'));
  EXPECT_EQ(vga.at(3, 0), cell('1'));
  EXPECT_EQ(vga.at(3, 1), cell('2'));
  EXPECT_EQ(vga.at(3, 2), cell('3', 0x70));
  t.write("\n");
  for (u32 c = 0; c < 4; ++c) EXPECT_EQ(vga.at(c, 2), cell(' ', 0x70));  // cleared last row
  EXPECT_EQ(vga.at(3, 1), cell('3', 0x70));
  for (u32 r = 0; r < 3; ++r) {
    EXPECT_EQ(vga.at(4, r), 0xDEAD);
    EXPECT_EQ(vga.at(5, r), 0xDEAD);
  }
  EXPECT_TRUE(vga.guards_intact());
}

TEST(VgaText, InvalidScreensAreNoOps) {
  HostVga vga(4, 2);
  VgaText none(nullptr, 80, 25);
  EXPECT_FALSE(none.ok());
  none.write("x\n");
  none.clear();
  VgaText empty(vga.base(), 0, 2);
  EXPECT_FALSE(empty.ok());
  empty.write("abc");
  empty.clear();
  VgaText narrow(vga.base(), 4, 2, 6);  // pitch < columns * 2
  EXPECT_FALSE(narrow.ok());
  narrow.write("abc");
  VgaText odd(vga.base(), 4, 2, 9);
  EXPECT_FALSE(odd.ok());
  odd.write("abc");
  for (u16 c : vga.cells) EXPECT_EQ(c, 0xDEAD);
  VgaText defaulted;
  EXPECT_FALSE(defaulted.ok());
  defaulted.write("abc");
}

TEST(VgaText, ManyLinesStayInBounds) {
  HostVga vga(80, 25);
  VgaText t(vga.base(), 80, 25);
  t.clear();
  for (int i = 0; i < 200; ++i)
    t.write(
        "line of text that is long enough to wrap around the edge of "
        "an eighty column screen\tand a tab\n");
  EXPECT_TRUE(vga.guards_intact());
  EXPECT_EQ(t.row(), 24u);
  EXPECT_EQ(vga.at(0, 24), cell(' '));
  // The 83-character text wraps after 80: "een", then the tab to column 8.
  EXPECT_EQ(vga.at(0, 23), cell('e'));
  EXPECT_EQ(vga.at(3, 23), cell(' '));
  EXPECT_EQ(vga.at(8, 23), cell('a'));
}

}  // namespace
}  // namespace ptb
