// Signing a model directory into an OMS bundle and verifying a directory against one.
// This is the library behind `cci-measure model` and `cci-verify model`.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "manifest/file_tree.h"
#include "manifest/model_hash.h"
#include "manifest/oms.h"
#include "sigstore/bundle.h"
#include "sigstore/trusted_root.h"

namespace cci::manifest {

struct ModelSource {
  std::string dir;                  // model directory (or single file)
  std::vector<std::string> ignore;  // root-relative ignore paths (already normalised)
  bool allow_symlinks = false;
};

// The subject name the reference writes: the basename of the model path.
std::string model_name(const std::string& dir);

struct SignedModel {
  std::string bundle_json;
  ModelDigest digest;
};

// Hashes `files` (as listed from `src`) and signs. `chain_der` empty: key bundle (publicKey.hint); otherwise an
// x509CertificateChain bundle whose first certificate must hold the key's public half.
// OMS allows ECDSA P-256/P-384/P-521 keys only.
Result<SignedModel> sign_model(const ModelSource& src, const std::vector<TreeFile>& files, const HashConfig& cfg,
                               const crypto::PrivateKey& key, const std::vector<Bytes>& chain_der = {});

// One line of the "checks performed" list.
struct Check {
  std::string id;      // stable identifier, e.g. "oms.signature"
  bool passed = false;
  std::string detail;  // what was compared / why it failed
};

struct FileFinding {
  enum class Kind { kMismatch, kMissing, kExtra } kind;
  std::string name;
};
const char* file_finding_name(FileFinding::Kind k);  // "mismatch" | "missing" | "extra"

struct VerifyModelOptions {
  ModelSource source;  // ignore: extra paths to ignore besides the bundle's own list
  bool ignore_unsigned_files = false;
  // Check the bundle alone (signature, statement, subject digest) without reading the model.
  bool signature_only = false;
  // Exactly one of these is used, according to the bundle's verification material.
  std::optional<crypto::PublicKey> public_key;
  std::vector<crypto::Certificate> trust_anchors;
  // Keyless (Sigstore) bundles, signed with a Fulcio certificate and logged in Rekor: the trusted
  // root and the signer expected (common/sigstore/bundle.h); used instead of trust_anchors.
  std::shared_ptr<const sigstore::TrustedRoot> trusted_root;
  sigstore::ExpectedSigner signer;
  std::time_t at = 0;  // time for certificate validity (keyless: no signing time may be later)
  unsigned threads = 0;
  std::function<void(std::uint64_t)> on_bytes;
  std::function<void(std::uint64_t total)> on_start;  // total bytes about to be hashed
};

struct ModelVerification {
  bool passed = false;
  std::vector<Check> checks;
  std::vector<FileFinding> files;  // every mismatching, missing and extra file
  std::vector<std::string> matching_files;  // every signed file whose digests match, in path order
  oms::Statement statement;        // valid when the signature check passed
  std::optional<sigstore::SignerIdentity> signer;  // keyless bundles: who signed, as verified
  std::vector<std::time_t> signed_at;              // keyless bundles: the verified signing times
  Bytes recomputed_root;
};

// Returns an error only when the bundle cannot be evaluated at all (unreadable model,
// malformed bundle: kMalformed); every verification outcome is in ModelVerification.
Result<ModelVerification> verify_model(ByteView bundle_json, const VerifyModelOptions& opts);

}  // namespace cci::manifest
