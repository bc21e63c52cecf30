// RFC 3161 time-stamp responses (the signed timestamps Sigstore bundles carry in
// timestampVerificationData.rfc3161Timestamps), verified offline:
//   - the TimeStampResp's PKIStatus is granted or grantedWithMods (RFC 3161 section 2.4.2);
//   - the TSTInfo's messageImprint is the SHA-256, SHA-384 or SHA-512 of `message`, computed with
//     the algorithm the token names (others are refused);
//   - the token's CMS SignedData signature by a certificate of `tsa_chain` (the signer found among
//     the token's own certificates or the chain, identified by the ESS signing-certificate
//     attribute, RFC 5816), which chains to the last certificate of `tsa_chain` at the token's
//     genTime and carries the critical id-kp-timeStamping extended key usage (RFC 3161 section
//     2.3).
// The genTime is returned for the caller to judge (inside the TSA's window, inside the signing
// certificate's validity).
#pragma once

#include <ctime>
#include <span>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/x509.h"

namespace cci::crypto {

inline constexpr size_t kMaxTimestampResponseSize = 64u << 10;

struct TimestampToken {
  std::time_t gen_time = 0;
  std::string tsa;  // the signing certificate's subject
};

// kMalformed for a response that does not parse; kVerificationFailed naming why otherwise.
// `tsa_chain`: the timestamp authority's certificates, the signing certificate first and the
// root (the only trust anchor) last.
Result<TimestampToken> verify_rfc3161(ByteView response_der, ByteView message, std::span<const Certificate> tsa_chain);

}  // namespace cci::crypto
