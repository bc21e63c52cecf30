// "Did Intel hardware sign this?" for TDX quotes, the cryptographic half of Intel's quote
// verification (Intel SGX/TDX DCAP Quote Verification Library, "Quote verification"), in order:
//   the PCK certificate chain from the quote (PCK leaf, PCK Platform or Processor CA, root):
//     the root is the Intel SGX Root CA pinned here by the SHA-256 of its DER, never the one
//     the quote carries; every certificate valid at `at`; each signed by the next;
//   the PCK leaf's SGX extensions (FMSPC, PCE-ID, PCESVN, CPUSVN);
//   the QE report (384 bytes) signed by the PCK leaf key (ECDSA P-256, SHA-256, r||s);
//   the QE report's REPORT_DATA = SHA-256(attestation key || QE authentication data) || 32 zeros;
//   the quote's header and body signed by that attestation key.
// Intel's collateral (TCB Info, QE Identity, CRLs) and policy are decided elsewhere.
#pragma once

#include <ctime>
#include <optional>

#include "crypto/x509.h"
#include "tdx/pck.h"
#include "tdx/quote.h"
#include "verify/check.h"

namespace cci::verify {

// SHA-256 of the DER of the Intel SGX Root CA (CN=Intel SGX Root CA, the root of TDX too).
Bytes pinned_intel_sgx_root_fingerprint();

struct TdxEvidence {
  ByteView quote;
  std::time_t at = 0;  // verification time: certificates must be valid then
};

struct TdxVerification {
  bool passed = false;
  CheckList checks;
  std::optional<tdx::Quote> quote;         // parsed, for display: authentic only if `passed`
  std::optional<tdx::PckExtensions> pck;   // from the PCK leaf
  std::optional<crypto::Certificate> pck_leaf, pck_ca, root;
};

// Always returns the checks made; stops where later checks would be meaningless (a quote that
// does not parse, a chain that does not hold). Check ids: tdx.quote, tdx.pck_chain,
// tdx.pck_validity, tdx.pck_extensions, tdx.qe_report_signature, tdx.qe_report_data,
// tdx.quote_signature.
TdxVerification verify_tdx_quote(const TdxEvidence& ev);

}  // namespace cci::verify
