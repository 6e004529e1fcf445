// Text formatting into fixed buffers: no allocation, never overflows, pure (host-tested).
#pragma once

#include "lib/types.h"

namespace ptb {

// A view of a caller-owned character buffer. Appends past the capacity are dropped and remembered
// (truncated()), and the text stays NUL-terminated.
class TextBuf {
 public:
  constexpr TextBuf(char* storage, usize capacity) : buf_(storage), cap_(capacity) {
    if (cap_ > 0) buf_[0] = '\0';
  }

  TextBuf& put(char c);
  TextBuf& put(const char* s);
  TextBuf& put(const char* s, usize n);
  TextBuf& put_u64(u64 v);
  TextBuf& put_i64(i64 v);
  // Hexadecimal, lower case, with "0x" when prefix is set, zero-padded to min_digits.
  TextBuf& put_hex(u64 v, int min_digits = 1, bool prefix = true);
  // Fixed-point decimal, rounded half away from zero; NaN and infinities print as 0.
  TextBuf& put_fixed(double v, int decimals);
  // Left-justify the text appended since `start` to `width` columns with spaces.
  TextBuf& pad_to(usize start, usize width);
  // A JSON string literal (quotes included); control and non-ASCII bytes are \u-escaped.
  TextBuf& put_json_string(const char* s);
  TextBuf& put_json_string(const char* s, usize n);

  const char* c_str() const { return cap_ ? buf_ : ""; }
  usize size() const { return len_; }
  bool truncated() const { return truncated_; }
  void clear() {
    len_ = 0;
    truncated_ = false;
    if (cap_) buf_[0] = '\0';
  }

 private:
  char* buf_;
  usize cap_;
  usize len_ = 0;
  bool truncated_ = false;
};

// A TextBuf that owns N bytes of storage (on the stack, typically).
template <usize N>
class Text : public TextBuf {
 public:
  Text() : TextBuf(storage_, N) {}
  Text(const Text&) = delete;
  Text& operator=(const Text&) = delete;

 private:
  char storage_[N];
};

// Small string helpers the freestanding kernel lacks.
usize str_len(const char* s);
bool str_eq(const char* a, const char* b);
bool str_eq(const char* a, usize a_len, const char* b);
// Shell-style glob with '*' and '?' over [s, s + n).
bool glob_match(const char* pattern, usize pattern_len, const char* s);

}  // namespace ptb
