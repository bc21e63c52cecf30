// A P-384 key and a one-hour self-signed certificate for TLS tests.
#pragma once

#include <doctest/doctest.h>

#include <ctime>

#include "crypto/keys.h"
#include "crypto/x509.h"
#include "crypto/x509_issue.h"

namespace cci::test {

struct TlsIdentity {
  crypto::PrivateKey key;
  crypto::Certificate cert;
};

inline TlsIdentity make_tls_identity() {
  auto key = crypto::generate_key(crypto::KeyType::kEcP384);
  REQUIRE(key);
  crypto::CertificateSpec spec;
  spec.subject = {{"CN", "test"}};
  spec.not_before = std::time(nullptr) - 60;
  spec.not_after = spec.not_before + 3600;
  spec.end_entity = true;
  auto cert = crypto::issue_certificate(spec, key->public_key(), *key, nullptr, crypto::IssueSignature::kEcdsaSha384);
  REQUIRE(cert);
  return {std::move(*key), std::move(*cert)};
}

}  // namespace cci::test
