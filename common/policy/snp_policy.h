// "Is this the VM we expect?" for SEV-SNP: the policy expectations (normalised JSON, as
// written by parse_policy_yaml or found in a deployment manifest) applied to a report whose
// authenticity common/verify has already established. No cryptography here. Every finding
// is returned, not just the first. Unknown PLATFORM_INFO bits never fail on their own:
// only bits the policy requires or forbids are looked at.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "snp/report.h"
#include "verify/check.h"

namespace cci::policy {

using Json = nlohmann::ordered_json;

// Values a policy cannot know in advance: the expected measurements (from the deployment
// manifest) and the expected REPORT_DATA (a nonce, or a key binding).
struct Expectations {
  std::vector<Bytes> measurements;  // empty: not checked (reported as skipped)
  std::optional<Bytes> report_data; // 64 bytes
};

// The built-in policy when the user gives none: debug, migration agent and VLEK refused.
Json default_policy();

// Applies `policy` (keys as in manifests/README.md) to `r`. `is_vlek`: signed by a VLEK.
verify::CheckList evaluate_snp_policy(const Json& policy, const snp::Report& r, snp::Product product, bool is_vlek,
                                      const Expectations& ex);

}  // namespace cci::policy
