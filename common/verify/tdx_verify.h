// "Did Intel hardware sign this?" for TDX quotes, the cryptographic half of Intel's quote
// verification (Intel SGX/TDX DCAP Quote Verification Library, "Quote verification"), in order:
//   the PCK certificate chain from the quote (PCK leaf, PCK Platform or Processor CA, root):
//     the root is the Intel SGX Root CA pinned here by the SHA-256 of its DER, never the one
//     the quote carries; every certificate valid at `at`; each signed by the next;
//   the PCK leaf's SGX extensions (FMSPC, PCE-ID, PCESVN, CPUSVN);
//   the QE report (384 bytes) signed by the PCK leaf key (ECDSA P-256, SHA-256, r||s);
//   the QE report's REPORT_DATA = SHA-256(attestation key || QE authentication data) || 32 zeros;
//   the quote's header and body signed by that attestation key.
// With Intel's collateral (what the PCS serves for the quote's FMSPC), the rest of it, in the
// order Intel's QVL applies it: the root CA CRL (signed by the pinned root, current at `at`), the
// PCK CRL (signed by the quote's PCK CA, current); TCB Info and QE Identity (chained to the pinned
// root through the TCB Signing certificate, not revoked, signed over their exact bytes, issueDate
// <= at <= nextUpdate); neither PCK certificate revoked; the QE report against QE Identity
// (MRSIGNER, ISVPRODID, masked MISCSELECT and ATTRIBUTES; the QE TCB level by ISVSVN); FMSPC and
// PCE-ID equal to TCB Info's; the TDX TCB level (SGX components and PCESVN against the PCK's,
// TDX components against TEE_TCB_SVN, indexes 0 and 1 left to the module identity when
// TEE_TCB_SVN[1] > 0); the TDX module identity (TDX_<TEE_TCB_SVN[1]>: MRSIGNERSEAM, masked
// SEAMATTRIBUTES, its level by TEE_TCB_SVN[0]). The TCB status combines the TDX level's, the
// module's and the QE's; accepting a status other than UpToDate is policy, decided elsewhere.
#pragma once

#include <ctime>
#include <optional>
#include <vector>

#include "crypto/x509.h"
#include "tdx/collateral.h"
#include "tdx/pck.h"
#include "tdx/quote.h"
#include "verify/check.h"
#include "verify/verified.h"

namespace cci::verify {

// SHA-256 of the DER of the Intel SGX Root CA (CN=Intel SGX Root CA, the root of TDX too).
Bytes pinned_intel_sgx_root_fingerprint();

// Intel's collateral for one FMSPC, as the PCS serves it.
struct TdxCollateral {
  Bytes tcb_info, qe_identity;                      // the PCS bodies, byte for byte
  std::string tcb_info_issuer_chain_pem;            // TCB Signing certificate, root
  std::string qe_identity_issuer_chain_pem;
  Bytes pck_crl, root_ca_crl;                       // DER or PEM
};

struct TdxEvidence {
  ByteView quote;
  std::time_t at = 0;  // verification time: certificates, CRLs and collateral must be valid then
  const TdxCollateral* collateral = nullptr;
  // Without collateral the verdict is "cannot evaluate" (tdx.collateral, missing); false: the
  // cryptographic checks alone decide (tests, and callers that appraise collateral elsewhere).
  bool collateral_required = true;
  // Instead of the pinned Intel SGX Root CA (tests that pin another root): the anchor.
  std::optional<crypto::Certificate> root;
  // Simulated roots trusted by name (cci-verify --trust-sim-root): an anchor when the quote's
  // root is one of them byte for byte; the verification then says `simulated`.
  std::vector<crypto::Certificate> simulated_roots;
  // Azure: the HCL report's runtime data (tdx::parse_azure_hcl) the quote must bind.
  std::optional<ByteView> azure_hcl_runtime_data;
};

struct TdxTcbVerdict {
  std::string status;                     // the combined TCB status
  std::vector<std::string> advisory_ids;  // of the TDX level, the module level and the QE level
  std::string tdx_status, module_status, qe_status;
  std::string tcb_date;
  unsigned evaluation_data_number = 0;
  std::time_t tcb_info_issue = 0, tcb_info_next_update = 0;
};

struct TdxVerification {
  bool passed = false;
  bool missing_collateral = false;         // failed only because collateral was absent or past nextUpdate
  std::optional<Verified<tdx::Quote>> verified;  // set exactly when `passed`
  CheckList checks;
  std::optional<tdx::Quote> quote;         // parsed, for display: authentic only if `passed`
  std::optional<tdx::PckExtensions> pck;   // from the PCK leaf
  std::optional<crypto::Certificate> pck_leaf, pck_ca, root;
  std::optional<TdxTcbVerdict> tcb;        // with collateral, once the TCB level is found
  bool complete = false;                   // every check ran
  bool simulated = false;                  // anchored in a simulated root: no Intel hardware
};

// Collateral past its nextUpdate (or a CRL past its nextUpdate) cannot evaluate the quote: those
// failures are recorded as missing collateral, unlike collateral that is not yet valid or forged.
// Always returns the checks made; stops where later checks would be meaningless (a quote that
// does not parse, a chain that does not hold). Check ids: tdx.quote, [tdx.root_crl,
// tdx.pck_crl, tdx.tcb_info, tdx.qe_identity,] tdx.pck_chain, tdx.pck_validity, [tdx.pck_revocation,]
// tdx.pck_extensions, tdx.qe_report_signature, tdx.qe_report_data, [tdx.qe_identity_match,]
// tdx.quote_signature[, tdx.azure_hcl_binding][, tdx.fmspc, tdx.tcb_level, tdx.module_identity]; those
// in the last brackets with collateral only, tdx.azure_hcl_binding with an HCL report only.
TdxVerification verify_tdx_quote(const TdxEvidence& ev);

// The FMSPC (12 hex digits) the quote's PCK certificate names, unverified: a key to look Intel's
// collateral up by, nothing more.
std::optional<std::string> tdx_pck_fmspc(ByteView quote);
// The root certificate the quote's PCK chain ends in, unverified (a lookup key, like the FMSPC).
std::optional<crypto::Certificate> tdx_pck_chain_root(ByteView quote);

// The TD's CC event log (CCEL, TCG2 crypto-agile, SHA-384) replayed as Intel's TDX guest firmware
// extends it: CC MR index 1..4 is RTMR0..3 (index 0, MRTD, is never extended by the log), each
// RTMR = SHA-384(RTMR || digest) from 48 zero bytes, EV_NO_ACTION events skipped.
Result<std::array<tdx::Hash48, 4>> replay_ccel(ByteView log);

}  // namespace cci::verify
