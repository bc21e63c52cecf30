// OCSP (RFC 6960): the revocation status of one certificate, asked of and answered by its issuer's
// responder. Requests are built here (one CertID, an optional nonce, RFC 8954); responses are
// parsed strictly and checked here:
//   - responseStatus successful, a BasicOCSPResponse (RFC 6960 section 4.2.1);
//   - the signer (section 4.2.2.2): the certificate's issuer itself, or a delegated responder
//     certificate among the response's certs that the issuer signed, that carries
//     id-kp-OCSPSigning and is valid at the time asked about; the response's signature by it;
//   - a SingleResponse whose CertID names the certificate (issuer name and key hashes and serial,
//     with whichever digest the responder used);
//   - the nonce, when the request carried one.
// The response's time window (thisUpdate .. nextUpdate) is returned, not judged: whether an
// answer is current at the time asked about is the caller's to decide (stale is not revoked).
#pragma once

#include <ctime>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/x509.h"

namespace cci::crypto {

inline constexpr size_t kMaxOcspResponseSize = 64u << 10;

enum class OcspStatus { kGood, kRevoked, kUnknown };
const char* ocsp_status_name(OcspStatus s);  // "good" | "revoked" | "unknown"

struct OcspAnswer {
  OcspStatus status = OcspStatus::kUnknown;
  std::time_t this_update = 0;
  std::optional<std::time_t> next_update;  // absent: the responder promised nothing
  std::optional<std::time_t> revoked_at;
  std::string reason;                      // CRLReason name ("keyCompromise", "certificateHold"), empty when none given
  std::string responder;                   // the signer's subject CN, "(the issuer)" when the issuer signed
  // Whether `at` lies in [thisUpdate, nextUpdate] (with `skew_s` of slack before thisUpdate); an
  // answer without nextUpdate is current for `max_age_s` after thisUpdate.
  bool current_at(std::time_t at, std::time_t skew_s = 300, std::time_t max_age_s = 86400) const;
};

// A DER OCSPRequest for `cert` issued by `issuer`; the CertID's digest is "sha1" or "sha384"
// (NVIDIA's verifiers ask with SHA-384); with a nonce extension when `nonce` is not empty.
Result<Bytes> ocsp_request(const Certificate& cert, const Certificate& issuer, ByteView nonce, const std::string& digest = "sha384");

// Whether `response` is one DER OCSPResponse, successful, with a BasicOCSPResponse (nothing checked).
Status ocsp_response_well_formed(ByteView response);

// Whether the DER response holds a SingleResponse for `cert` (no signature checked: a lookup key
// for picking among several cached responses).
bool ocsp_response_names(ByteView response, const Certificate& cert, const Certificate& issuer);

// The checked answer about `cert`. Errors: kMalformed (not a DER OCSPResponse, trailing bytes,
// oversized, not "successful", not basic), kVerificationFailed (no acceptable signer, a bad
// signature, no SingleResponse for the certificate, the nonce differs or is missing).
// `at` is the time the responder's certificate must be valid at.
Result<OcspAnswer> check_ocsp_response(ByteView response, const Certificate& cert, const Certificate& issuer, std::time_t at,
                                       ByteView expected_nonce = {});

}  // namespace cci::crypto
