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
#include "serve/accept_loop.h"

namespace cci::tools::run {

using serve::IssuedCertificate;

// Evidence over `claims` from `source`, then the certificate for `key` carrying it (and the
// platform certificates that came with it, as endorsements).
Result<IssuedCertificate> issue_attested_certificate(attest::EvidenceSource& source, const crypto::PrivateKey& key, const ratls::Claims& claims,
                                                     const ratls::AttestedCertSpec& spec);

// The tagged evidence (CBOR tag(T)([evidence, claims])) for `claims`: fresh evidence answers.
Result<Bytes> tagged_evidence_for(attest::EvidenceSource& source, ByteView claims_cbor);

}  // namespace cci::tools::run
