// Certificate Transparency for Fulcio leaves: the SCTs embedded in the certificate (extension
// 1.3.6.1.4.1.11129.2.4.2, a TLS-encoded SignedCertificateTimestampList in an OCTET STRING, RFC
// 6962 section 3.3) must include one by a CT log of the trusted root, inside that log's window,
// whose signature (RFC 6962 section 3.2, a precert_entry: the issuer's key hash and the
// TBSCertificate without the SCT list) verifies with the log's key.
#pragma once

#include "base/result.h"
#include "crypto/x509.h"
#include "sigstore/trusted_root.h"

namespace cci::sigstore {

inline constexpr const char* kSctListOid = "1.3.6.1.4.1.11129.2.4.2";

// kMalformed for an SCT list that does not parse; kVerificationFailed naming why when no SCT is
// by a known log, in its window, with a valid signature.
Status verify_embedded_sct(const crypto::Certificate& leaf, const crypto::Certificate& issuer, const TrustedRoot& root);

}  // namespace cci::sigstore
