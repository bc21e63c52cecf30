// What a trustee operator installs so that its KBS releases a cci model key only to the VMs a
// signed deployment manifest names (cci-measure kbs-artifacts). Written from trustee's code
// (attestation-service EAR default policy, deps/verifier snp, csv and tdx claims, the RVPS "sample"
// provenance message): pure text from the verified predicate, no I/O.
//   reference-values.json  the RVPS reference values: snp_launch_measurement (base64, as the SNP
//                          verifier's "measurement" claim) and csv_launch_measurement (hex, as the
//                          CSV verifier's "measure" claim); for TDX tdx.mr_td (as trustee's default
//                          attestation policy names it), tdx.rtmr_0..3 and tdx.mr_config_id (hex, as
//                          the TDX verifier's quote.body claims) where the deployment records them
//   rvps-message.json      the same wrapped for `rvps-tool register` / POST /api/rvps/register:
//                          {"version":"0.1.0","type":"sample","payload":base64(reference values)}
//   resource-policy.rego   releases the key only for a listed launch measurement, debug and
//                          migration agent off, the TCB minimums, and HOST_DATA (init_data) when
//                          the policy pins it; for TDX one rule per launch (MRTD with its own
//                          RTMRs and MRCONFIGID) and TD debug off
//   attestation-policy-csv.rego  the EAR trust-claim rules for Hygon CSV that trustee's default
//                          attestation policy lacks
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace cci::kbs {

struct KbsArtifacts {
  std::string reference_values;   // JSON
  std::string rvps_message;       // JSON
  std::string resource_policy;    // Rego (v1 syntax)
  std::string csv_attestation_policy;  // Rego; empty when the deployment names no CSV launch
  size_t snp_measurements = 0, csv_measurements = 0, tdx_measurements = 0;  // TDX: distinct launches
};

// From a verified deployment predicate; `label` names the deployment in the files' comments.
// A deployment without any SNP, CSV or TDX launch measurement is an error (nothing to release to).
Result<KbsArtifacts> kbs_artifacts(const nlohmann::json& predicate, const std::string& label);

}  // namespace cci::kbs
