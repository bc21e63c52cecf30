// Sigstore bundles (the protobuf-specs Bundle message in its JSON form) and their offline
// verification against a trusted root and an expected signer, as the Sigstore client
// specification describes it ("Sigstore Client Spec", verification section):
//   1. the bundle: media type application/vnd.dev.sigstore.bundle+json;version=0.1 | 0.2 | 0.3 or
//      application/vnd.dev.sigstore.bundle.v0.3+json; the signing certificate (v0.1/v0.2
//      x509CertificateChain, v0.3 certificate), which must not be a root; the transparency-log
//      entries (v0.1: each with a signed entry timestamp; from v0.2: each with an inclusion proof);
//      RFC 3161 timestamps; the content, a messageSignature or a DSSE envelope;
//   2. each Rekor v1 entry: the log key by log id from the trusted root, its window covering the
//      entry's integratedTime; the signed entry timestamp; the inclusion proof (RFC 9162 section
//      2.1.3.2) to a root that equals the proof's rootHash and the checkpoint's root, the checkpoint
//      signed by the log; the entry's body (hashedrekord 0.0.1, dsse 0.0.1, intoto 0.0.2) names
//      exactly this bundle's signature, certificate and artifact or payload;
//   3. the verified times: each verified entry's integratedTime (when its SET verifies) and each
//      RFC 3161 genTime (signed by a timestamp authority of the root, inside its window); at least
//      one is needed, none may lie in the future;
//   4. at every verified time, the Fulcio certificate chains to a certificate authority of the root
//      and is valid; it carries an SCT by a CT log of the root; its signer (SAN and OIDC issuer)
//      is exactly the expected one (or matches the whole expected regular expression);
//   5. the signature over the content by the certificate's key: the artifact (messageSignature,
//      whose messageDigest, when present, must be the artifact's SHA-256) or the DSSE PAE.
// What a failure names (Error::field): bundle, tlog-key-unknown, tlog-key-validity, tlog-set,
// tlog-inclusion-proof, tlog-checkpoint, tlog-body, tsa-timestamp, signing-time,
// certificate-chain, sct, identity, issuer, artifact, signature, dsse-signature.
// Not covered: Rekor v2 entries (Ed25519 checkpoints, TSA-only time) and key-based (publicKey)
// bundles, which common/manifest verifies with the release key.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/x509.h"
#include "sigstore/fulcio.h"
#include "sigstore/trusted_root.h"

namespace cci::sigstore {

inline constexpr size_t kMaxBundleBytes = 256u << 20;  // OMS bundles list every file (or shard)
inline constexpr size_t kMaxTlogEntries = 8;
inline constexpr size_t kMaxTimestamps = 8;

struct InclusionProof {
  std::uint64_t log_index = 0;  // shard-local
  std::uint64_t tree_size = 0;
  Bytes root_hash;
  std::vector<Bytes> hashes;
  std::string checkpoint;  // the signed note
};

struct TlogEntry {
  std::int64_t log_index = 0;  // global
  Bytes log_id;
  std::string kind, kind_version;
  std::int64_t integrated_time = 0;
  std::optional<Bytes> set;  // inclusionPromise.signedEntryTimestamp
  std::optional<InclusionProof> proof;
  Bytes body;  // canonicalizedBody
};

struct MessageSignature {
  std::optional<Bytes> sha256;  // messageDigest, an unauthenticated hint
  Bytes signature;
};

struct DsseEnvelope {
  std::string payload_type;
  Bytes payload;
  Bytes signature;  // exactly one signature
};

struct Bundle {
  int version = 3;  // the minor version: 1, 2 or 3
  std::string media_type;
  std::optional<crypto::Certificate> leaf;  // absent: a key-based bundle (publicKey)
  std::vector<TlogEntry> tlog;
  std::vector<Bytes> timestamps;  // RFC 3161 TimeStampResp, DER
  std::optional<MessageSignature> message;
  std::optional<DsseEnvelope> dsse;  // exactly one of message and dsse
};

// Strict: every field used is type-checked, base64 is canonical, integers are non-negative
// decimals (protobuf JSON writes 64-bit integers as strings). kMalformed (field "bundle") or
// kUnsupported (an unknown media type) naming the JSON field.
Result<Bundle> parse_bundle(ByteView json);

struct ExpectedSigner {
  std::string identity;         // exact SAN (e-mail or URI); or
  std::string identity_regexp;  // ECMAScript regular expression the whole SAN must match
  std::string issuer;           // exact OIDC issuer
};

struct BundleCheck {
  std::string id;      // e.g. "sigstore.tlog_set"
  std::string detail;  // what was compared
};

struct VerifiedBundle {
  SignerIdentity signer;
  std::vector<std::time_t> times;  // the verified signing times
  std::vector<BundleCheck> checks;  // every check made, in order (all passed)
  const DsseEnvelope* dsse = nullptr;  // the bundle's envelope (for DSSE bundles), verified
};

// The trusted root's log for an entry, by log id, its key's window covering the entry's
// integratedTime (tlog-key-unknown, tlog-key-validity otherwise).
Result<const LogKey*> log_of(const TlogEntry& e, const TrustedRoot& root);
// The host of a log's base URL: the name its checkpoint signatures carry.
std::string log_host(const std::string& base_url);
// An entry's Rekor v1 proofs with the log's key: the signed entry timestamp when present, the
// inclusion proof to a root equal to the proof's rootHash and its checkpoint's, and the
// checkpoint's signature, when present (tlog-set, tlog-inclusion-proof, tlog-checkpoint).
// `log_name`: the checkpoint signer's name; empty: the checkpoint origin's first part.
Status verify_entry_proofs(const TlogEntry& e, const crypto::PublicKey& log_key, const std::string& log_name);

// `artifact`: the signed file's bytes for messageSignature bundles; for DSSE bundles, when given,
// its SHA-256 must be a subject of the in-toto statement. `now`: no verified time may be later.
Result<VerifiedBundle> verify_bundle(const Bundle& b, const TrustedRoot& root, const ExpectedSigner& who, std::optional<ByteView> artifact, std::time_t now);

}  // namespace cci::sigstore
