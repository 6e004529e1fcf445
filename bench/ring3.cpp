#include "bench/ring3.h"

#include "kernel/run.h"

namespace ptb::bench {

usize ring3_rows(Variant*, usize) { return 0; }
Result measure_ring3(const Variant&, const Fixture&, const Params&, const x86::CpuInfo&) {
  return {Status::kFail, "ring-3 variants are not built yet", {}, 0};
}
void ring3_record_fields(TextBuf&, const Variant&) {}
void ring3_selftests() {}
void run_seed_experiments(SuiteContext&, Variant*, usize, const Fixture&) {}
void user_read_kernel() { run::fail("ring-3 drivers are not built yet"); }

}  // namespace ptb::bench
