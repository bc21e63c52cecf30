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
#include "verify/verified.h"

namespace cci::policy {

using Json = nlohmann::ordered_json;

// Values a policy cannot know in advance: the expected measurements (from the deployment
// manifest) and the expected REPORT_DATA (a nonce, or a key binding).
struct Expectations {
  std::vector<Bytes> measurements;  // empty: a failed check, unless insecure_any_measurement
  std::optional<Bytes> report_data; // 64 bytes
  // Accept any MEASUREMENT when none is expected (named by the user: --insecure-any-measurement).
  // Without it, a verdict with no expected measurement fails: any VM image would pass.
  bool insecure_any_measurement = false;
  std::vector<std::string> named_fields;  // policy keys set by field flags for this report
};

// The finding for a missing expected measurement (both vendors): a failure that says what to
// give, or, when the user accepted any image by name, a skip that says so.
void add_unpinned_measurement(verify::CheckList& out, bool insecure_any_measurement);

// The built-in policy when the user gives none: debug, migration agent and VLEK refused.
Json default_policy();

// Applies `policy` (keys as in manifests/README.md) to a report that passed verify_snp (only
// it can make a Verified report). `is_vlek`: signed by a VLEK.
verify::CheckList evaluate_snp_policy(const Json& policy, const verify::Verified<snp::Report>& report, snp::Product product,
                                      bool is_vlek, const Expectations& ex);

}  // namespace cci::policy
