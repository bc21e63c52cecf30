// X.509 certificates: strict parsing and chain verification at an explicit time.
#pragma once

#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keys.h"
#include "crypto/ossl.h"

namespace cci::crypto {

class Certificate {
 public:
  // DER must be exactly one certificate with no trailing bytes.
  static Result<Certificate> from_der(ByteView der);
  // The first certificate of a PEM text.
  static Result<Certificate> from_pem(ByteView pem);

  X509* get() const { return cert_.get(); }
  std::string subject() const;  // one-line RFC 2253 form
  std::string issuer() const;
  std::time_t not_before() const;
  std::time_t not_after() const;
  Result<PublicKey> public_key() const;
  Bytes der() const;
  Bytes fingerprint_sha256() const;
  // Key usage bits (X509v3_KU_*) if the extension is present.
  std::optional<std::uint32_t> key_usage() const;
  // True if the extendedKeyUsage extension is present and lists `nid`; nullopt when absent.
  std::optional<bool> has_extended_key_usage(int nid) const;

 private:
  explicit Certificate(UniquePtr<X509> c) : cert_(std::move(c)) {}
  UniquePtr<X509> cert_;
};

// Every certificate of a PEM bundle, in order. Fails if there is none.
Result<std::vector<Certificate>> parse_pem_bundle(ByteView pem);

// Verifies that `leaf` chains to one of `trusted` through `intermediates`, at time `at`
// (validity periods are checked against it, never against the clock). Trusted
// certificates are the only anchors: no partial chains. The error names the failing
// certificate and OpenSSL's reason.
Status verify_chain(const Certificate& leaf, std::span<const Certificate> intermediates,
                    std::span<const Certificate> trusted, std::time_t at);

}  // namespace cci::crypto
