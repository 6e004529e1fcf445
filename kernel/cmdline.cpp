#include "kernel/cmdline.h"

#include "lib/format.h"

namespace ptb::cmdline {
namespace {

// User text longer than this many characters (after escaping) is shortened with "..." in
// messages, which keeps every message well inside its Text<160>.
constexpr usize kShownChars = 48;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

struct Token {
  const char* text;  // the token as written
  usize len;
  const char* key;
  usize key_len;
  const char* value;  // quotes stripped; valid only when has_value
  usize value_len;
  bool has_value;
  bool unterminated_quote;  // a '"' opened and never closed: the token ran to the end of the line
};

// Finds the next token at or after `pos`; false at the end of the line. Double quotes protect
// separators, so `bench="a b"` is one token.
bool next_token(const char* line, usize len, usize& pos, Token& t) {
  while (pos < len && is_space(line[pos])) ++pos;
  if (pos >= len) return false;
  usize start = pos;
  bool quoted = false;
  while (pos < len && (quoted || !is_space(line[pos]))) {
    if (line[pos] == '"') quoted = !quoted;
    ++pos;
  }
  t = Token{};
  t.text = line + start;
  t.len = pos - start;
  t.unterminated_quote = quoted;
  t.key = t.text;
  usize eq = 0;
  while (eq < t.len && t.text[eq] != '=') ++eq;
  t.key_len = eq;
  if (eq < t.len) {
    t.has_value = true;
    t.value = t.text + eq + 1;
    t.value_len = t.len - eq - 1;
    if (t.value_len >= 2 && t.value[0] == '"' && t.value[t.value_len - 1] == '"') {
      ++t.value;
      t.value_len -= 2;
    }
  }
  return true;
}

bool same(const char* a, usize a_len, const char* b, usize b_len) {
  if (a_len != b_len) return false;
  for (usize i = 0; i < a_len; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// Appends user text so that a message stays printable ASCII and short: other bytes become \xNN.
void put_shown(TextBuf& m, const char* s, usize n) {
  usize chars = 0;
  for (usize i = 0; i < n; ++i) {
    u8 c = static_cast<u8>(s[i]);
    bool printable = c >= 0x20 && c < 0x7f;
    usize width = printable ? 1 : 4;
    if (chars + width > kShownChars) {
      m.put("...");
      return;
    }
    chars += width;
    if (printable) {
      m.put(static_cast<char>(c));
    } else {
      m.put("\\x").put_hex(c, 2, false);
    }
  }
}

// The destination's current value, as messages and help show it.
void put_value(TextBuf& m, const Option& o) {
  switch (o.kind) {
    case Kind::kFlag:
      m.put(*o.flag ? "on" : "off");
      return;
    case Kind::kUnsigned:
      m.put_u64(*o.number);
      return;
    case Kind::kString:
      m.put('\'');
      if (o.string->data != nullptr) put_shown(m, o.string->data, o.string->len);
      m.put('\'');
      return;
    case Kind::kChoice:
      if (*o.choice < o.choice_count && o.choices[*o.choice] != nullptr) {
        m.put(o.choices[*o.choice]);
      } else {
        m.put("#").put_u64(*o.choice);
      }
      return;
  }
}

void put_choices(TextBuf& m, const Option& o, const char* separator) {
  for (usize i = 0; i < o.choice_count; ++i) {
    if (i > 0) m.put(separator);
    m.put(o.choices[i]);
  }
}

bool has_destination(const Option& o) {
  switch (o.kind) {
    case Kind::kFlag:
      return o.flag != nullptr;
    case Kind::kUnsigned:
      return o.number != nullptr;
    case Kind::kString:
      return o.string != nullptr;
    case Kind::kChoice:
      return o.choice != nullptr && (o.choices != nullptr || o.choice_count == 0);
  }
  return false;
}

struct Parser {
  Sink warn;
  void* ctx;
  usize warnings = 0;

  void emit(const TextBuf& m) {
    ++warnings;
    if (warn != nullptr) warn(ctx, m.c_str());
  }

  // "<token>: <what>; keeping <current value>"
  void reject(const Token& t, const Option& o, const char* what, const char* what2 = nullptr) {
    Text<160> m;
    put_shown(m, t.text, t.len);
    m.put(": ").put(what);
    if (what2 != nullptr) m.put(what2);
    m.put("; keeping ");
    put_value(m, o);
    emit(m);
  }
};

enum class NumberError { kNone, kSyntax, kOverflow };

// Decimal or 0x hex, with an optional K/M/G (x1024^n) suffix. No sign, no spaces.
NumberError parse_number(const char* s, usize n, u64& out) {
  u64 base = 10;
  usize i = 0;
  if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    i = 2;
  }
  unsigned shift = 0;
  if (n > i) {
    switch (s[n - 1]) {
      case 'K':
      case 'k':
        shift = 10;
        break;
      case 'M':
      case 'm':
        shift = 20;
        break;
      case 'G':
      case 'g':
        shift = 30;
        break;
      default:
        break;
    }
    if (shift != 0) --n;
  }
  if (i >= n) return NumberError::kSyntax;
  u64 v = 0;
  bool overflow = false;
  for (; i < n; ++i) {
    char c = s[i];
    u64 d;
    if (c >= '0' && c <= '9') {
      d = static_cast<u64>(c - '0');
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      d = static_cast<u64>(c - 'a' + 10);
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      d = static_cast<u64>(c - 'A' + 10);
    } else {
      return NumberError::kSyntax;  // checked to the end, so "1x" is never called an overflow
    }
    if (v > (~u64{0} - d) / base) overflow = true;
    v = v * base + d;
  }
  if (overflow || v > (~u64{0} >> shift)) return NumberError::kOverflow;
  out = v << shift;
  return NumberError::kNone;
}

// Applies one token to its option; false (after warning) when the value was rejected.
bool apply(Parser& p, const Token& t, const Option& o) {
  switch (o.kind) {
    case Kind::kFlag: {
      if (!t.has_value) {
        *o.flag = true;
        return true;
      }
      static const char* const kOn[] = {"1", "yes", "on", "true"};
      static const char* const kOff[] = {"0", "no", "off", "false"};
      for (usize i = 0; i < 4; ++i) {
        bool on = str_eq(t.value, t.value_len, kOn[i]);
        if (on || str_eq(t.value, t.value_len, kOff[i])) {
          *o.flag = on;
          return true;
        }
      }
      p.reject(t, o, "expected one of 1, 0, yes, no, on, off, true, false");
      return false;
    }
    case Kind::kUnsigned: {
      if (!t.has_value) {
        p.reject(t, o, "needs a number");
        return false;
      }
      u64 v = 0;
      switch (parse_number(t.value, t.value_len, v)) {
        case NumberError::kSyntax:
          p.reject(t, o, "not a number");
          return false;
        case NumberError::kOverflow:
          p.reject(t, o, "too large for 64 bits");
          return false;
        case NumberError::kNone:
          break;
      }
      if (v < o.min || v > o.max) {
        Text<48> range;
        range.put_u64(o.min).put("..").put_u64(o.max);
        p.reject(t, o, "out of range ", range.c_str());
        return false;
      }
      *o.number = v;
      return true;
    }
    case Kind::kString:
      if (!t.has_value) {
        p.reject(t, o, "needs a value");
        return false;
      }
      *o.string = StringRef{t.value, t.value_len};
      return true;
    case Kind::kChoice: {
      if (t.has_value) {
        for (usize i = 0; i < o.choice_count; ++i) {
          if (o.choices[i] != nullptr && str_eq(t.value, t.value_len, o.choices[i])) {
            *o.choice = static_cast<u32>(i);
            return true;
          }
        }
      }
      Text<128> expected;
      expected.put("expected one of ");
      put_choices(expected, o, ", ");
      p.reject(t, o, expected.c_str());
      return false;
    }
  }
  return false;
}

const Option* find(const Option* options, usize count, const Token& t) {
  for (usize i = 0; i < count; ++i) {
    const char* name = options[i].name;
    if (name != nullptr && str_eq(t.key, t.key_len, name)) return &options[i];
  }
  return nullptr;
}

// Whether a token is wholly wrapped in one pair of double quotes. GRUB hands the kernel its
// arguments joined by spaces and wraps one that holds a space in double quotes (grub-core's
// grub_create_loader_cmdline), so `multiboot2 /boot/ptibench.elf 'bench=cr3.* reps=11'` arrives
// as `"bench=cr3.* reps=11"`: such a token's words are options of their own.
bool wholly_quoted(const Token& t) {
  return !t.unterminated_quote && t.len >= 2 && t.text[0] == '"' && t.text[t.len - 1] == '"';
}

// Walks the tokens that can name options (the leading kernel path excluded), looking inside
// wholly quoted tokens (one level: the quotes GRUB adds).
struct Walker {
  const char* line;
  usize len;
  usize pos = 0;
  bool first = true;
  const char* inner = nullptr;  // the inside of the wholly quoted token being walked
  usize inner_len = 0, inner_pos = 0;

  bool next(Token& t) {
    for (;;) {
      if (inner != nullptr) {
        if (next_token(inner, inner_len, inner_pos, t)) return true;
        inner = nullptr;
      }
      if (!next_token(line, len, pos, t)) return false;
      const bool was_first = first;
      first = false;
      const bool quoted = wholly_quoted(t);
      // The kernel path, quoted by GRUB when it holds a space.
      if (was_first && t.text[quoted ? 1 : 0] == '/') continue;
      if (!quoted) return true;
      inner = t.text + 1;
      inner_len = t.len - 2;
      inner_pos = 0;
    }
  }
};

}  // namespace

usize parse(const char* line, usize len, const Option* options, usize option_count, Sink warn,
            void* ctx) {
  Parser p{warn, ctx};
  if (line == nullptr) return 0;
  Walker w{line, len};
  Token t;
  while (w.next(t)) {
    if (t.unterminated_quote) {
      Text<160> m;
      m.put("unterminated quote in '");
      put_shown(m, t.text, t.len);
      m.put("' ignored");
      p.emit(m);
      continue;
    }
    if (t.key_len == 0) {
      Text<160> m;
      m.put("empty option name in '");
      put_shown(m, t.text, t.len);
      m.put("' ignored");
      p.emit(m);
      continue;
    }
    const Option* o = find(options, option_count, t);
    if (o == nullptr) {
      Text<160> m;
      m.put("unknown option '");
      put_shown(m, t.text, t.len);
      m.put("' ignored (try 'help')");
      p.emit(m);
      continue;
    }
    if (!has_destination(*o)) {
      Text<160> m;
      m.put("option '").put(o->name).put("' has no destination in the option table; ignored");
      p.emit(m);
      continue;
    }
    if (!apply(p, t, *o)) continue;

    // A repeated option is reported once, at its last (winning) occurrence.
    usize before = 0;
    bool later = false;
    const char* here = t.text;
    Walker again{line, len};
    Token u;
    while (again.next(u)) {
      if (u.unterminated_quote || !same(u.key, u.key_len, t.key, t.key_len)) continue;
      if (u.text < here) ++before;
      if (u.text > here) later = true;
    }
    if (before > 0 && !later) {
      Text<160> m;
      m.put(o->name).put(" given ");
      if (before == 1) {
        m.put("twice");
      } else {
        m.put_u64(before + 1).put(" times");
      }
      m.put("; using the last value ");
      put_value(m, *o);
      p.emit(m);
    }
  }
  return p.warnings;
}

void print_help(const Option* options, usize option_count, Sink out, void* ctx) {
  if (out == nullptr) return;
  for (usize i = 0; i < option_count; ++i) {
    const Option& o = options[i];
    if (o.name == nullptr) continue;
    Text<256> m;
    m.put(o.name);
    switch (o.kind) {
      case Kind::kFlag:
        m.put("[=on|off]");
        break;
      case Kind::kUnsigned:
        m.put("=<").put_u64(o.min).put("..");
        if (o.max != ~u64{0}) m.put_u64(o.max);
        m.put('>');
        break;
      case Kind::kString:
        m.put("=<text>");
        break;
      case Kind::kChoice:
        m.put("=<");
        put_choices(m, o, "|");
        m.put('>');
        break;
    }
    if (has_destination(o)) {
      m.put(" (default ");
      put_value(m, o);
      m.put(')');
    }
    if (o.help != nullptr) m.put(": ").put(o.help);
    out(ctx, m.c_str());
  }
}

}  // namespace ptb::cmdline
