// The benchmark suite: the environment record, the self-tests, and one runner for every row of
// the variant table.
#pragma once

#include "arch/x86/cpu_features.h"
#include "lib/types.h"

namespace ptb::bench {

struct SuiteContext {
  const x86::CpuInfo& cpu;
  const char* boot;  // "bios" or "uefi"
  const char* cmdline;
  usize cmdline_len;
  const u8* rsdp;  // ACPI RSDP copy from the boot loader, or nullptr
  u64 tsc_hz = 0;
  const char* tsc_source = "unknown";
  bool bare_metal = true;
};

// Determines the TSC frequency and prints the environment (human lines and the env record).
void print_environment(SuiteContext& ctx);
// Provokes the fault= fault if one is asked for, runs the self-tests and then the variants the
// command line selects.
void run_suite(SuiteContext& ctx);

}  // namespace ptb::bench
