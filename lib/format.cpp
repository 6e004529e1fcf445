#include "lib/format.h"

namespace ptb {

TextBuf& TextBuf::put(char c) {
  if (len_ + 1 < cap_) {
    buf_[len_++] = c;
    buf_[len_] = '\0';
  } else {
    truncated_ = true;
  }
  return *this;
}

TextBuf& TextBuf::put(const char* s) {
  if (s == nullptr) return put("(null)");
  while (*s) put(*s++);
  return *this;
}

TextBuf& TextBuf::put(const char* s, usize n) {
  for (usize i = 0; i < n; ++i) put(s[i]);
  return *this;
}

TextBuf& TextBuf::put_u64(u64 v) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) put(digits[--n]);
  return *this;
}

TextBuf& TextBuf::put_i64(i64 v) {
  if (v < 0) {
    put('-');
    // Negate in unsigned arithmetic so that INT64_MIN prints correctly.
    return put_u64(~static_cast<u64>(v) + 1);
  }
  return put_u64(static_cast<u64>(v));
}

TextBuf& TextBuf::put_hex(u64 v, int min_digits, bool prefix) {
  if (prefix) put("0x");
  int digits = 1;
  while (digits < 16 && (v >> (4 * digits)) != 0) ++digits;
  if (digits < min_digits) digits = min_digits > 16 ? 16 : min_digits;
  for (int i = digits - 1; i >= 0; --i) put("0123456789abcdef"[(v >> (4 * i)) & 0xf]);
  return *this;
}

TextBuf& TextBuf::put_fixed(double v, int decimals) {
  if (decimals < 0) decimals = 0;
  if (decimals > 9) decimals = 9;
  if (v != v || v > 9.2e18 || v < -9.2e18) v = 0;  // NaN, or beyond what an i64 holds
  u64 scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  bool negative = v < 0;
  double magnitude = negative ? -v : v;
  // Round half away from zero on the scaled value. Beyond 2^53 the scaling itself is inexact,
  // but such values are never printed with decimals here.
  double scaled = magnitude * static_cast<double>(scale) + 0.5;
  u64 units = scaled >= 1.8e19 ? ~u64{0} : static_cast<u64>(scaled);
  if (negative && units != 0) put('-');
  put_u64(units / scale);
  if (decimals > 0) {
    put('.');
    u64 frac = units % scale;
    for (u64 div = scale / 10; div > 0; div /= 10) put(static_cast<char>('0' + (frac / div) % 10));
  }
  return *this;
}

TextBuf& TextBuf::pad_to(usize start, usize width) {
  while (len_ >= start && len_ - start < width && !truncated_) put(' ');
  return *this;
}

TextBuf& TextBuf::put_json_string(const char* s) { return put_json_string(s, s ? str_len(s) : 0); }

TextBuf& TextBuf::put_json_string(const char* s, usize n) {
  put('"');
  for (usize i = 0; i < n; ++i) {
    u8 c = static_cast<u8>(s[i]);
    if (c == '"' || c == '\\') {
      put('\\').put(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      // The contract promises ASCII-only lines: escape control and non-ASCII bytes alike.
      put("\\u").put_hex(c, 4, false);
    } else {
      put(static_cast<char>(c));
    }
  }
  return put('"');
}

usize str_len(const char* s) {
  usize n = 0;
  while (s[n]) ++n;
  return n;
}

bool str_eq(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

bool str_eq(const char* a, usize a_len, const char* b) {
  for (usize i = 0; i < a_len; ++i) {
    if (b[i] == '\0' || a[i] != b[i]) return false;
  }
  return b[a_len] == '\0';
}

bool glob_match(const char* p, usize pn, const char* s) {
  // Iterative matcher with one backtrack point for the last '*': linear enough for names.
  usize pi = 0;
  const char* star_s = nullptr;
  usize star_p = 0;
  bool have_star = false;
  while (*s) {
    // '*' first: in the pattern it is always the wildcard, even against a '*' in the text.
    if (pi < pn && p[pi] == '*') {
      have_star = true;
      star_p = ++pi;
      star_s = s;
    } else if (pi < pn && (p[pi] == '?' || p[pi] == *s)) {
      ++pi, ++s;
    } else if (have_star) {
      pi = star_p;
      s = ++star_s;
    } else {
      return false;
    }
  }
  while (pi < pn && p[pi] == '*') ++pi;
  return pi == pn;
}

}  // namespace ptb
