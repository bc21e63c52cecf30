// The claims an attested TLS certificate binds into the hardware report (specs/ratls-isolation.md
// §3.5, the Gramine/librats interoperable RA-TLS layout): a deterministic CBOR map (RFC 8949
// §4.2.1: definite lengths, keys sorted by their encoding)
//   "pubkey-hash"  : bstr(CBOR [1, bstr SHA-256(SubjectPublicKeyInfo DER)])   (1 = sha-256, IANA)
//   "cci-purpose"  : tstr  ("tls-server", ...; domain separation)
//   "cci-manifest" : bstr  SHA-256 of the signed manifest bytes
//   "cci-deploy"   : tstr  deployment id (optional)
//   "nonce"        : bstr  (fresh evidence only)
//   "cci-exporter" : bstr  TLS-Exporter("EXPORTER-cci-attest", nonce, 32) (fresh evidence only)
// and REPORT_DATA (SNP) / user_data (CSV) = SHA-256(claims bytes) || 32 zero bytes.
// Decoding is strict: one definite-length map, no duplicate or unknown keys, sizes bounded.
#pragma once

#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::ratls {

struct Claims {
  Bytes pubkey_sha256;  // 32 bytes
  std::string purpose = "tls-server";
  Bytes manifest_sha256;  // 32 bytes
  std::optional<std::string> deploy;
  std::optional<Bytes> nonce, exporter;
};

inline constexpr size_t kMaxClaimsBytes = 4096;

Result<Bytes> encode_claims(const Claims& c);
Result<Claims> decode_claims(ByteView cbor);

// SHA-256(claims) || 0^32: the 64 bytes of REPORT_DATA that bind them.
Bytes report_data_for_claims(ByteView claims_cbor);

}  // namespace cci::ratls
