// The benchmark suite: the environment record, the self-tests, and one runner for every row of
// the variant table.
#pragma once

#include "arch/x86/cpu_features.h"
#include "arch/x86/cpu_state.h"
#include "kernel/acpi.h"
#include "kernel/calibration.h"
#include "lib/types.h"

namespace ptb::bench {

struct SuiteContext {
  const x86::CpuInfo& cpu;
  const char* boot;  // "bios" or "uefi"
  const char* cmdline;
  usize cmdline_len;
  const acpi::Tables& acpi;
  calibration::Verdict tsc;  // the TSC rate, its source and the cross-check (kernel/clock.h)
  x86::Lfence lfence;        // whether LFENCE is known to be dispatch-serialising
  bool bare_metal = true;
};

// Prints the environment (human lines and the env record).
void print_environment(SuiteContext& ctx);
// Provokes the fault= fault if one is asked for, runs the self-tests and then the variants the
// command line selects.
void run_suite(SuiteContext& ctx);

}  // namespace ptb::bench
