// suite=seeds: the seed documents' two experiments, as result records and two tables. The tables'
// definition (which rows, in which order, under which labels) is kSeed000 and kSeed003 in
// bench/seeds.cpp; the report tool's `seeds` view defines the same tables in Python, and a test
// checks both renderings of one real log against each other.
#pragma once

#include "bench/measure.h"
#include "bench/output.h"
#include "bench/row.h"

namespace ptb::bench {

// Runs the rows the tables need (each printed and recorded as usual) and prints the tables.
void run_seed_experiments(const Row* rows, usize count, const Fixture& fx, const Params& p,
                          const x86::CpuInfo& cpu, const OutputContext& out);

}  // namespace ptb::bench
