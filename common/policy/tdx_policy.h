// "Is this the TD we expect?" for Intel TDX, on a quote whose authenticity and TCB verify_tdx_quote
// established: the same keys as SNP and CSV where they mean the same (allow_debug: TD_ATTRIBUTES
// bit 0, DEBUG), the expected MRTD (the manifest's "tdx" measurements, or --measurement),
// REPORT_DATA, the deployment manifest's RTMR0-3 and MRCONFIGID for that MRTD, the CC event log
// against RTMR0-3, the TCB status (UpToDate, and the statuses
// tdx_accept_tcb_status names; Revoked never; advisories named either way) and the minimum TCB
// evaluation data number (min_tcb_evaluation_number).
#pragma once

#include <array>
#include <optional>
#include <vector>

#include "policy/snp_policy.h"
#include "tdx/quote.h"
#include "verify/tdx_verify.h"

namespace cci::policy {

// What a deployment manifest records for one TDX launch: MRTD with the RTMR0-3 and MRCONFIGID
// that belong to it (checked together: RTMRs of one launch never vouch for another's MRTD).
struct TdxReference {
  Bytes mr_td;
  std::optional<std::array<Bytes, 4>> rtmrs;
  std::optional<Bytes> mr_config_id;
};

struct TdxExpectations {
  std::vector<TdxReference> references;  // from the deployment manifest; empty: RTMRs not pinned
  std::vector<Bytes> measurements;   // MRTD, 48 bytes each; empty: not pinned
  std::optional<Bytes> report_data;  // 64 bytes
  bool insecure_any_measurement = false;
  // RTMR0-3 replayed from the CC event log (--event-log); an error is a failed finding.
  std::optional<Result<std::array<tdx::Hash48, 4>>> replayed;
  std::vector<std::string> named_fields;  // policy keys set by field flags for this report
};

// Applies `policy` to a quote that passed verify_tdx_quote with Intel's collateral.
verify::CheckList evaluate_tdx_policy(const Json& policy, const verify::Verified<tdx::Quote>& quote, const verify::TdxTcbVerdict& tcb,
                                      const TdxExpectations& ex);

}  // namespace cci::policy
