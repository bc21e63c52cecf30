// "Did Hygon hardware sign this?" for CSV reports (openanolis/csv-rs and confidential-containers/trustee verifier/csv; docs/security.md): the HRK among the
// given certificates must be the one pinned in this binary; HRK self-signature; HSK by HRK,
// CEK by HSK, PEK by CEK, report by PEK, each SM2/SM3 with the signer's user ID and Hygon's
// usage, algorithm and key-ID linkage rules; the report signature over the raw, still-masked
// bytes. HSK and CEK must come from a trusted store for the report's chip ID (the user, or the
// cache filled from the Hygon KDS by that chip ID), never from the evidence: that is what
// binds the unsigned chip ID. The HMAC is checked where the firmware's bytes survive, and
// reported for what it is (not a signature). Policy is decided elsewhere.
#pragma once

#include <optional>
#include <vector>
#include <string>

#include "csv/evidence.h"
#include "verify/check.h"
#include "verify/verified.h"

namespace cci::verify {

Bytes pinned_hrk_fingerprint();  // SHA-256 of the 832-byte HRK certificate

struct CsvInputs {
  csv::Evidence evidence;
  // csv::parse_report(evidence.report, evidence.version), when the caller has already parsed it.
  std::optional<Result<csv::Report>> parsed;
  std::optional<Bytes> hrk;      // 832 bytes
  std::optional<Bytes> hsk_cek;  // HSK (832) || CEK (2084), for the report's chip ID
  std::string hsk_cek_source;    // "--hsk-cek FILE", "cache ...": shown in the chip-binding check
  // SHA-256 of simulated HRKs (cci-run sim) the user trusts by name (--trust-sim-root); only
  // an HRK that also carries the simulator's marker can enter this way.
  std::vector<Bytes> simulated_roots;
};

struct CsvVerification {
  bool passed = false;
  bool missing_collateral = false;  // failed only for want of the HRK or HSK/CEK
  bool simulated = false;           // the chain ends in a simulated HRK: not Hygon hardware
  CheckList checks;
  std::optional<csv::Report> report;        // parsed, for display: authentic only if `verified`
  std::optional<Verified<csv::Report>> verified;  // set exactly when `passed`
};

CsvVerification verify_csv(const CsvInputs& in);

}  // namespace cci::verify
