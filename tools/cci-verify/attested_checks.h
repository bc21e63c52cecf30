// What cci-verify cert and cci-verify remote check around an attested TLS certificate before
// the report pipeline: the claims the deployment expects, the manifest they name, and the
// evidence (with the certificate's endorsements) as a document for run_report_bytes.
#pragma once

#include <string>

#include "ratls/attested_cert.h"
#include "report_common.h"

namespace cci::tools::verify {

struct ExpectedClaims {
  std::string purpose = "tls-server";
  std::string deploy;  // empty: any
};

// The flags cert and remote share: expected claims, manifest, policy, roots and collateral.
void add_attested_flags(CLI::App* sub, ReportOptions& r, ExpectedClaims& e);

// Purpose, deployment id, and (when r.manifest is set) the manifest's SHA-256 against the
// cci-manifest claim. An OMS model bundle given as --manifest is checked here (its signature
// against --manifest-key) and then taken out of `r`, whose pipeline reads deployment manifests.
Status check_claims(const ratls::Claims& c, const ExpectedClaims& e, ReportOptions& r);

// `evidence` (the raw report) and the certificates carried as endorsements, as a
// cci.evidence.v1 document.
Result<Bytes> evidence_document(std::uint64_t tag, ByteView evidence, const std::optional<ratls::Endorsements>& endorsements);

}  // namespace cci::tools::verify
