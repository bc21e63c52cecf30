// OpenSSF Model Signing (OMS) bundles, byte-compatible with sigstore model-transparency
// (sigstore model-transparency v1.1: the OMS bundle, DSSE envelope and in-toto statement; docs/manifest-format.md):
//   model.sig = Sigstore bundle v0.3 (compact JSON) → DSSE envelope → in-toto Statement v1
//   (2-space indented JSON, the exact signed bytes) with predicateType
//   https://model_signing/signature/v1.0 and predicate {resources, serialization}.
// The DSSE signature is over PAE("DSSEv1" SP len(type) SP type SP len(payload) SP payload).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/digest.h"
#include "manifest/model_hash.h"
#include "sigstore/tlog.h"

namespace cci::manifest::oms {

inline constexpr char kBundleMediaType[] = "application/vnd.dev.sigstore.bundle.v0.3+json";
inline constexpr char kPayloadType[] = "application/vnd.in-toto+json";
inline constexpr char kStatementType[] = "https://in-toto.io/Statement/v1";
inline constexpr char kPredicateType[] = "https://model_signing/signature/v1.0";
inline constexpr size_t kMaxBundleBytes = 256u << 20;  // bundles of 1 MB shards stay far below

struct Serialization {
  Method method = Method::kFiles;
  crypto::DigestAlg hash = crypto::DigestAlg::kSha256;
  std::optional<std::uint64_t> shard_size;  // shards only
  bool allow_symlinks = false;
  std::vector<std::string> ignore_paths;  // recorded since model-transparency 1.1.0 (order not significant)
};

struct Statement {
  std::string subject_name;
  Bytes subject_sha256;  // root digest as claimed
  std::vector<Resource> resources;
  Serialization serialization;
};

// The exact statement bytes the reference signs for this model digest.
std::string build_statement(const std::string& model_name, const ModelDigest& digest, const Serialization& ser);

// DSSE pre-authentication encoding (one definition, the Sigstore layer's).
using sigstore::dsse_pae;

// Verification material as carried by a bundle.
struct Material {
  enum class Kind { kPublicKeyHint, kPublicKeyRaw, kCertificateChain, kCertificate } kind = Kind::kPublicKeyHint;
  std::string hint;             // kPublicKeyHint: hex SHA-256 of the PEM public key
  Bytes raw_public_key;         // kPublicKeyRaw (v1.0.x): the PEM text
  std::string key_details;      // kPublicKeyRaw: e.g. PKIX_ECDSA_P384_SHA_384
  std::vector<Bytes> certificates;  // DER, leaf first
};

// A bundle as written by the reference for key-based signing (v1.1.0 layout).
std::string build_key_bundle(ByteView payload, ByteView signature_der, const std::string& hint);
// The same with x509CertificateChain material (leaf first).
std::string build_certificate_bundle(ByteView payload, ByteView signature_der, const std::vector<Bytes>& chain_der);

struct Bundle {
  Material material;
  std::string payload_type;
  Bytes payload;    // statement bytes, exactly as signed
  Bytes signature;  // DER
};

// Parses a bundle; structure errors are kMalformed and name the JSON field.
Result<Bundle> parse_bundle(ByteView json);
// Parses the statement; checks _type and predicateType, the predicate's fields and types.
Result<Statement> parse_statement(ByteView payload);

// Lowercase hex SHA-256 of a public key's PEM text (the reference's publicKey.hint).
std::string public_key_hint(const std::string& public_key_pem);

}  // namespace cci::manifest::oms
