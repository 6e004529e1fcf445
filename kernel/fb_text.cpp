#include "kernel/fb_text.h"

#include "kernel/font.h"

namespace ptb {

// ---------------------------------------------------------------------------------------------
// VgaText

bool VgaText::init(volatile u16* cells, u32 columns, u32 rows, u32 pitch_bytes) {
  cells_ = nullptr;
  cols_ = rows_ = 0;
  reset_cursor();
  const u64 min_pitch = u64{columns} * 2;
  if (pitch_bytes == 0) pitch_bytes = static_cast<u32>(min_pitch);
  if (cells == nullptr || columns == 0 || rows == 0 || pitch_bytes < min_pitch ||
      pitch_bytes % 2 != 0) {
    return false;
  }
  cells_ = cells;
  stride_ = pitch_bytes / 2;
  cols_ = columns;
  rows_ = rows;
  return true;
}

void VgaText::draw_cell(u32 col, u32 row, char c) {
  const u8 b = static_cast<u8>(c);
  const u8 shown = b >= 0x20 && b <= 0x7E ? b : kPlaceholder;
  cells_[usize{row} * stride_ + col] = static_cast<u16>(attr_ << 8 | shown);
}

void VgaText::scroll_up() {
  for (usize r = 1; r < rows_; ++r) {
    volatile u16* dst = cells_ + (r - 1) * stride_;
    volatile const u16* src = cells_ + r * stride_;
    for (usize c = 0; c < cols_; ++c) dst[c] = src[c];
  }
  const u16 blank = static_cast<u16>(attr_ << 8 | ' ');
  volatile u16* last = cells_ + usize{rows_ - 1} * stride_;
  for (usize c = 0; c < cols_; ++c) last[c] = blank;
}

void VgaText::clear() {
  if (!ok()) return;
  const u16 blank = static_cast<u16>(attr_ << 8 | ' ');
  for (usize r = 0; r < rows_; ++r) {
    for (usize c = 0; c < cols_; ++c) cells_[r * stride_ + c] = blank;
  }
  reset_cursor();
}

// ---------------------------------------------------------------------------------------------
// FbText

namespace {

// Pixel stores of B bytes, little endian as the framebuffer expects. __builtin_memcpy of a fixed
// size compiles to one move and is alias-safe on a u8 buffer.
template <u32 B>
inline void store(u8* p, u32 px) {
  if constexpr (B == 4) {
    __builtin_memcpy(p, &px, 4);
  } else if constexpr (B == 2) {
    const u16 v = static_cast<u16>(px);
    __builtin_memcpy(p, &v, 2);
  } else {
    p[0] = static_cast<u8>(px);
    p[1] = static_cast<u8>(px >> 8);
    p[2] = static_cast<u8>(px >> 16);
  }
}

template <u32 B>
void draw_glyph(u8* p, usize pitch, u32 scale, const u8* rows, u32 fg, u32 bg) {
  for (u32 y = 0; y < kFontHeight; ++y) {
    const u32 bits = rows[y];
    for (u32 sy = 0; sy < scale; ++sy, p += pitch) {
      u8* q = p;
      for (u32 x = 0; x < kFontWidth; ++x) {
        const u32 px = (bits << x) & 0x80 ? fg : bg;
        for (u32 sx = 0; sx < scale; ++sx, q += B) store<B>(q, px);
      }
    }
  }
}

template <u32 B>
void fill_span(u8* p, usize pixels, u32 px) {
  for (usize i = 0; i < pixels; ++i, p += B) store<B>(p, px);
}

bool field_ok(u8 pos, u8 size, u32 pixel_bits) {
  return size <= 16 && u32{pos} + size <= pixel_bits;
}

}  // namespace

bool FbText::init(const FbInfo& g, u32 scale) {
  base_ = nullptr;
  cols_ = rows_ = 0;
  reset_cursor();

  u32 bytes = 0;
  u8 pos[3] = {g.red_pos, g.green_pos, g.blue_pos};
  u8 size[3] = {g.red_size, g.green_size, g.blue_size};
  const bool no_layout = (size[0] | size[1] | size[2] | pos[0] | pos[1] | pos[2]) == 0;
  auto layout = [&](u8 r, u8 rs, u8 gp, u8 gs, u8 b, u8 bs) {
    if (!no_layout) return;
    pos[0] = r, size[0] = rs, pos[1] = gp, size[1] = gs, pos[2] = b, size[2] = bs;
  };
  switch (g.bpp) {
    case 32:
      bytes = 4;
      layout(16, 8, 8, 8, 0, 8);
      break;
    case 24:
      bytes = 3;
      layout(16, 8, 8, 8, 0, 8);
      break;
    case 16:
      bytes = 2;
      layout(11, 5, 5, 6, 0, 5);
      break;
    case 15:
      bytes = 2;
      layout(10, 5, 5, 5, 0, 5);
      break;
    default:
      return false;  // 8 bpp is indexed colour; anything else is unknown
  }
  if (g.base == nullptr || g.width == 0 || g.height == 0) return false;
  if (u64{g.width} * bytes > g.pitch) return false;
  for (int i = 0; i < 3; ++i) {
    if (!field_ok(pos[i], size[i], bytes * 8)) return false;
  }
  const u64 span = u64{g.pitch} * g.height;
  if (reinterpret_cast<uintptr_t>(g.base) > UINTPTR_MAX - span) return false;

  if (scale == 0) {
    scale = g.width >= kHiDpiWidth && g.height >= 2 * kFontHeight ? 2 : 1;
  }
  if (scale > 8) return false;
  while (scale < 8 &&
         u64{g.width / (kFontWidth * scale)} * (g.height / (kFontHeight * scale)) > kMaxCells)
    ++scale;
  const u32 cols = g.width / (kFontWidth * scale);
  const u32 rows = g.height / (kFontHeight * scale);
  if (cols == 0 || rows == 0 || u64{cols} * rows > kMaxCells) return false;

  base_ = g.base;
  pitch_ = g.pitch;
  width_ = g.width;
  height_ = g.height;
  bytes_ = bytes;
  scale_ = scale;
  for (int i = 0; i < 3; ++i) {
    pos_[i] = pos[i];
    size_[i] = size[i];
  }
  cols_ = cols;
  rows_ = rows;
  // Nothing is known of the pixels until clear(): '\n' never reaches draw_cell, so every cell
  // is drawn the first time.
  for (usize i = 0; i < usize{cols_} * rows_; ++i) cells_[i] = kUnknownCell;
  set_colors(kDefaultForeground, kDefaultBackground);
  return true;
}

u32 FbText::pixel_value(u32 rgb) const {
  u32 px = 0;
  for (int i = 0; i < 3; ++i) {
    if (size_[i] == 0) continue;
    const u32 c8 = (rgb >> (16 - 8 * i)) & 0xFF;
    const u32 max = (u32{1} << size_[i]) - 1;
    px |= (c8 * max + 127) / 255 << pos_[i];  // round to nearest: 8-bit fields keep c8 exactly
  }
  return px;
}

void FbText::set_colors(u32 foreground_rgb, u32 background_rgb) {
  fg_ = pixel_value(foreground_rgb);
  bg_ = pixel_value(background_rgb);
}

void FbText::draw_cell(u32 col, u32 row, char c) {
  char& shown = cells_[usize{row} * cols_ + col];
  if (shown == c) return;  // the pixels already show it
  shown = c;
  render(col, row, c);
}

void FbText::render(u32 col, u32 row, char c) {
  const usize cell_w = usize{kFontWidth} * scale_;
  const usize cell_h = usize{kFontHeight} * scale_;
  u8* p = base_ + row * cell_h * pitch_ + col * cell_w * bytes_;
  const u8* rows = glyph(c);
  switch (bytes_) {
    case 4:
      draw_glyph<4>(p, pitch_, scale_, rows, fg_, bg_);
      break;
    case 3:
      draw_glyph<3>(p, pitch_, scale_, rows, fg_, bg_);
      break;
    default:
      draw_glyph<2>(p, pitch_, scale_, rows, fg_, bg_);
      break;
  }
}

void FbText::fill_rows(usize first_row, usize count, usize pixels, u32 px) {
  for (usize y = first_row; y < first_row + count; ++y) {
    u8* p = base_ + y * pitch_;
    switch (bytes_) {
      case 4:
        fill_span<4>(p, pixels, px);
        break;
      case 3:
        fill_span<3>(p, pixels, px);
        break;
      default:
        fill_span<2>(p, pixels, px);
        break;
    }
  }
}

void FbText::scroll_up() {
  // Every row takes the text of the one below, and the last is blanked; only cells whose
  // character changes are drawn again (most of a screen of short lines is blank either way).
  // The margins right of and below the text area stay as clear() left them.
  for (u32 row = 0; row < rows_; ++row) {
    for (u32 col = 0; col < cols_; ++col) {
      char next = row + 1 < rows_ ? cells_[usize{row + 1} * cols_ + col] : ' ';
      if (next == kUnknownCell) next = ' ';
      draw_cell(col, row, next);
    }
  }
}

void FbText::clear() {
  if (!ok()) return;
  fill_rows(0, height_, width_, bg_);
  for (usize i = 0; i < usize{cols_} * rows_; ++i) cells_[i] = ' ';
  reset_cursor();
}

}  // namespace ptb
