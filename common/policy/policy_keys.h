// The policy's keys: their checked JSON form, and the expected report fields given one by one on the command line (as go-sev-guest's check tool takes
// them), composed with a policy: each flag sets one policy key, replacing the same key from the
// policy file or the deployment manifest and leaving the others as they are. Values are
// normalised exactly as parse_policy_yaml writes them, so the policy evaluators see one form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace cci::policy {

struct FieldFlag {
  const char* flag;   // "--host-data"
  const char* key;    // the policy key it sets: "host_data"
  const char* value;  // the value's form, for help text: "HEX32"
  const char* help;
};

// Every field flag, in the order --help lists them.
const std::vector<FieldFlag>& field_flags();

// Sets policy[f.key] from the flag's text. A malformed value is a usage error naming the flag.
//   hex fields: "0x" optional, exact length; numbers: decimal or 0x hex;
//   --min-tcb: "bootloader=3,tee=0,snp=8,microcode=115[,fmc=1]" or a raw 64-bit TCB_VERSION
//   in 0x hex (decoded with the product's layout when the report is evaluated).
Status set_policy_field(nlohmann::ordered_json& policy, const FieldFlag& f, const std::string& text);

// A policy as JSON (from a signed deployment manifest, or written by parse_policy_yaml): every key
// known, of its type and range (manifests/deployment-v1.schema.json, "policy"), so the evaluators
// never meet a value they cannot read. The error names the key.
Status check_policy_json(const nlohmann::ordered_json& policy);

// Policy keys that only an SEV-SNP report has (a Hygon CSV report has no such field).
bool snp_only_key(const std::string& key);
// Policy keys that only an Intel TDX quote's appraisal uses: tdx_accept_tcb_status,
// min_tcb_evaluation_number.
bool tdx_only_key(const std::string& key);
// Policy keys that only NVIDIA GPU evidence has (policy/nvgpu_policy.h): gpu_count,
// gpu_min_driver_version, gpu_min_vbios_version, gpu_allow_ppcie.
bool gpu_only_key(const std::string& key);
inline constexpr std::uint64_t kMaxGpuCount = 64;
// gpu_min_driver_version ("550.90.07": 1-4 decimal parts) or gpu_min_vbios_version
// ("96.00.9f.00.01": five 2-digit hex parts, lowercased): the normal form, or nullopt.
std::optional<std::string> gpu_version_key(const std::string& key, std::string_view text);
// The TCB statuses tdx_accept_tcb_status may name (UpToDate is always accepted, Revoked never).
const std::vector<std::string>& acceptable_tcb_statuses();

}  // namespace cci::policy
