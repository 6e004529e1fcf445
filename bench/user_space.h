// The ring-3 side of the benchmarks: a user address space (PML4 slot 255; see kernel/memory.h),
// the PTI user page tables, the ring-3 loops and one-way crossing drivers, and ring-3 reads for
// the isolation self-tests. Which page tables ring 3 runs on is the environment's (bench/env.h).
#pragma once

#include "arch/x86/page_table.h"
#include "arch/x86/pti.h"
#include "bench/measure.h"
#include "bench/row.h"

namespace ptb::bench {

// Maps the user pages and builds the PTI user tables (once; later calls return at once).
void setup_user_space();
const x86::PageTable& user_tables();
u64 user_code_address();
// Makes the kernel's and the PTI user tables' global mappings those of `g` (arch/x86/pti.h) and
// drops every cached translation; kNone is the suite's own state. The environment calls it
// (bench/env.h); nothing before setup_user_space.
void install_pti_globals(x86::PtiGlobals g);

Result measure_ring3_loop(const Row& row, const Params& p);
Result measure_crossing(const Row& row, const Params& p);

// Another ring-3 function (the address-space lab's, bench/aspace.cpp): `fn` copied to where the
// ring-3 loops go, with a context of one page in the user data pages (kernel view, user address).
struct UserFunction {
  u64 fn;
  u8* context;
  u64 context_va;
};
UserFunction install_user_function(const Template& fn);
// Runs it once in ring 3 (RDI = the context) in the current environment, until it returns.
void run_user_function(const UserFunction& f);

// Reads one byte at `target` from ring 3 in the current environment; returns whether it faulted,
// with the fault's error code and CR2.
struct UserReadFault {
  bool faulted;
  u64 error_code, cr2;
};
UserReadFault user_read(u64 target);
// The same without catching the fault (fault=user-read: the fault report takes it).
void user_read_unguarded(u64 target);

}  // namespace ptb::bench
