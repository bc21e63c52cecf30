// The attested TLS identity cci-run cert and cci-run serve issue: claims for a key and a
// manifest, evidence over them from the TEE, and the cci RA-TLS v1 certificate carrying both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attest/evidence_source.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "ratls/attested_cert.h"

namespace cci::tools::run {

// pubkey-hash of `key`, SHA-256 of the manifest bytes, purpose and (optional) deployment id.
ratls::Claims identity_claims(const crypto::PrivateKey& key, ByteView manifest, const std::string& purpose, const std::string& deploy);

struct IssuedCertificate {
  crypto::Certificate cert;
  std::string tee;  // "snp" | "csv"
  bool simulated = false;
  std::vector<std::string> warnings;
};

// Evidence over `claims` from `source`, then the certificate for `key` carrying it (and the
// platform certificates that came with it, as endorsements).
Result<IssuedCertificate> issue_attested_certificate(attest::EvidenceSource& source, const crypto::PrivateKey& key, const ratls::Claims& claims,
                                                     const ratls::AttestedCertSpec& spec);

// The tagged evidence (CBOR tag(T)([evidence, claims])) for `claims`: fresh evidence answers.
Result<Bytes> tagged_evidence_for(attest::EvidenceSource& source, ByteView claims_cbor);

}  // namespace cci::tools::run
