// "Is this the VM we expect?" for Hygon CSV, on a report whose authenticity verify_csv has
// established: the same policy keys as SNP where they mean the same (allow_debug,
// min_firmware, min_abi, csv_generation), the manifest's CSV measurements, and the values a
// launch session sets (zero when there was none). V1 fields are masked with an unsigned
// anonce (openanolis/csv-rs, AttestationReport::anonce decoding): only an exact measurement and REPORT_DATA catch a changed
// anonce, so for V1 both must be pinned unless the caller opts out by name.
#pragma once

#include <optional>
#include <vector>

#include "csv/event_log.h"
#include "csv/report.h"
#include "policy/snp_policy.h"

namespace cci::policy {

struct CsvExpectations {
  std::vector<Bytes> measurements;   // 32 bytes each; empty: not pinned
  std::optional<Bytes> report_data;  // 64 bytes
  Bytes vm_id = Bytes(16, 0), vm_version = Bytes(16, 0), user_pubkey_digest = Bytes(32, 0);
  bool insecure_unpinned_v1 = false;  // accept a V1 report without a pinned measurement and REPORT_DATA
  bool insecure_any_measurement = false;  // accept any measure when none is expected (see Expectations)
  // The CC event log (from --event-log or the evidence): a V2 report's RTMR1-4 must equal its
  // replay. An error here (a log that does not parse) is a failed finding.
  std::optional<Result<csv::Rtmrs>> replayed;
  std::vector<std::string> named_fields;  // policy keys set by field flags (policy_keys.h) for this report
};

// Applies `policy` to a report that passed verify_csv (only it can make a Verified report).
verify::CheckList evaluate_csv_policy(const Json& policy, const verify::Verified<csv::Report>& report, const CsvExpectations& ex);

}  // namespace cci::policy
