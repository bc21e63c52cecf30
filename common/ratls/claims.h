// The claims an attested TLS certificate binds into the hardware report (docs/architecture.md
// "Attested TLS"; the Gramine/librats interoperable RA-TLS layout): a deterministic CBOR map (RFC 8949
// §4.2.1: definite lengths, keys sorted by their encoding)
//   "pubkey-hash"  : bstr(CBOR [1, bstr SHA-256(SubjectPublicKeyInfo DER)])   (1 = sha-256, IANA)
//   "cci-purpose"  : tstr  ("tls-server", ...; domain separation)
//   "cci-manifest" : bstr  SHA-256 of the signed manifest bytes
//   "cci-deploy"   : tstr  deployment id (optional)
//   "nonce"        : bstr  (fresh evidence only)
//   "cci-exporter" : bstr  TLS-Exporter("EXPORTER-cci-attest", nonce, 32) (fresh evidence only)
//   "cci-gpu"      : bstr  SHA-256 of the GPU evidence sent with a fresh answer (fresh evidence of
//                          a server with confidential GPUs only; ratls/fresh.h)
// and REPORT_DATA (SNP) / user_data (CSV) = SHA-256(claims bytes) || 32 zero bytes.
// Decoding is strict: one definite-length map, no duplicate or unknown keys, sizes bounded.
#pragma once

#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keys.h"

namespace cci::ratls {

struct Claims {
  Bytes pubkey_sha256;  // 32 bytes
  std::string purpose = "tls-server";
  Bytes manifest_sha256;  // 32 bytes
  std::optional<std::string> deploy;
  // An encrypted model's key source ("push", "kbs", "cdh", "file"): absent for a plain model. A
  // client sees "file" (development only: the model key sat on a disk).
  std::optional<std::string> key_source;
  std::optional<Bytes> nonce, exporter;
  std::optional<Bytes> gpu_sha256;  // 32 bytes: "cci-gpu"
};

inline constexpr size_t kMaxClaimsBytes = 4096;

Result<Bytes> encode_claims(const Claims& c);
Result<Claims> decode_claims(ByteView cbor);

// The claims of an attested identity: pubkey-hash of `key`, SHA-256 of the manifest bytes, the
// purpose and (optional, "" for none) the deployment id.
Claims identity_claims(const crypto::PublicKey& key, ByteView manifest, const std::string& purpose, const std::string& deploy);

// SHA-256(claims) || 0^32: the 64 bytes of REPORT_DATA that bind them.
Bytes report_data_for_claims(ByteView claims_cbor);

}  // namespace cci::ratls
