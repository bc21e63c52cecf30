// "Did AMD hardware sign this?" for SEV-SNP reports (AMD VCEK specification 57230; SEV-SNP ABI 56860):
//   product from the signed CPUID bytes (v3+) or given by the caller (v2) — never from the
//   attester's certificates; the ARK among the caller's certificates must be the one pinned
//   in this binary for that product; ARK self-signature, ASK/ASVK by ARK, VCEK/VLEK by
//   ASK/ASVK, each RSASSA-PSS with SHA-384 / MGF1-SHA-384 / salt 48; validity at `at`;
//   the leaf kind matches SIGNER_INFO.SIGNING_KEY; ECDSA P-384 over report[0, 0x2A0) with
//   little-endian R/S; every TCB extension equals REPORTED_TCB in the product's layout;
//   hwID equals CHIP_ID (Turin: 8 bytes, rest zero); the ARK's CRL (signed by the ARK with
//   AMD's PSS parameters, thisUpdate <= at <= nextUpdate) does not list the ASK/ASVK; an
//   Azure HCL report's REPORT_DATA binds its runtime claims. Policy (debug, TCB minimums, measurement…) is not decided here.
#pragma once

#include <ctime>
#include <optional>
#include <vector>

#include "crypto/x509.h"
#include "snp/report.h"
#include "snp/vek.h"
#include "verify/check.h"
#include "verify/verified.h"

namespace cci::verify {

// SHA-256 of the DER of AMD's root keys (ARK-Milan, ARK-Genoa, ARK-Turin).
Bytes pinned_ark_fingerprint(snp::Product p);

struct SnpEvidence {
  snp::ReportInput input;                     // from snp::extract_report
  // snp::parse_report(input.report, parse), when the caller has already parsed it (parse once).
  std::optional<Result<snp::Report>> parsed;
  std::optional<crypto::Certificate> vek;     // VCEK or VLEK
  std::vector<crypto::Certificate> ca;        // candidate ARK / ASK / ASVK certificates
  std::optional<crypto::Crl> crl;             // the ARK's CRL for the leaf kind (vcek or vlek)
  bool crl_required = true;                   // false only when the user opted out by name
  // SHA-256 fingerprints of simulated ARKs (cci-run sim) the user trusts by name
  // (--trust-sim-root). A verdict through one of them is marked simulated.
  std::vector<Bytes> simulated_roots;
  std::optional<snp::Product> product;        // required for v2 reports
  std::time_t at = 0;                         // verification time
  snp::ParseOptions parse;
};

struct SnpVerification {
  bool passed = false;
  bool missing_collateral = false;  // failed only for want of a VEK or a required CRL
  bool simulated = false;           // the chain ends in a simulated root: not AMD hardware
  CheckList checks;
  std::optional<snp::Report> report;        // parsed, for display: authentic only if `verified`
  std::optional<Verified<snp::Report>> verified;  // set exactly when `passed`
  std::optional<snp::Product> product;
  std::optional<snp::VekExtensions> vek;
};

// The revocation step of verify_snp ("snp.crl"): `crl` must be issued and signed by `ark`
// with AMD's PSS parameters, current at `at` (thisUpdate <= at <= nextUpdate, nextUpdate
// present), and must not list `intermediate`. A missing CRL fails when `required`, else
// the check is recorded as skipped.
bool check_snp_crl(CheckList& out, const std::optional<crypto::Crl>& crl, bool required, const crypto::Certificate& ark,
                   const crypto::Certificate& intermediate, std::time_t at);

// Always returns a verdict with the checks made; stops at the first failure that makes
// later checks meaningless (e.g. a report that does not parse).
SnpVerification verify_snp(const SnpEvidence& ev);

}  // namespace cci::verify
