// The ptibench 8x16 bitmap console font (an original design; source in tools/font/glyphs.txt).
#pragma once

#include "lib/types.h"

namespace ptb {

inline constexpr u32 kFontWidth = 8;
inline constexpr u32 kFontHeight = 16;
inline constexpr u8 kFontFirst = 0x20;  // ' '
inline constexpr u8 kFontLast = 0x7E;   // '~'
inline constexpr u32 kFontGlyphs = kFontLast - kFontFirst + 1;

// kFont8x16[c - kFontFirst][row]: 16 rows top to bottom, bit 7 (MSB) = leftmost pixel.
extern const u8 kFont8x16[kFontGlyphs][kFontHeight];
// The hollow box drawn for every byte the font does not cover.
extern const u8 kFontBox[kFontHeight];

// The 16 rows of c's glyph; kFontBox for control bytes, DEL and bytes >= 0x80.
inline const u8* glyph(char c) {
  const u8 b = static_cast<u8>(c);
  return b >= kFontFirst && b <= kFontLast ? kFont8x16[b - kFontFirst] : kFontBox;
}

}  // namespace ptb
