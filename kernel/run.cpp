#include "kernel/run.h"

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_setup.h"
#include "kernel/console.h"
#include "kernel/platform.h"
#include "kernel/smp.h"
#include "lib/json.h"

namespace ptb::run {
namespace {
Tally the_tally;
char phase_buf[96] = "boot";
constexpr u16 kQemuDebugExit = 0xf4;
constexpr u16 kBochsShutdown = 0x8900;
}  // namespace

Tally& tally() { return the_tally; }

void set_phase(const char* phase, const char* detail) {
  TextBuf t(phase_buf, sizeof(phase_buf));
  t.put(phase);
  if (detail) t.put(':').put(detail);
}

const char* phase() { return phase_buf; }

void check(const char* name, bool ok, const char* detail) {
  (ok ? the_tally.checks_ok : the_tally.checks_failed)++;
  Text<256> h;
  h.put("check ").put(name).put(": ").put(ok ? "ok" : "FAILED").put(" - ").put(detail);
  console::line(h);
  Text<512> buf;
  JsonRecord j(buf, "check");
  j.str("name", name).str("status", ok ? "ok" : "fail").str("detail", detail);
  console::record(j.finish());
}

void finish() {
  const Tally& t = the_tally;
  bool pass = t.failed == 0 && t.checks_failed == 0;
  Text<320> h;
  h.put("ptibench: ").put_u64(t.ok).put(" ok, ").put_u64(t.skipped).put(" skipped, ");
  h.put_u64(t.failed).put(" failed; checks ").put_u64(t.checks_ok).put(" ok, ");
  h.put_u64(t.checks_failed).put(" failed: ").put(pass ? "PASS" : "FAIL");
  const u64 nmis = smp::nmis();
  if (nmis) h.put(" (").put_u64(nmis).put(" NMIs survived)");
  if (t.smis) h.put(" (").put_u64(t.smis).put(" SMIs during the variants)");
  if (t.inst_mismatches)
    h.put(" (")
        .put_u64(t.inst_mismatches)
        .put(" records retire other instruction counts than declared)");
  console::line(h);
  Text<200> buf;
  JsonRecord j(buf, "summary");
  j.num("ok", t.ok).num("skipped", t.skipped).num("failed", t.failed);
  j.num("checks_failed", t.checks_failed).str("status", pass ? "pass" : "fail");
  j.num("nmis", nmis);
  if (t.smis_counted) j.num("smis", t.smis);
  if (t.exactness_checked) j.num("inst_mismatches", t.inst_mismatches);
  console::record(j.finish());
  console::drain();
  // The emulators' exit ports, only where the platform is known to be that emulator: on other
  // machines those ports may belong to real devices (kernel/platform.h).
  const platform::Kind where = platform::current();
  if (where == platform::Kind::kQemu) {
    // isa-debug-exit: QEMU exits with (value << 1) | 1, 1 for pass and 3 for fail.
    x86::outl(kQemuDebugExit, pass ? 0 : 1);
  } else if (where == platform::Kind::kBochs) {
    for (const char* s = "Shutdown"; *s; ++s) x86::outb(kBochsShutdown, static_cast<u8>(*s));
  }
  // Real hardware: keep the results on screen.
  for (;;) {
    x86::cli();
    x86::hlt();
  }
}

void fail(const char* why) {
  Text<256> h;
  h.put("ptibench: fatal: ").put(why);
  console::line(h);
  the_tally.failed++;
  finish();
}

}  // namespace ptb::run
