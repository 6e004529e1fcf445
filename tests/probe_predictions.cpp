// Prints what the host TLB model (bench/tlb_model.h) predicts for every probe under every
// behaviour, as one JSON object: {"<behaviour>": {"<probe name>": {"observed": ..., "kept": R or
// 0, "architecture": ..., "reference": ..., "verdict": ..., "needs": [features], and where the
// probe cites the APM "architecture_amd" and "reference_amd"; "verdict_amd" and "manual_amd": the
// verdict on an AMD CPU and the manual it applies}}}. The boot tests (tests/boot/test_probes.py)
// assert the emulators' records against it, so the model and the emulators cannot drift apart
// unnoticed. Usage: probe_predictions READS
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
      Observation o = run_probe(model, specs[i], reads);
      const Judgement j = judge(specs[i], o);
      o.vendor = x86::Vendor::kAmd;
      const Judgement amd = judge(specs[i], o);
      std::printf(
          "%s\"probe.%s\":{\"observed\":\"%s\",\"kept\":%u,\"architecture\":\"%s\","
          "\"reference\":\"%s\",\"global\":%s,\"verdict\":\"%s\",",
          i ? "," : "", specs[i].label, seen_name(j.seen), o.kept, rule_name(specs[i].rule),
          specs[i].reference, specs[i].global ? "true" : "false", j.violation ? "violation" : "ok");
      if (specs[i].apm.reference)
        std::printf("\"architecture_amd\":\"%s\",\"reference_amd\":\"%s\",",
                    rule_name(specs[i].apm.rule), specs[i].apm.reference);
      std::printf("\"verdict_amd\":\"%s\",\"manual_amd\":\"%s\",",
                  amd.violation ? "violation" : "ok", manual_name(amd.applied.manual));
      std::printf("\"needs\":[");
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
