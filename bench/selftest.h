// The self-tests that start every run (check records; a failure fails the run).
#pragma once

namespace ptb::bench {

void run_selftests();

}  // namespace ptb::bench
