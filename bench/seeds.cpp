#include "bench/seeds.h"

#include "bench/runner.h"
#include "kernel/console.h"
#include "kernel/run.h"

namespace ptb::bench {
namespace {

// Seed 000: the null system call under each PTI scheme, and the loss against PTI off.
struct Seed000Row {
  const char* label;
  const char* name;
};
constexpr Seed000Row kSeed000[] = {{"PTI off", "syscall.direct"},
                                   {"trampoline, PTI off", "syscall.trampoline"},
                                   {"PTI, no PCID", "syscall.pti"},
                                   {"PTI + PCID (Linux)", "syscall.pti.pcid"},
                                   {"PTI + PCID, +1 mov-to-CR3", "syscall.pti.pcid.extra1"},
                                   {"PTI + PCID, +2 mov-to-CR3", "syscall.pti.pcid.extra2"}};
constexpr usize kSeed000Rows = sizeof(kSeed000) / sizeof(kSeed000[0]);

// Seed 003: one-way crossing cost per entry kind, PTI off and on (PTI without PCID, as the seed).
constexpr const char* kSeed003Kinds[] = {"syscall", "pf", "int3", "int"};
constexpr const char* kSeed003Columns[] = {".u2k", ".k2u", ".pti.u2k", ".pti.k2u"};
constexpr usize kKinds = 4, kColumns = 4;

struct Runner {
  const Row* rows;
  usize count;
  const Fixture& fx;
  const Params& p;
  const x86::CpuInfo& cpu;
  const OutputContext& out;

  // Runs the named row (result record and human line as usual) and returns its result.
  Result run(const char* name) const {
    for (usize i = 0; i < count; ++i) {
      Text<kNameMax> n;
      put_name(n, rows[i]);
      if (!str_eq(n.c_str(), name)) continue;
      run::set_phase("seeds", name);
      Result r = run_row(rows[i], fx, p, cpu);
      emit_result(rows[i], r, p, out);
      return r;
    }
    return {Status::kFail, "no such variant"};
  }
};

void put_cell(TextBuf& t, const Result& r, usize width) {
  usize start = t.size();
  if (r.status == Status::kOk) {
    t.put_fixed(r.stats.median, 1);
  } else {
    t.put(status_name(r.status));
  }
  t.pad_to(start, width);
}

void print_seed000(const Result* res) {
  console::line("");
  console::line(
      "Seed 000: null system call (TSC ticks per call, median) and throughput loss against PTI "
      "off");
  console::line("  scheme                       ticks      x PTI off   loss");
  const Result& off = res[0];
  for (usize i = 0; i < kSeed000Rows; ++i) {
    Text<160> t;
    t.put("  ").put(kSeed000[i].label).pad_to(0, 31);
    put_cell(t, res[i], 11);
    if (res[i].status == Status::kOk && off.status == Status::kOk && res[i].stats.median > 0) {
      double ratio = res[i].stats.median / off.stats.median;
      usize col = t.size();
      t.put_fixed(ratio, 2).pad_to(col, 12);
      t.put_fixed((1.0 - off.stats.median / res[i].stats.median) * 100.0, 1).put(" %");
    } else if (res[i].status != Status::kOk) {
      t.put(res[i].reason);
    }
    console::line(t);
  }
}

void print_seed003(const Result (&x)[kKinds][kColumns], bool bare_metal) {
  console::line("");
  console::line("Seed 003: one-way crossing cost (TSC ticks, median), PTI off and on");
  console::line("  entry kind   u2k off    k2u off    u2k PTI    k2u PTI");
  for (usize k = 0; k < kKinds; ++k) {
    Text<160> t;
    t.put("  ").put(kSeed003Kinds[k]).pad_to(0, 15);
    for (usize c = 0; c < kColumns; ++c) put_cell(t, x[k][c], 11);
    console::line(t);
  }
  if (!bare_metal)
    console::line("  (not bare metal: emulator or hypervisor figures, not hardware timings)");
}

}  // namespace

void run_seed_experiments(const Row* rows, usize count, const Fixture& fx, const Params& p,
                          const x86::CpuInfo& cpu, const OutputContext& out) {
  const Runner runner{rows, count, fx, p, cpu, out};
  Result res000[kSeed000Rows];
  for (usize i = 0; i < kSeed000Rows; ++i) res000[i] = runner.run(kSeed000[i].name);
  print_seed000(res000);

  Result res003[kKinds][kColumns];
  for (usize k = 0; k < kKinds; ++k) {
    for (usize c = 0; c < kColumns; ++c) {
      Text<kNameMax> n;
      n.put("crossing.").put(kSeed003Kinds[k]).put(kSeed003Columns[c]);
      res003[k][c] = runner.run(n.c_str());
    }
  }
  print_seed003(res003, out.bare_metal);
}

}  // namespace ptb::bench
