#include "policy/nvgpu_policy.h"

#include <algorithm>

#include "base/text.h"
#include "policy/policy_keys.h"
#include "policy/policy_util.h"

namespace cci::policy {
namespace {

using Json = nlohmann::ordered_json;
using verify::CheckList;

std::string mode_name(std::uint32_t flag) {
  switch (flag) {
    case 0: return "single-GPU passthrough (SPT)";
    case 1: return "multi-GPU passthrough (MPT)";
    case 2: return "protected PCIe (PPCIE)";
    default: return "unknown mode " + std::to_string(flag);
  }
}

// One version key against the report's field; `base` 10 for the driver, 16 for the VBIOS.
void check_min_version(CheckList& out, const Json& p, const char* key, const char* id, const std::string& have, const char* what, int base,
                       const std::string& prefix) {
  if (!p.contains(key)) return;
  const std::string want = p[key].get<std::string>();
  const auto w = parse_dotted_version(want, base, 1, 8);
  const auto h = parse_dotted_version(have, base, 1, 8);
  if (!h) {
    out.add(id, false, prefix + what + " '" + have + "' is not a version that can be compared with " + key + " " + want);
    return;
  }
  const bool ok = w && !version_less(*h, *w);
  out.compare(id, ok, prefix + what, have, "at least " + want);
}

void check_mode(CheckList& out, const Json& p, const nvgpu::Report& r, const std::string& prefix) {
  if (!r.feature_flag) {
    out.add("policy.gpu_mode", true, prefix + "confidential-computing mode (the report carries no FEATURE_FLAG, as reports before driver 580 do not: it does not state SPT, MPT or PPCIE)");
    return;
  }
  const std::uint32_t f = *r.feature_flag;
  if (f == 0 || f == 1) {
    out.add("policy.gpu_mode", true, prefix + "confidential-computing mode, " + mode_name(f));
  } else if (f == 2) {
    const bool allowed = p.value("gpu_allow_ppcie", false);
    out.add("policy.gpu_mode", allowed,
            prefix + mode_name(f) + (allowed ? ": NVLink traffic is plain text, allowed by gpu_allow_ppcie"
                                             : ": NVLink traffic between the GPUs is plain text, and the policy refuses it (gpu_allow_ppcie: false)"));
  } else {
    out.add("policy.gpu_mode", false, prefix + mode_name(f) + " in FEATURE_FLAG: not a mode this verifier knows to be confidential");
  }
}

// Keys only a CPU TEE's report can satisfy (allow_debug and the other permissions of the built-in
// policy are about the CPU TEE too, and are left to it).
bool cpu_report_key(const std::string& key) {
  return snp_only_key(key) || tdx_only_key(key) || key == "csv_generation" || key == "min_firmware" || key == "min_abi";
}

}  // namespace

CheckList evaluate_gpu_policy(const Json& p, const std::vector<verify::Verified<nvgpu::Report>>& gpus, const std::vector<std::string>& named) {
  CheckList out;
  if (p.contains("gpu_count")) {
    const auto want = p["gpu_count"].get<std::uint64_t>();
    out.compare("policy.gpu_count", gpus.size() == want, "GPUs in the evidence", std::to_string(gpus.size()), std::to_string(want));
  } else {
    out.skip("policy.gpu_count", "no gpu_count in the policy: the number of GPUs (" + std::to_string(gpus.size()) + ") is not pinned");
  }
  for (size_t i = 0; i < gpus.size(); ++i) {
    const nvgpu::Report& r = *gpus[i];
    const std::string prefix = gpus.size() > 1 ? "GPU " + std::to_string(i + 1) + ": " : "";
    check_mode(out, p, r, prefix);
    check_min_version(out, p, "gpu_min_driver_version", "policy.gpu_driver_version", r.driver_version, "driver version", 10, prefix);
    check_min_version(out, p, "gpu_min_vbios_version", "policy.gpu_vbios_version", r.vbios_version, "VBIOS version", 16, prefix);
  }
  detail::check_keys_of(out, p, named, "NVIDIA GPU evidence", cpu_report_key, "CPU TEE reports");
  return out;
}

}  // namespace cci::policy
