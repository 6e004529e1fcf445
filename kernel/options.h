// The kernel command line's options (`help` lists them). Parsed once in kmain; read everywhere.
#pragma once

#include "kernel/cmdline.h"
#include "lib/types.h"

namespace ptb {

enum class Suite : u32 { kFull, kQuick, kSelftest, kSeeds };
enum class FaultKind : u32 { kNone, kUd, kPf, kGp, kDe, kStack, kUserRead };

struct Options {
  u32 suite = static_cast<u32>(Suite::kFull);
  cmdline::StringRef bench{"*", 1};
  u64 reps = 31;
  u64 unroll = 16;
  u64 iters = 8;
  u64 warmup = 4;
  u64 refill_max = 1024;
  cmdline::StringRef touch{"1,8,64", 6};
  u64 tsc_hz = 0;
  u32 fault = static_cast<u32>(FaultKind::kNone);
  bool help = false;
  bool screen_all = false;

  Suite suite_kind() const { return static_cast<Suite>(suite); }
  FaultKind fault_kind() const { return static_cast<FaultKind>(fault); }
};

const Options& options();
// Parses the command line; every warning is printed as "warning: cmdline: ...".
void parse_options(const char* line, usize len);
void print_options_help();
const char* suite_name(Suite s);

}  // namespace ptb
