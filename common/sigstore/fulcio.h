// Fulcio certificates (Sigstore keyless signing): the short-lived leaf's chain to a certificate
// authority of the trusted root whose window covers the signing time (the chain in the bundle is
// never trusted), and the signer it names: the subjectAltName (an e-mail address or a URI, as
// Fulcio writes exactly one) and the OIDC issuer extension (Fulcio's "OID information",
// 1.3.6.1.4.1.57264.1.8 as a DER UTF8String, else the deprecated 1.3.6.1.4.1.57264.1.1 as raw
// bytes). Identities are compared exactly: a prefix or a superstring is another signer.
#pragma once

#include <ctime>
#include <string>

#include "base/result.h"
#include "crypto/x509.h"
#include "sigstore/trusted_root.h"

namespace cci::sigstore {

struct SignerIdentity {
  std::string san_kind;  // "email" | "uri"
  std::string san;
  std::string issuer;
};

// The certificate that issued the leaf (for its SCTs), once the leaf chains to a certificate
// authority of `root` valid at `signed_at` and is valid then; else kVerificationFailed naming why.
Result<crypto::Certificate> verify_fulcio_chain(const crypto::Certificate& leaf, const TrustedRoot& root, std::time_t signed_at);

// kMalformed when the leaf names no single e-mail or URI SAN, or no issuer.
Result<SignerIdentity> fulcio_identity(const crypto::Certificate& leaf);

// kVerificationFailed (field "identity" or "issuer") unless both are exactly the expected ones.
Status match_identity(const SignerIdentity& who, const std::string& identity, const std::string& issuer);

}  // namespace cci::sigstore
