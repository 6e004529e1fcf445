// The kernel's own command-line options (the benchmarks' are bench/options.h). Parsed once in
// kmain, with the benchmark table beside them so that one pass warns about unknown keys.
#pragma once

#include "kernel/cmdline.h"
#include "lib/types.h"

namespace ptb {

struct Options {
  u64 tsc_hz = 0;
  u64 cpus = 0;  // how many CPUs the benchmarks use, the boot CPU included (0: all that start)
  bool help = false;
  bool screen_all = false;
};

const Options& options();
// Parses the command line with the kernel's options and `extra` (another layer's table); every
// warning is printed as "warning: cmdline: ...".
void parse_options(const char* line, usize len, const cmdline::Option* extra, usize extra_count);
void print_options_help(const cmdline::Option* extra, usize extra_count);

}  // namespace ptb
