#include "kernel/options.h"

#include "kernel/console.h"

namespace ptb {
namespace {

Options opts;

constexpr const char* kSuites[] = {"full", "quick", "selftest", "seeds"};
constexpr const char* kFaults[] = {"none", "ud", "pf", "gp", "de", "stack", "user-read"};
constexpr const char* kScreen[] = {"human", "all"};
u32 screen_choice = 0;

const cmdline::Option kOptions[] = {
    cmdline::make_choice(
        "suite", &opts.suite, kSuites,
        "what to run: the full suite, a quick run, the self-tests, or the seed experiments"),
    cmdline::make_string("bench", &opts.bench,
                         "comma-separated globs of variant names to run (e.g. cr3.*,invpcid.*)"),
    cmdline::make_unsigned("reps", &opts.reps, 1, 10000, "measured repetitions per variant"),
    cmdline::make_unsigned("unroll", &opts.unroll, 1, 256,
                           "copies of the body per loop iteration (U; the baseline runs 2U)"),
    cmdline::make_unsigned("iters", &opts.iters, 1, 1000000, "loop iterations per repetition"),
    cmdline::make_unsigned("warmup", &opts.warmup, 0, 1000,
                           "discarded repetitions before measuring"),
    cmdline::make_unsigned("refill_max", &opts.refill_max, 1, 4096,
                           "largest page count K of the tlb.refill curve"),
    cmdline::make_string(
        "touch", &opts.touch,
        "pages touched after each return by syscall.*.touch.K (comma-separated K)"),
    cmdline::make_unsigned("tsc_hz", &opts.tsc_hz, 0, u64{100'000'000'000},
                           "TSC frequency in Hz (0: detect)"),
    cmdline::make_choice("fault", &opts.fault, kFaults,
                         "provoke an exception after boot to test the fault report"),
    cmdline::make_choice("screen", &screen_choice, kScreen,
                         "also show the PTIBENCH machine lines on the screen (all) or not (human)"),
    cmdline::make_flag("help", &opts.help, "list these options"),
};
constexpr usize kOptionCount = sizeof(kOptions) / sizeof(kOptions[0]);

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

void parse_options(const char* line, usize len) {
  cmdline::parse(line, len, kOptions, kOptionCount, warn, nullptr);
  opts.screen_all = screen_choice == 1;
}

void print_options_help() {
  console::line("ptibench options (kernel command line, key=value):");
  cmdline::print_help(kOptions, kOptionCount, help_line, nullptr);
}

const char* suite_name(Suite s) { return kSuites[static_cast<u32>(s)]; }

}  // namespace ptb
