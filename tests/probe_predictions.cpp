// Prints what the host TLB model (bench/tlb_model.h) predicts for every probe under every
// behaviour, as one JSON object: {"<behaviour>": {"<probe name>": {"observed": ..., "kept": R or
// 0, "architecture": ..., "reference": ..., "verdict": ..., "needs": [features]}}}. The boot tests
// (tests/boot/test_probes.py) assert the emulators' records against it, so the model and the
// emulators cannot drift apart unnoticed. Usage: probe_predictions READS
#include <cstdio>
#include <cstdlib>

#include "arch/x86/cpu_features.h"
#include "bench/probe.h"
#include "bench/tlb_model.h"

using namespace ptb;
using namespace ptb::bench;

int main(int argc, char** argv) {
  const u32 reads = argc > 1 ? static_cast<u32>(std::strtoul(argv[1], nullptr, 10)) : 31;
  usize n = 0;
  const ProbeSpec* specs = probe_specs(&n);
  const Behaviour behaviours[] = {Behaviour::kSdmMaxKeep, Behaviour::kBochs, Behaviour::kQemuTcg,
                                  Behaviour::kBroken};
  std::printf("{");
  for (usize b = 0; b < sizeof(behaviours) / sizeof(behaviours[0]); ++b) {
    std::printf("%s\"%s\":{", b ? "," : "", behaviour_name(behaviours[b]));
    for (usize i = 0; i < n; ++i) {
      TlbModel model(behaviours[b]);
      const Observation o = run_probe(model, specs[i], reads);
      const Judgement j = judge(specs[i], o);
      std::printf(
          "%s\"probe.%s\":{\"observed\":\"%s\",\"kept\":%u,\"architecture\":\"%s\","
          "\"reference\":\"%s\",\"global\":%s,\"verdict\":\"%s\",\"needs\":[",
          i ? "," : "", specs[i].label, seen_name(j.seen), o.kept, rule_name(specs[i].rule),
          specs[i].reference, specs[i].global ? "true" : "false", j.violation ? "violation" : "ok");
      const char* sep = "";
      for (u32 f = 0; f < static_cast<u32>(x86::Feature::kCount); ++f) {
        if (!(specs[i].features >> f & 1)) continue;
        std::printf("%s\"%s\"", sep, x86::feature_info(static_cast<x86::Feature>(f)).name);
        sep = ",";
      }
      std::printf("]}");
    }
    std::printf("}");
  }
  std::printf("}\n");
  return 0;
}
