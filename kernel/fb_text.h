// Screen text consoles: the VGA text buffer and a linear framebuffer. Pure: they only write into
// the memory the caller hands them (so they are host-tested against plain buffers).
#pragma once

#include "lib/types.h"

namespace ptb {

// The cursor rules both consoles share. Screen provides draw_cell(col, row, c) and scroll_up()
// (move every text row up by one and blank the last).
//  - printable bytes are drawn at the cursor, which then advances; a byte arriving when the cursor
//    stands past the last column first wraps to the next line (so a line of exactly `columns`
//    characters followed by '\n' leaves no empty line);
//  - '\n' goes to column 0 of the next line, '\r' to column 0 of the same line;
//  - '\t' writes spaces up to the next multiple of 8 (at most to the end of the line);
//  - any other byte (control, DEL, >= 0x80) is drawn as a placeholder box;
//  - going below the last row scrolls everything up one row.
template <class Screen>
class TextCursor {
 public:
  void put(char c) {
    if (cols_ == 0 || rows_ == 0) return;  // not ok(): every write is a no-op
    switch (c) {
      case '\n':
        col_ = 0;
        line_feed();
        return;
      case '\r':
        col_ = 0;
        return;
      case '\t': {
        wrap_if_full();
        u32 stop = (col_ / 8 + 1) * 8;
        if (stop > cols_) stop = cols_;
        while (col_ < stop) screen().draw_cell(col_++, row_, ' ');
        return;
      }
      default:
        wrap_if_full();
        screen().draw_cell(col_++, row_, c);
        return;
    }
  }
  void write(const char* s, usize n) {
    for (usize i = 0; i < n; ++i) put(s[i]);
  }
  void write(const char* s) {
    while (s != nullptr && *s != '\0') put(*s++);
  }

  u32 columns() const { return cols_; }  // 0 when not ok()
  u32 rows() const { return rows_; }
  u32 column() const { return col_; }  // the cursor; == columns() while a wrap is pending
  u32 row() const { return row_; }

 protected:
  void reset_cursor() { col_ = row_ = 0; }

  u32 cols_ = 0, rows_ = 0;
  u32 col_ = 0, row_ = 0;

 private:
  Screen& screen() { return static_cast<Screen&>(*this); }
  void wrap_if_full() {
    if (col_ < cols_) return;
    col_ = 0;
    line_feed();
  }
  void line_feed() {
    if (row_ + 1 < rows_) {
      ++row_;
    } else {
      screen().scroll_up();
    }
  }
};

// The BIOS/EGA text screen: 16-bit cells, character (code page 437) in the low byte, attribute
// (background << 4 | foreground) in the high byte.
class VgaText : public TextCursor<VgaText> {
 public:
  static constexpr u8 kDefaultAttribute = 0x07;  // light grey on black
  static constexpr u8 kPlaceholder = 0xFE;       // CP437 '■' for bytes outside printable ASCII

  constexpr VgaText() = default;
  // cells: the screen (0xB8000, or the multiboot2 framebuffer tag of type 2); columns x rows
  // characters; pitch_bytes between rows (0 = columns * 2). Does not touch the screen.
  VgaText(volatile u16* cells, u32 columns, u32 rows, u32 pitch_bytes = 0) {
    init(cells, columns, rows, pitch_bytes);
  }
  // Returns ok(). Refused (all writes no-ops): null cells, zero size, pitch < columns * 2.
  bool init(volatile u16* cells, u32 columns, u32 rows, u32 pitch_bytes = 0);
  bool ok() const { return cells_ != nullptr; }

  void set_attribute(u8 attribute) { attr_ = attribute; }
  u8 attribute() const { return attr_; }
  // Blanks the whole screen with the current attribute; cursor to the top left.
  void clear();

 private:
  friend class TextCursor<VgaText>;
  void draw_cell(u32 col, u32 row, char c);
  void scroll_up();

