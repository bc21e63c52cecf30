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

// Purpose and deployment id, then the signed manifest the cci-manifest claim names: `served`
// (what the server sent at GET /v1/attestation/manifest) unless --deployment gives a local copy.
// Its SHA-256 must be the claim, its signature must verify with --release-key; a deployment
// manifest then gives the verdict its launch measurements and policy (r.release). A plain model
// bundle names no VM: the measurement must come from --measurement or be waived by name
// (--insecure-any-measurement), which the policy enforces. Without any manifest (cert only, no
// server to ask), the claim cannot be checked: refused unless --insecure-any-manifest.
Status check_claims(const ratls::Claims& c, const ExpectedClaims& e, ReportOptions& r, const std::optional<Bytes>& served = std::nullopt);


}  // namespace cci::tools::verify
