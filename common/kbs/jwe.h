// The resource a trustee KBS releases: a flattened JWE (RFC 7516 section 7.2.2) encrypted to the
// client's ephemeral P-256 key with ECDH-ES+A256KW and A256GCM (RFC 7518 sections 4.6 and 5.3).
// The client accepts exactly what trustee sends (kbs/src/jwe): alg ECDH-ES+A256KW, enc A256GCM,
// no zip, no crit, the ephemeral key in the *protected* header (so the AAD covers it) with
// 32-byte coordinates on P-256, a 40-byte wrapped key, a 12-byte IV, a 16-byte tag, no AAD and no
// unprotected header. Everything that passes is decrypted by libjose (Debian libjose), never by
// hand-written JOSE code; each refusal names the check that failed (Error::field: "alg", "enc",
// "zip", "crit", "epk-location", "epk", "epk-point", "protected", "jwe", "encrypted_key", "iv",
// "tag", "key-unwrap", "gcm-tag").
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "crypto/keys.h"
#include "crypto/random.h"

namespace cci::kbs {

// The client's ephemeral key pair ("tee-pubkey"): made fresh for each key-release session, its
// private half held only in memory.
class TeeKey {
 public:
  static Result<TeeKey> generate();
  // A private JWK {kty EC, crv P-256, x, y, d} (the tests' fixed keys).
  static Result<TeeKey> from_private_jwk(const nlohmann::json& jwk);
  // {"kty":"EC","crv":"P-256","alg":"ECDH-ES+A256KW","x":…,"y":…}: exactly what the KBS keeps.
  nlohmann::json public_jwk() const;
  const crypto::PrivateKey& key() const { return key_; }

 private:
  TeeKey(crypto::PrivateKey k, std::string x, std::string y) : key_(std::move(k)), x_(std::move(x)), y_(std::move(y)) {}
  crypto::PrivateKey key_;
  std::string x_, y_;  // base64url, 32 bytes each
};

// The plaintext of a KBS resource response, or the refusal naming the failed check.
Result<crypto::SecretBytes> decrypt_resource(std::string_view flattened_jwe, const TeeKey& key);

// base64url without padding (RFC 7515 section 2), strictly: any other character, or padding, is
// an error naming `what`.
Result<Bytes> b64url_decode(std::string_view text, const std::string& what);
std::string b64url_encode(ByteView data);

}  // namespace cci::kbs