  volatile u16* cells_ = nullptr;
  u32 stride_ = 0;  // cells per row
  u8 attr_ = kDefaultAttribute;
};

// A linear framebuffer as the multiboot2 framebuffer tag (type 1, RGB) describes it.
struct FbInfo {
  u8* base = nullptr;  // the first pixel, mapped writable
  u32 pitch = 0;       // bytes per row (may exceed width * bytes per pixel)
  u32 width = 0;       // pixels
  u32 height = 0;      // pixels
  u8 bpp = 0;          // 15, 16, 24 or 32; anything else is refused
  // Bit position and width of each colour field in a pixel. All six zero = the usual layout
  // for bpp (x8r8g8b8 / r8g8b8 / r5g6b5 / x1r5g5b5).
  u8 red_pos = 0, red_size = 0, green_pos = 0, green_size = 0, blue_pos = 0, blue_size = 0;
};

// Text on a linear framebuffer with the 8x16 font (kernel/font.h), each glyph pixel drawn as a
// scale x scale square. Never writes outside [base, base + pitch * height), and only inside the
// first width * bytes-per-pixel bytes of each row. Never reads the framebuffer: the characters on
// screen are kept in RAM (a read of video memory can cost microseconds), and a scroll redraws
// only the cells whose character changes.
class FbText : public TextCursor<FbText> {
 public:
  static constexpr u32 kDefaultForeground = 0xAAAAAA;  // VGA light grey
  static constexpr u32 kDefaultBackground = 0x000000;
  static constexpr u32 kHiDpiWidth = 1600;  // from this width on, automatic scale is 2
  // The character grid kept in RAM; a screen with more cells gets the next larger scale.
  static constexpr u32 kMaxCells = 256 * 128;

  constexpr FbText() = default;
  explicit FbText(const FbInfo& g, u32 scale = 0) { init(g, scale); }
  // Validates g and computes the text grid; does not touch the screen (call clear()). scale 0
  // picks 2 when width >= kHiDpiWidth (and the screen still holds a glyph), else 1; 1..8 force
  // it; either grows until the grid has at most kMaxCells cells. Returns ok(). Refused (all
  // writes no-ops): null base, bpp not 15/16/24/32, pitch <
  // width * bytes per pixel, a colour field beyond the pixel or wider than 16 bits, a screen
  // smaller than one glyph, a buffer that would wrap the address space.
  bool init(const FbInfo& g, u32 scale = 0);
  bool ok() const { return base_ != nullptr; }

  // 24-bit 0xRRGGBB colours, converted to the pixel format once here. Affects later drawing
  // (a cell that already shows a character keeps its colours when the same character is
  // written again).
  void set_colors(u32 foreground_rgb, u32 background_rgb);
  // Fills all width x height pixels with the background; cursor to the top left.
  void clear();

  u32 scale() const { return scale_; }
  u32 bytes_per_pixel() const { return bytes_; }
  // 0xRRGGBB in this framebuffer's pixel format (each channel rounded to its field width).
  u32 pixel_value(u32 rgb) const;

 private:
  friend class TextCursor<FbText>;
  void draw_cell(u32 col, u32 row, char c);
  void scroll_up();
  void fill_rows(usize first_row, usize count, usize row_bytes, u32 pixel);
  void render(u32 col, u32 row, char c);

  u8* base_ = nullptr;
  usize pitch_ = 0;
  u32 width_ = 0, height_ = 0;
  u32 bytes_ = 0;  // per pixel: 2, 3 or 4
  u32 scale_ = 1;
  u8 pos_[3] = {0, 0, 0}, size_[3] = {0, 0, 0};  // red, green, blue
  u32 fg_ = 0, bg_ = 0;                          // pixel values
  static constexpr char kUnknownCell = '\n';
  char cells_[kMaxCells] = {};  // what each cell shows, row by row (kUnknownCell before clear())
};

}  // namespace ptb
