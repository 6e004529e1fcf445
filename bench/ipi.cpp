#include "bench/ipi.h"

#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"
#include "arch/x86/local_apic.h"
#include "kernel/smp.h"
#include "lib/atomic.h"
#include "lib/format.h"

namespace ptb::bench {
namespace {

// ipi.poll's mailbox: the request and the answer in cache lines of their own.
alignas(64) u64 poll_request;
alignas(64) u64 poll_answer;
[[maybe_unused]] alignas(64) u64 poll_end;  // nothing else shares the answer's line
constexpr u64 kStop = ~u64{0};

char reason_buf[120];

struct Exchange {
  const Params* params;
  u32 target_apic;
  u64 timeout;  // ticks
  u64 seq;
  bool timed_out;
  Result result;
};

// Spins until `answer` holds `seq` (bounded: smp::await).
bool await(const u64& answer, u64 seq, Exchange& x) {
  x.timed_out = !smp::await(x.timeout, [&] { return load_acquire(answer) == seq; });
  return !x.timed_out;
}

i64 ping_fixed(void* c) {
  auto& x = *static_cast<Exchange*>(c);
  if (x.timed_out) return 0;
  const u64 seq = ++x.seq;
  store_release(ipi_ping_request, seq);
  const x86::apic::Icr icr = x86::apic::Icr::fixed(x86::kVectorPing, x.target_apic);
  const u64 t0 = x86::rdtsc_ordered();
  x86::apic::send(icr);
  if (!await(ipi_ping_answer, seq, x)) return 0;
  return static_cast<i64>(x86::rdtsc_ordered() - t0);
}

i64 ping_poll(void* c) {
  auto& x = *static_cast<Exchange*>(c);
  if (x.timed_out) return 0;
  const u64 seq = ++x.seq;
  const u64 t0 = x86::rdtsc_ordered();
  store_release(poll_request, seq);
  if (!await(poll_answer, seq, x)) return 0;
  return static_cast<i64>(x86::rdtsc_ordered() - t0);
}

void pinger_fixed(void* c) {
  auto& x = *static_cast<Exchange*>(c);
  x.result = sample_repetitions(*x.params, 1, ping_fixed, &x);
}
void pinger_poll(void* c) {
  auto& x = *static_cast<Exchange*>(c);
  x.result = sample_repetitions(*x.params, 1, ping_poll, &x);
  store_release(poll_request, kStop);
}
// The target of ipi.poll: answers every new request until the pinger says stop.
void responder(void*) {
  u64 last = 0;
  for (;;) {
    const u64 v = load_acquire(poll_request);
    if (v == kStop) return;
    if (v != last) {
      store_release(poll_answer, v);
      last = v;
    }
    x86::pause();
  }
}

Result skip_or_fail(Status s, const char* a, u64 n, const char* b, u64 m, const char* c) {
  TextBuf t(reason_buf, sizeof(reason_buf));
  t.put(a).put_u64(n).put(b).put_u64(m).put(c);
  return {s, reason_buf};
}

}  // namespace

Result measure_ipi(const Row& row, const Params& p) {
  const u32 used = smp::used();
  if (used < 2)
    return skip_or_fail(Status::kSkip, "needs 2 CPUs; ", used, " used (of ", smp::summary().found,
                        " found)");
  if (row.source >= used || row.target >= used) {
    const u64 cpu = row.source >= used ? row.source : row.target;
    return skip_or_fail(Status::kSkip, "CPU ", cpu, " not used (", used, " used)");
  }
  Exchange x{&p, smp::apic_id(row.target), smp::ticks_for_ms(smp::kAnswerTimeoutMs), 0, false, {}};
  const u32 s = row.source, t = row.target;
  if (row.method == Method::kIpiFixed) {
    store_release(ipi_ping_request, u64{0});
    store_release(ipi_ping_answer, u64{0});
    smp::run_on(s, pinger_fixed, &x);  // the target waits halted and answers from its handler
  } else {
    store_release(poll_request, u64{0});
    store_release(poll_answer, u64{0});
    if (t != 0) smp::post(t, responder, nullptr);
    if (s != 0) smp::post(s, pinger_poll, &x);
    if (s == 0) pinger_poll(&x);
    if (t == 0) responder(nullptr);
    if (s != 0) smp::wait(s);
    if (t != 0) smp::wait(t);
  }
  if (x.timed_out)
    return skip_or_fail(Status::kFail, "CPU ", t, " did not answer within ", smp::kAnswerTimeoutMs,
                        " ms");
  return x.result;
}

}  // namespace ptb::bench
