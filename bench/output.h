// The one module that writes the benchmarks' output: the result record and human line of every
// row, the end-of-run table (serial), the end-of-run screen summary and the seed tables. Every
// rendering is made from the same (row, result) pairs the records are made from.
#pragma once

#include "bench/measure.h"
#include "bench/row.h"

namespace ptb::bench {

struct OutputContext {
  u64 tsc_hz;
  bool bare_metal;
  bool raw_samples;  // samples=raw
  bool hypervisor;   // CPUID.01H:ECX[31]: records name the operations that may leave the guest
};

// The result record and the human line (wide on serial, fitted to the screen), and the tally.
void emit_result(const Row& row, const Result& r, const Params& p, const OutputContext& out);
// The end-of-run table of everything that ran (serial only: the screen gets the summary).
void print_table(const Row* rows, const Result* results, usize n, const OutputContext& out);
// After the table: "what this CPU keeps", one line per probed operation (non-global and global
// pages side by side), when probes ran (serial only).
void print_probe_table(const Row* rows, const Result* results, usize n);
// Then the screen alone: every result in columns sized to the screen.
void print_screen_summary(const Row* rows, const Result* results, usize n,
                          const OutputContext& out);

}  // namespace ptb::bench
