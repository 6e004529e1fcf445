// The self-tests every run starts with: the kernel's page tables, memory above 4 GiB, and PTI's
// isolation (what the user tables expose, and ring-3 reads of kernel data).
#include "bench/selftest.h"

#include "arch/x86/cpu_setup.h"
#include "arch/x86/page_table.h"
#include "arch/x86/pti.h"
#include "bench/env.h"
#include "bench/user_space.h"
#include "kernel/fault_report.h"
#include "kernel/memory.h"
#include "kernel/run.h"
#include "kernel/smp.h"
#include "kernel/smp_plan.h"

extern "C" char __text_start[], __data_start[], kernel_stack_guard[];
extern "C" [[noreturn]] void kmain(ptb::u32 magic, ptb::u64 info);

namespace ptb::bench {
namespace {

void check_kernel_tables() {
  const x86::PageTable& kt = memory::kernel_tables();
  x86::Translation null_page = kt.translate(0);
  x86::Translation text = kt.translate(reinterpret_cast<u64>(__text_start));
  x86::Translation data = kt.translate(reinterpret_cast<u64>(__data_start));
  x86::Translation guard = kt.translate(reinterpret_cast<u64>(kernel_stack_guard));
  bool nx = memory::nx_bit() != 0;
  bool ok = !null_page.present && text.present && !text.writable && !text.no_execute &&
            data.present && data.writable && (data.no_execute == nx) && !guard.present &&
            !text.user && !data.user;
  Text<200> d;
  d.put("null page ").put(null_page.present ? "MAPPED" : "unmapped");
  d.put(", text ")
      .put(text.writable ? "WRITABLE" : "read-only")
      .put(text.no_execute ? " NX" : " executable");
  d.put(", data ")
      .put(data.writable ? "writable" : "READ-ONLY")
      .put(data.no_execute ? " NX" : " executable");
  d.put(", stack guard ").put(guard.present ? "MAPPED" : "unmapped");
  run::check("paging.kernel", ok, d.c_str());
}

void check_high_memory() {
  // The allocator hands out the highest frames first: with RAM above 4 GiB, this frame is there.
  u64 f = memory::frames().alloc();
  if (f == 0) {
    run::check("memory.frames", false, "no free frame left");
    return;
  }
  volatile u64* p = reinterpret_cast<volatile u64*>(f);
  bool ok = true;
  for (u64 i = 0; i < 512; ++i) p[i] = f ^ (i * 0x9e37'79b9'7f4a'7c15);
  for (u64 i = 0; i < 512; ++i) ok = ok && p[i] == (f ^ (i * 0x9e37'79b9'7f4a'7c15));
  Text<160> d;
  d.put("highest free frame ")
      .put_hex(f)
      .put(f >= (u64{4} << 30) ? " (above 4 GiB)" : " (below 4 GiB)");
  d.put(ok ? " reads back what was written" : " does NOT read back");
  run::check("memory.frames", ok, d.c_str());
}

// The pages of [r.start, r.end) rounded out to whole pages, as the user tables map them.
u64 pages_of(const x86::Range& r) {
  return ((r.end + x86::kPage - 1) / x86::kPage) - (r.start / x86::kPage);
}

// Whether run `r` lies in AP `cpu`'s entry part (read-write data, like the boot CPU's).
bool in_ap_part(const x86::ExposedRun& r, u32 cpu) {
  const x86::Range a = smp::entry_part(cpu);
  return r.start >= (a.start & ~(x86::kPage - 1)) && r.end <= a.end + x86::kPage - 1 &&
         !r.executable && r.writable;
}

void check_user_tables() {
  constexpr usize kMaxRuns = 8 + smp::kMaxCpus;
  x86::ExposedRun runs[kMaxRuns];
  usize n = x86::kernel_pages_in(user_tables(), runs, kMaxRuns);
  x86::Range t = x86::entry_text(), ro = x86::entry_rodata(), d = x86::entry_data();
  const u32 cpus = smp::summary().started;
  bool ok = n <= kMaxRuns;
  u64 pages = 0;
  Text<700> detail;
  detail.put("user tables expose ");
  for (usize i = 0; i < n && i < kMaxRuns; ++i) {
    const x86::ExposedRun& r = runs[i];
    pages += (r.end - r.start) / x86::kPage;
    bool in_text = r.start >= t.start && r.end <= t.end && r.executable && !r.writable;
    bool in_ro = r.start >= ro.start && r.end <= ro.end && !r.executable && !r.writable;
    bool in_data = r.start >= d.start && r.end <= d.end && !r.executable && r.writable;
    bool in_ap = false;
    for (u32 c = 1; c < cpus && !in_ap; ++c) in_ap = in_ap_part(r, c);
    ok = ok && (in_text || in_ro || in_data || in_ap);
  }
  u64 expected_pages = (t.end - t.start + ro.end - ro.start + d.end - d.start) / x86::kPage;
  u64 ap_pages = 0;
  for (u32 c = 1; c < cpus; ++c) ap_pages += pages_of(smp::entry_part(c));
  ok = ok && pages == expected_pages + ap_pages;
  detail.put_u64(pages).put(" kernel pages (entry area: ").put_u64(expected_pages);
  if (cpus > 1) detail.put(", the APs' entry parts: ").put_u64(ap_pages);
  detail.put("):");
  for (usize i = 0; i < n && i < kMaxRuns; ++i) {
    detail.put(' ').put_hex(runs[i].start).put('-').put_hex(runs[i].end).put(' ');
    detail.put('r').put(runs[i].writable ? 'w' : '-').put(runs[i].executable ? 'x' : '-');
  }
  // The kernel proper must not be there: its text, its data, the stack.
  x86::Translation kt = user_tables().translate(reinterpret_cast<u64>(&kmain));
  x86::Translation kd = user_tables().translate(reinterpret_cast<u64>(__data_start));
  x86::Translation up = user_tables().translate(user_code_address());
  ok = ok && !kt.present && !kd.present && up.present && up.user;
  detail.put("; kernel text ").put(kt.present ? "MAPPED" : "absent").put(", kernel data ");
  detail.put(kd.present ? "MAPPED" : "absent")
      .put(", user code ")
      .put(up.present && up.user ? "mapped" : "MISSING");
  run::check("pti.user_tables", ok, detail.c_str());
}

// Each way of mapping the kernel under PTI (arch/x86/pti.h PtiGlobals) installs what Linux has:
// the entry area global in both tables unless 4.15's, the kernel text global and in the user
// tables only for PTI without PCID, the data never; and the suite's own state (nothing global)
// comes back. Reads the tables the CPU walks, as a row runs with them.
void check_pti_globals() {
  const x86::PageTable& kt = memory::kernel_tables();
  const u64 text = reinterpret_cast<u64>(&kmain), entry = x86::entry_text().start,
            percpu = x86::entry_data().start, data = reinterpret_cast<u64>(__data_start);
  bool ok = true;
  Text<400> d;
  constexpr x86::PtiGlobals kOrder[] = {x86::PtiGlobals::kEntry, x86::PtiGlobals::kEntryAndText,
                                        x86::PtiGlobals::kNone};
  for (x86::PtiGlobals g : kOrder) {
    install_pti_globals(g);
    const bool want_entry = g != x86::PtiGlobals::kNone,
               want_text = g == x86::PtiGlobals::kEntryAndText;
    const x86::Translation ke = kt.translate(entry), kp = kt.translate(percpu),
                           ktx = kt.translate(text), kd = kt.translate(data);
    const x86::Translation ue = user_tables().translate(entry),
                           up = user_tables().translate(percpu),
                           utx = user_tables().translate(text), ud = user_tables().translate(data);
    const bool good = ke.global == want_entry && kp.global == want_entry &&
                      ue.global == want_entry && up.global == want_entry &&
                      ktx.global == want_text && utx.present == want_text &&
                      (!want_text || utx.global) && !kd.global && !ud.present;
    ok = ok && good;
    d.put(x86::pti_globals_name(g)).put(good ? ": as Linux; " : ": NOT as Linux; ");
  }
  d.put("entry text, per-CPU area, kernel text, kernel data checked in both tables");
  run::check("pti.globals", ok, d.c_str());
}

// A ring-3 read of the kernel's data must fault from user mode: not-present under PTI (the user
// tables do not map it), a protection fault without (mapped, but supervisor-only).
void check_user_read(const char* name, x86::EntryScheme scheme) {
  const u64 target = reinterpret_cast<u64>(__data_start);
  const bool pti = scheme != x86::EntryScheme::kNone;
  UserReadFault f;
  {
    EnvScope env({.scheme = scheme});
    f = user_read(target);
  }
  const bool faulted = f.faulted;
  bool present = f.error_code & 1;
  bool ok = faulted && (f.error_code & 4) && present == !pti && f.cr2 == target;
  Text<300> d;
  if (faulted) {
    d.put("expected fault: ");
    explain_page_fault(d, f.error_code, f.cr2, pti);
  } else {
    d.put("a ring-3 read of ").put_hex(target).put(pti ? " under PTI" : " without PTI");
    d.put(" did NOT fault");
  }
  run::check(name, ok, d.c_str());
}

void check_user_reads() {
  check_user_read("pti.user_read_faults", x86::EntryScheme::kPti);
  check_user_read("nopti.user_read_faults", x86::EntryScheme::kNone);
}

}  // namespace

void run_selftests() {
  check_kernel_tables();
  check_high_memory();
  setup_user_space();
  check_user_tables();
  check_pti_globals();
  check_user_reads();
}

}  // namespace ptb::bench
