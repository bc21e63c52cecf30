// The vendors' appraisers and what they share (internal to cci_appraise).
#pragma once

#include "appraise/appraise.h"

namespace cci::appraise {

const Appraiser& snp_appraiser();
const Appraiser& csv_appraiser();
const Appraiser& tdx_appraiser();
const Appraiser& nvgpu_appraiser();

// Accepted when authentic and every policy finding passed; missing collateral when authenticity
// failed only for want of collateral; rejected otherwise.
inline Outcome outcome_of(const Verdict& v, bool missing_collateral) {
  if (v.authentic) return v.findings && v.findings->all_passed() ? Outcome::kAccepted : Outcome::kRejected;
  return missing_collateral ? Outcome::kMissingCollateral : Outcome::kRejected;
}

// The expected measurements for `platform`: the manifest's, and the user's flags decoded at the
// platform's size (a wrong size is a usage error naming the flag).
Result<std::vector<Bytes>> expected_measurements(const Expectations& e, const std::string& platform, size_t size);

}  // namespace cci::appraise
