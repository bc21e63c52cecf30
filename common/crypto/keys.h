// Asymmetric keys, signatures and signature verification.
//
// Schemes (one per key type, never negotiated from input):
//   ECDSA P-256 / P-384 / P-521 with SHA-256 / SHA-384 / SHA-512, DER signatures;
//   SM2 with SM3 and a caller-given distinguishing ID (GB/T 32918; OpenSSL 3 needs the ID
//   set on the pkey context, see OpenSSL 3 EVP_PKEY_CTX_set1_id and GB/T 32918.2 §5.5); Ed25519 (pure);
//   RSA-PSS verification with explicit digest and salt length (AMD certificates).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/digest.h"
#include "crypto/ossl.h"
#include "crypto/random.h"

namespace cci::crypto {

enum class KeyType { kEcP256, kEcP384, kEcP521, kSm2, kEd25519, kRsa, kOther };

const char* key_type_name(KeyType t);  // "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "sm2", "ed25519", "rsa"
std::optional<KeyType> key_type_from_name(std::string_view name);
// Digest used when signing with this key type (ECDSA by curve size, SM3 for SM2); none for Ed25519.
std::optional<DigestAlg> default_digest(KeyType t);

class PublicKey {
 public:
  explicit PublicKey(UniquePtr<EVP_PKEY> k);
  PublicKey clone() const;  // another reference to the same key
  KeyType type() const { return type_; }
  EVP_PKEY* get() const { return key_.get(); }
  // SubjectPublicKeyInfo as PEM text ("-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n").
  std::string pem() const;
  Bytes spki_der() const;

 private:
  UniquePtr<EVP_PKEY> key_;
  KeyType type_;
};

class PrivateKey {
 public:
  explicit PrivateKey(UniquePtr<EVP_PKEY> k);
  KeyType type() const { return type_; }
  EVP_PKEY* get() const { return key_.get(); }
  PublicKey public_key() const;
  // PKCS#8 PEM; encrypted with AES-256-CBC (scrypt/PBKDF2 per OpenSSL defaults) when a
  // passphrase is given. Fails for keys that live in a token (PKCS#11).
  Result<std::string> pem(const std::optional<std::string>& passphrase) const;

 private:
  UniquePtr<EVP_PKEY> key_;
  KeyType type_;
};

Result<PrivateKey> generate_key(KeyType type);

// Loads a PEM private key (PKCS#8, traditional EC, encrypted or not). An encrypted key
// without a passphrase, or a wrong passphrase, is an error naming the cause.
Result<PrivateKey> load_private_key_pem(ByteView pem, const std::optional<std::string>& passphrase);

// Loads a private key that stays inside a PKCS#11 token, by RFC 7512 URI
// ("pkcs11:token=...;object=...;pin-value=..."), through OpenSSL's pkcs11 engine
// (Debian libengine-pkcs11-openssl). `module` is the PKCS#11 module path (empty: the
// engine's default, p11-kit-proxy); `pin` is used when the URI carries none.
Result<PrivateKey> load_private_key_pkcs11(const std::string& uri, const std::string& module,
                                           const std::optional<std::string>& pin);

// Loads a PEM SubjectPublicKeyInfo; text before the BEGIN line is ignored.
Result<PublicKey> load_public_key_pem(ByteView pem);
Result<PublicKey> load_public_key_der(ByteView der);

struct SignOptions {
  std::optional<DigestAlg> digest;  // default: default_digest(key type)
  std::string sm2_id;               // SM2 only: distinguishing ID, must be non-empty
};

// Signs `msg`; ECDSA and SM2 signatures are DER (SEQUENCE { r, s }).
Result<Bytes> sign(const PrivateKey& key, ByteView msg, const SignOptions& opts = {});
// Verifies `sig` over `msg`; kVerificationFailed if the signature does not verify.
Status verify(const PublicKey& key, ByteView msg, ByteView sig, const SignOptions& opts = {});

// AMD/Hygon store ECDSA/SM2 r and s as little-endian integers in fixed-width fields.
// Converts them to a DER ECDSA-Sig-Value (leading zero bytes are insignificant).
Result<Bytes> ecdsa_le_rs_to_der(ByteView r_le, ByteView s_le);
// The inverse: r and s of a DER ECDSA-Sig-Value as little-endian integers of `width` bytes.
Result<std::pair<Bytes, Bytes>> ecdsa_der_to_le_rs(ByteView der, size_t width);

// An SM2 public key from big-endian affine coordinates (32 bytes each). Fails with kMalformed
// when the point is not on the SM2 curve.
Result<PublicKey> sm2_public_key_from_xy(ByteView x_be, ByteView y_be);

// A P-256 or SM2 public key from big-endian affine coordinates (32 bytes each). kMalformed when
// a coordinate is not 32 bytes or the point is not on the curve.
Result<PublicKey> ec_public_key_from_xy(KeyType curve, ByteView x_be, ByteView y_be);

// The private scalar of an EC key, big-endian, left-padded to `width` bytes (wiped when dropped).
Result<SecretBytes> ec_private_scalar(const PrivateKey& key, size_t width);

// A P-256 private key from its scalar and public coordinates (big-endian, 32 bytes each); the
// point must be on the curve and match the scalar.
Result<PrivateKey> p256_private_key(ByteView d_be, ByteView x_be, ByteView y_be);

// The affine coordinates of an EC (incl. SM2) public key, big-endian, `width` bytes each.
Result<std::pair<Bytes, Bytes>> ec_public_xy(const PublicKey& key, size_t width);

// RSASSA-PSS verification with MGF1 using the same digest and an exact salt length.
Status verify_rsa_pss(const PublicKey& key, DigestAlg digest, int salt_len, ByteView msg, ByteView sig);

}  // namespace cci::crypto
