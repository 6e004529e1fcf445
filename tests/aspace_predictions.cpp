// Prints what the host model of the address-space lab (tests/aspace_model.h) predicts for every
// aspace row the kernel builds from the same options: {"invpcid": {...}, "noinvpcid": {...}},
// each {"<row name>": {"switches": .., "asid_hits": .., "asid_misses": .., "flushes": ..,
// "user_flushes": .., "skipped_cr3": .., "kernel_flushes": .., "invpcids": ..,
// "invalidate_others": .., "stale_reads": ..}}. The boot tests (tests/boot/test_aspace.py) give
// it the kernel's command-line words and compare the kernel's records with it.
// Usage: aspace_predictions aspace_p=.. aspace_slots=.. aspace_kk=.. aspace_footprint=..
//        aspace_w=.. aspace_k=.. aspace_m=.. reps=..   (all required: no defaults copied here)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "bench/asid_policy.h"
#include "bench/row.h"
#include "tests/aspace_model.h"

using namespace ptb;
using namespace ptb::bench;

namespace {

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "aspace_predictions: %s\n", why);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt;
  for (int i = 1; i < argc; ++i) {
    const char* eq = std::strchr(argv[i], '=');
    if (!eq) usage("arguments are key=value");
    opt[std::string(argv[i], static_cast<usize>(eq - argv[i]))] = eq + 1;
  }
  auto get = [&opt](const char* k) -> const std::string& {
    auto it = opt.find(k);
    if (it == opt.end()) usage((std::string("missing ") + k).c_str());
    return it->second;
  };
  auto list = [&get](const char* k, u32 lo, u32 hi, u32* out, usize cap) {
    const std::string& s = get(k);
    return parse_u32_list(s.data(), s.size(), lo, hi, out, cap, nullptr, nullptr);
  };
  auto num = [&get](const char* k) {
    return static_cast<u32>(std::strtoul(get(k).c_str(), nullptr, 10));
  };

  u32 procs[8], slots[16], footprint[8];
  TableParams tp{1, false, nullptr, 0};
  tp.lab_processes = procs;
  tp.lab_processes_count = list("aspace_p", 2, aspace::kMaxProcesses, procs, 8);
  tp.lab_slots = slots;
  tp.lab_slots_count = list("aspace_slots", 1, aspace::kMaxSlots, slots, 16);
  tp.lab_kernel_pages = num("aspace_kk");
  tp.lab_footprint = footprint;
  tp.lab_footprint_count = list("aspace_footprint", 0, aspace::kMaxKernelPages, footprint, 8);
  const u32 pages = num("aspace_w"), calls = num("aspace_k"), every = num("aspace_m");
  const u32 reps = num("reps");

  static Row rows[kMaxRows];
  const usize n = aspace_rows(rows, kMaxRows, tp);
  std::printf("{");
  for (int with = 1; with >= 0; --with) {
    std::printf("%s\"%s\":{", with ? "" : ",", with ? "invpcid" : "noinvpcid");
    for (usize i = 0; i < n; ++i) {
      const Row& r = rows[i];
      const aspace::RunSpec spec{
          {r.lab.policy, r.lab.slots, r.lab.processes, with == 1 && !r.lab.no_invpcid},
          r.lab.schedule,
          aspace::run_slices(r.lab.processes, reps),
          every};
      const aspace::model::Outcome o =
          aspace::model::simulate(spec, {pages, calls, r.lab.kernel_pages, r.global});
      if (o.stale) {
        std::fprintf(stderr, "aspace_predictions: the model sees a stale read: %s\n",
                     o.first_stale.c_str());
        return 1;
      }
      Text<kNameMax> name;
      put_name(name, r);
      const aspace::Counts& c = o.counts;
      std::printf(
          "%s\"%s\":{\"switches\":%llu,\"asid_hits\":%llu,\"asid_misses\":%llu,\"flushes\":%llu,"
          "\"user_flushes\":%llu,\"skipped_cr3\":%llu,\"kernel_flushes\":%llu,\"invpcids\":%llu,"
          "\"invalidate_others\":%llu,\"stale_reads\":0}",
          i ? "," : "", name.c_str(), (unsigned long long)c.switches, (unsigned long long)c.hits,
          (unsigned long long)c.misses, (unsigned long long)c.flushes,
          (unsigned long long)c.user_flushes, (unsigned long long)c.skipped_cr3,
          (unsigned long long)c.kernel_flushes, (unsigned long long)c.invpcids,
          (unsigned long long)c.invalidate_others);
    }
    std::printf("}");
  }
  std::printf("}\n");
  return 0;
}
