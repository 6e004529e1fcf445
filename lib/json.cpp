#include "lib/json.h"

namespace ptb {

JsonRecord::JsonRecord(TextBuf& buf, const char* type) : t_(buf) {
  t_.clear();
  t_.put('{');
  str("type", type);
}

void JsonRecord::separate() {
  if (need_comma_) t_.put(',');
  need_comma_ = true;
}

void JsonRecord::key(const char* k) {
  separate();
  t_.put_json_string(k).put(':');
}

JsonRecord& JsonRecord::str(const char* k, const char* v) {
  key(k);
  t_.put_json_string(v ? v : "");
  return *this;
}

JsonRecord& JsonRecord::str(const char* k, const char* v, usize len) {
  key(k);
  t_.put_json_string(v ? v : "", v ? len : 0);
  return *this;
}

JsonRecord& JsonRecord::num(const char* k, u64 v) {
  key(k);
  t_.put_u64(v);
  return *this;
}

JsonRecord& JsonRecord::fixed(const char* k, double v, int decimals) {
  key(k);
  t_.put_fixed(v, decimals);
  return *this;
}

JsonRecord& JsonRecord::boolean(const char* k, bool v) {
  key(k);
  t_.put(v ? "true" : "false");
  return *this;
}

JsonRecord& JsonRecord::hex(const char* k, u64 v) {
  key(k);
  t_.put('"').put_hex(v).put('"');
  return *this;
}

JsonRecord& JsonRecord::begin_object(const char* k) {
  key(k);
  t_.put('{');
  need_comma_ = false;
  return *this;
}

JsonRecord& JsonRecord::end_object() {
  t_.put('}');
  need_comma_ = true;
  return *this;
}

JsonRecord& JsonRecord::begin_array(const char* k) {
  key(k);
  t_.put('[');
  need_comma_ = false;
  return *this;
}

JsonRecord& JsonRecord::item(u64 v) {
  separate();
  t_.put_u64(v);
  return *this;
}

JsonRecord& JsonRecord::item_fixed(double v, int decimals) {
  separate();
  t_.put_fixed(v, decimals);
  return *this;
}

JsonRecord& JsonRecord::end_array() {
  t_.put(']');
  need_comma_ = true;
  return *this;
}

const TextBuf& JsonRecord::finish() {
  t_.put('}');
  return t_;
}

}  // namespace ptb
