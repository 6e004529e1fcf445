#include "kernel/options.h"

#include "kernel/console.h"
#include "kernel/smp_plan.h"

namespace ptb {
namespace {

Options opts;

constexpr const char* kScreen[] = {"human", "all"};
u32 screen_choice = 0;

const cmdline::Option kOptions[] = {
    cmdline::make_unsigned("tsc_hz", &opts.tsc_hz, 0, u64{100'000'000'000},
                           "TSC frequency in Hz (0: detect)"),
    cmdline::make_unsigned("cpus", &opts.cpus, 0, smp::kMaxCpus,
                           "CPUs the SMP benchmarks use, the boot CPU included (0: all)"),
    cmdline::make_choice("screen", &screen_choice, kScreen,
                         "also show the PTIBENCH machine lines on the screen (all) or not (human)"),
    cmdline::make_flag("help", &opts.help, "list these options"),
};
constexpr usize kOwn = sizeof(kOptions) / sizeof(kOptions[0]);
constexpr usize kMaxOptions = 64;

// The caller's rows first (as `help` has always listed them), then the kernel's. Rows beyond
// kMaxOptions are said, not dropped silently (tests/boot/test_pti_and_faults.py lists them all).
usize combine(cmdline::Option* all, const cmdline::Option* extra, usize extra_count) {
  usize n = 0;
  for (usize i = 0; i < extra_count && n < kMaxOptions; ++i) all[n++] = extra[i];
  for (usize i = 0; i < kOwn && n < kMaxOptions; ++i) all[n++] = kOptions[i];
  if (extra_count + kOwn > n) {
    Text<120> t;
    t.put("warning: cmdline: ").put_u64(extra_count + kOwn - n);
    t.put(" option(s) beyond the table's ").put_u64(kMaxOptions).put(" ignored");
    console::line(t);
  }
  return n;
}

void warn(void*, const char* message) {
  Text<256> t;
  t.put("warning: cmdline: ").put(message);
  console::line(t);
}

void help_line(void*, const char* message) {
  Text<256> t;
  t.put("  ").put(message);
  console::line(t);
}

}  // namespace

const Options& options() { return opts; }

void parse_options(const char* line, usize len, const cmdline::Option* extra, usize extra_count) {
  cmdline::Option all[kMaxOptions];
  usize n = combine(all, extra, extra_count);
  cmdline::parse(line, len, all, n, warn, nullptr);
  opts.screen_all = screen_choice == 1;
}

void print_options_help(const cmdline::Option* extra, usize extra_count) {
  cmdline::Option all[kMaxOptions];
  usize n = combine(all, extra, extra_count);
  console::line("ptibench options (kernel command line, key=value):");
  cmdline::print_help(all, n, help_line, nullptr);
}

}  // namespace ptb
