// The state of a run: what phase is executing (named in fault reports), the tally of results and
// self-tests, and the end of the run (summary record, exit ports, halt).
#pragma once

#include "lib/format.h"
#include "lib/types.h"

namespace ptb::run {

struct Tally {
  u32 ok = 0, skipped = 0, failed = 0, checks_ok = 0, checks_failed = 0;
  // Set by the benchmarks when the performance counters count: records whose retired
  // instructions differ from their declared count, and SMIs seen around the variants.
  bool exactness_checked = false;
  u32 inst_mismatches = 0;
  bool smis_counted = false;
  u64 smis = 0;
};
Tally& tally();

// "boot", "paging", "bench:cr3.read", ... Copied; shown in fault reports.
void set_phase(const char* phase, const char* detail = nullptr);
const char* phase();

// A self-test outcome: a human line and a `check` record.
void check(const char* name, bool ok, const char* detail);

// Prints the summary (human line and record), tells the emulators the verdict (QEMU's
// isa-debug-exit, then Bochs' shutdown port) and halts with the results left on screen.
[[noreturn]] void finish();
// An error that ends the run: a message, a failure counted, then finish().
[[noreturn]] void fail(const char* why);

}  // namespace ptb::run
