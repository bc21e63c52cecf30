#include "appraise/composite.h"

#include "appraise/appraisers.h"
#include "policy/policy_keys.h"

namespace cci::appraise {

Request fresh_gpu_request(Request cpu, Bytes gpu_evidence, ByteView gpu_nonce) {
  Request r = std::move(cpu);
  r.evidence = std::move(gpu_evidence);
  r.vendor = "nvidia";
  r.label += " (GPU evidence)";
  r.product.reset();
  GivenCollateral g;
  g.gpu_driver_rims = std::move(r.given.gpu_driver_rims);
  g.gpu_vbios_rims = std::move(r.given.gpu_vbios_rims);
  g.gpu_ocsp = std::move(r.given.gpu_ocsp);
  r.given = std::move(g);
  Expectations& e = r.expect;
  e.measurements.clear();
  e.tdx_references.clear();
  e.measurement_flags.clear();
  e.insecure_any_measurement = false;
  e.insecure_unpinned_v1 = false;
  e.event_log.reset();
  Bytes rd(gpu_nonce.begin(), gpu_nonce.end());
  rd.resize(64, 0);
  e.report_data = std::move(rd);
  e.nonce_size = gpu_nonce.size();
  return r;
}

Verdict compose_with_gpus(Verdict cpu, std::optional<Verdict> gpu, const Json& policy) {
  Verdict out = std::move(cpu);
  // The CPU report's lines for the GPU keys (not applicable to it) give way to the GPUs' own.
  // Without GPU evidence only gpu_count's is replaced (by a failure below): the others stay, so a
  // GPU key named on the command line still fails rather than vanish.
  if (out.findings) {
    const bool replace_count = policy.contains("gpu_count");
    verify::CheckList kept;
    for (const auto& c : out.findings->items()) {
      const std::string key = c.id.rfind("policy.", 0) == 0 ? c.id.substr(7) : "";
      const bool replaced = gpu ? policy::gpu_only_key(key) : (replace_count && key == "gpu_count");
      if (!replaced) kept.push(c);
    }
    out.findings = std::move(kept);
  }
  if (!gpu && policy.contains("gpu_count") && out.findings) {
    out.findings->add("policy.gpu_count", false,
                      "the policy expects " + std::to_string(policy["gpu_count"].get<std::uint64_t>()) +
                          " GPUs, and the server's fresh evidence names none (no cci-gpu claim)");
  }
  // The CPU side's outcome with its findings as they now are.
  const Outcome cpu_outcome = out.authentic ? outcome_of(out, false) : out.outcome;
  if (!gpu) {
    out.outcome = cpu_outcome;
    return out;
  }
  out.checks.append(gpu->checks);
  const bool both = out.authentic && gpu->authentic;
  // The CPU report's findings stay when it is authentic (they were found on a verified report,
  // and say e.g. that REPORT_DATA does not bind this GPU evidence); the GPUs' join them only when
  // every GPU's report is authentic too.
  if (both && out.findings && gpu->findings) out.findings->append(*gpu->findings);
  else if (!out.authentic) out.findings.reset();
  out.authentic = both;
  out.simulated = out.simulated || gpu->simulated;
  out.what += "; " + gpu->what;
  out.report["gpus"] = gpu->report.contains("gpus") ? gpu->report["gpus"] : Json::array();
  out.warnings.insert(out.warnings.end(), gpu->warnings.begin(), gpu->warnings.end());
  // Rejected when either side is; cannot evaluate when a side only lacks collateral; else accepted.
  if (cpu_outcome == Outcome::kRejected || gpu->outcome == Outcome::kRejected) out.outcome = Outcome::kRejected;
  else if (cpu_outcome == Outcome::kMissingCollateral || gpu->outcome == Outcome::kMissingCollateral) out.outcome = Outcome::kMissingCollateral;
  else out.outcome = Outcome::kAccepted;
  return out;
}

}  // namespace cci::appraise
