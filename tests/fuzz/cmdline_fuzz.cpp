// libFuzzer target: ptb::cmdline::parse and print_help over any bytes, with an option table
// shaped like the kernel's (kernel/options.cpp + bench/options.cpp: flags, unsigned ranges with
// K/M/G, strings, choices). Besides the sanitizers it checks what the header promises: every
// value lands in range or keeps its default, a string points into the line, messages are
// NUL-terminated text. tests/fuzz/fuzz.cmake builds it; docs/fuzzing.md says how to run it.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernel/cmdline.h"

using namespace ptb;

namespace {

constexpr const char* kSuites[] = {"full", "quick", "selftest", "seeds"};
constexpr const char* kFaults[] = {"none", "ud", "pf", "gp", "de", "stack", "user-read"};
constexpr const char* kSamples[] = {"summary", "raw"};
constexpr const char* kScreen[] = {"human", "all"};

struct Values {
  u32 suite = 0, fault = 0, samples = 0, screen = 0;
  u64 reps = 31, unroll = 16, iters = 1000, warmup = 5, refill_max = 512;
  u64 tsc_hz = 0;
  cmdline::StringRef bench{nullptr, 0}, touch{nullptr, 0};
  bool help = false;
};

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void sink(void* ctx, const char* message) {
  check(message != nullptr);
  usize n = strlen(message);  // NUL-terminated (ASan reports a read past the end)
  check(n < 4096);
  ++*static_cast<usize*>(ctx);
}

void check_range(u64 v, u64 def, u64 lo, u64 hi) { check(v == def || (v >= lo && v <= hi)); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size copy: a read one byte past the line is an ASan report.
  std::vector<char> line(data, data + size);
  const char* p = size ? line.data() : nullptr;

  Values v;
  const cmdline::Option options[] = {
      cmdline::make_choice("suite", &v.suite, kSuites, "what to run"),
      cmdline::make_string("bench", &v.bench, "globs of variant names"),
      cmdline::make_unsigned("reps", &v.reps, 1, 10000, "repetitions"),
      cmdline::make_unsigned("unroll", &v.unroll, 1, 256, "copies of the body"),
      cmdline::make_unsigned("iters", &v.iters, 1, 1000000, "loop iterations"),
      cmdline::make_unsigned("warmup", &v.warmup, 0, 1000, "discarded repetitions"),
      cmdline::make_unsigned("refill_max", &v.refill_max, 1, 4096, "largest K"),
      cmdline::make_string("touch", &v.touch, "pages touched"),
      cmdline::make_choice("samples", &v.samples, kSamples, "raw samples"),
      cmdline::make_choice("fault", &v.fault, kFaults, "provoke an exception"),
      cmdline::make_unsigned("tsc_hz", &v.tsc_hz, 0, u64{100'000'000'000}, "TSC frequency"),
      cmdline::make_choice("screen", &v.screen, kScreen, "machine lines on the screen"),
      cmdline::make_flag("help", &v.help, "list these options"),
  };
  constexpr usize kCount = sizeof(options) / sizeof(options[0]);

  usize messages = 0;
  usize warnings = cmdline::parse(p, size, options, kCount, sink, &messages);
  check(warnings == messages);
  // the same line again (values now set) and without a sink: the same count
  check(cmdline::parse(p, size, options, kCount, nullptr, nullptr) == warnings);

  check(v.suite < 4 && v.fault < 7 && v.samples < 2 && v.screen < 2);
  check_range(v.reps, 31, 1, 10000);
  check_range(v.unroll, 16, 1, 256);
  check_range(v.iters, 1000, 1, 1000000);
  check_range(v.warmup, 5, 0, 1000);
  check_range(v.refill_max, 512, 1, 4096);
  check_range(v.tsc_hz, 0, 0, u64{100'000'000'000});
  for (const cmdline::StringRef* s : {&v.bench, &v.touch}) {
    if (s->data != nullptr) {
      check(s->data >= line.data() && s->len <= size && s->data + s->len <= line.data() + size);
    } else {
      check(s->len == 0);
    }
  }

  usize help_lines = 0;
  cmdline::print_help(options, kCount, sink, &help_lines);
  check(help_lines == kCount);
  return 0;
}
