// The one JSON record builder: every PTIBENCH record (env, check, result, fault, summary, ...) is
// written through it, so every record is well-formed the same way. Builds into a caller's
// buffer; like TextBuf it never overflows (truncated() tells). Pure (host-tested).
#pragma once

#include "lib/format.h"
#include "lib/types.h"

namespace ptb {

class JsonRecord {
 public:
  // Starts {"type":"<type>" in `buf` (cleared first).
  JsonRecord(TextBuf& buf, const char* type);

  JsonRecord& str(const char* key, const char* value);
  JsonRecord& str(const char* key, const char* value, usize len);
  JsonRecord& num(const char* key, u64 value);
  JsonRecord& fixed(const char* key, double value, int decimals = 3);
  JsonRecord& boolean(const char* key, bool value);
  JsonRecord& hex(const char* key, u64 value);  // a string "0x..." (JSON has no 64-bit integers)

  // Nested objects and arrays of numbers.
  JsonRecord& begin_object(const char* key);
  JsonRecord& end_object();
  JsonRecord& begin_array(const char* key);
  JsonRecord& item(u64 value);
  JsonRecord& item_fixed(double value, int decimals = 3);
  JsonRecord& end_array();

  // Closes the record; the text is the buffer's.
  const TextBuf& finish();
  bool truncated() const { return t_.truncated(); }

 private:
  void key(const char* k);
  void separate();
  TextBuf& t_;
  bool need_comma_ = false;
};

}  // namespace ptb
