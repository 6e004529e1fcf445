// Kernel command-line options: generic machinery; the table of options belongs to the caller.
// Pure (host-tested), no allocation.
//
// The line comes from the boot loader, e.g. GRUB's
//   multiboot2 /boot/ptibench.elf suite=full reps=51 bench=cr3.*,invpcid.*
// A first token starting with '/' (the kernel path) is skipped silently. Tokens are separated by
// spaces, tabs, CR or LF; a token is `key=value` or a bare `key`. A value may be wrapped in double
// quotes (which may protect spaces); they are stripped. A token wholly wrapped in double quotes,
// as GRUB passes one argument that holds spaces (`"bench=cr3.* reps=11"`), is read as the
// options inside it.
#pragma once

#include "lib/types.h"

namespace ptb::cmdline {

enum class Kind : u8 {
  kFlag,      // bare `name`, or name=1|0|yes|no|on|off|true|false
  kUnsigned,  // decimal or 0x hex, optional K/M/G suffix (x1024^n), checked against [min, max]
  kString,    // any text; the destination points into the command line
  kChoice,    // exactly one of `choices` (case-sensitive); the destination gets its index
};

// A piece of the command line (not NUL-terminated).
struct StringRef {
  const char* data;
  usize len;
};

// One row of the caller's option table. Exactly one destination is set, matching `kind`; its
// current value is the default shown in messages and help. The make_* helpers below fill a row.
struct Option {
  const char* name;
  Kind kind;
  const char* help;
  u64 min, max;  // kUnsigned range (inclusive)
  const char* const* choices;
  usize choice_count;  // kChoice
  bool* flag;
  u64* number;
  StringRef* string;
  u32* choice;
};

constexpr Option make_flag(const char* name, bool* dest, const char* help) {
  return Option{name, Kind::kFlag, help, 0, 0, nullptr, 0, dest, nullptr, nullptr, nullptr};
}
constexpr Option make_unsigned(const char* name, u64* dest, u64 min, u64 max, const char* help) {
  return Option{name, Kind::kUnsigned, help, min, max, nullptr, 0, nullptr, dest, nullptr, nullptr};
}
constexpr Option make_string(const char* name, StringRef* dest, const char* help) {
  return Option{name, Kind::kString, help, 0, 0, nullptr, 0, nullptr, nullptr, dest, nullptr};
}
template <usize N>
constexpr Option make_choice(const char* name, u32* dest, const char* const (&choices)[N],
                             const char* help) {
  return Option{name, Kind::kChoice, help, 0, 0, choices, N, nullptr, nullptr, nullptr, dest};
}

// Receives one message per call, without a trailing newline. May be null (messages dropped).
using Sink = void (*)(void* ctx, const char* message);

// Applies every recognised option to its destination, left to right (a later value wins). For
// every problem calls `warn` with a message that names the option and the offending text and says
// what happens instead, e.g.
//   unknown option 'bogus=1' ignored (try 'help')
//   reps=abc: not a number; keeping 31
//   unroll=0: out of range 1..256; keeping 16
//   suite=fast: expected one of full, quick, selftest, seeds; keeping full
//   empty option name in '=x' ignored
//   reps given twice; using the last value 51
// Any byte sequence is accepted: non-printable bytes are shown as \xNN and long tokens are
// shortened with "..." in messages. `line` may be null when len is 0. Returns the warning count.
usize parse(const char* line, usize len, const Option* options, usize option_count, Sink warn,
            void* ctx);

// Writes one line per option through `out`:
//   name=<kind/range/choices> (default ...): help
void print_help(const Option* options, usize option_count, Sink out, void* ctx);

}  // namespace ptb::cmdline
