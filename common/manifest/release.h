// What a cci-run process is told to serve, checked once from exact bytes: the signed manifest
// and the release key that must have signed it. The manifest is either
//   * a deployment manifest (cci-measure manifest build): the model's files, the launch
//     measurements, the policy; what clients verify a live server against, or
//   * a plain model bundle (OMS, cci-measure model): the model's files only. A client can then
//     check nothing about the VM; tools say so loudly.
// The bytes are kept: a server hashes them into its attested claims, serves them to clients
// and hands them (not paths) to its workers, which check them again with the same code.
#pragma once

#include <ctime>
#include <optional>

#include "base/bytes.h"
#include "base/result.h"
#include "manifest/deployment.h"
#include "manifest/oms.h"
#include "sigstore/bundle.h"

namespace cci::manifest {

// Who must have signed a release: a release key, or a keyless Sigstore signer, checked against a trusted root (docs/keyless-signing.md). Kept as bytes: the server
// hands it to its workers, which check the release again.
struct ReleaseSigner {
  Bytes key_pem;                      // the release public key, as given; empty: keyless
  Bytes trusted_root;                 // keyless: the Sigstore trusted root's JSON, as given
  sigstore::ExpectedSigner identity;  // keyless: the expected identity and issuer
  bool keyless() const { return key_pem.empty(); }
  std::string describe() const;       // "release key" | "keyless signer ID (issuer URL)"
};

struct Release {
  enum class Kind { kDeployment, kModelBundle };
  Kind kind = Kind::kDeployment;
  Bytes manifest;        // exactly the signed bytes
  ReleaseSigner signer;  // as given
  oms::Statement model;  // the model's signed files and serialization
  std::optional<VerifiedManifest> deployment;  // kDeployment
};

inline constexpr size_t kMaxReleaseManifestBytes = 64u << 20;

// Recognises the manifest (a DSSE deployment envelope or a Sigstore bundle), verifies its
// signature with the key and extracts the model's expected files. A deployment manifest
// without a model, or without the model's file list (built before cci recorded it), is an
// error that says to rebuild it.
// A keyless signer's release is a Sigstore bundle (signed through Fulcio and Rekor) around a model
// statement (OMS) or a deployment statement; a key-signed envelope given a keyless signer is refused.
Result<Release> verify_release(Bytes manifest, ReleaseSigner signer, std::time_t at);
Result<Release> verify_release(Bytes manifest, Bytes key_pem, std::time_t at);

// A deployment manifest alone (report --deployment, launch-measure): the DSSE envelope with the
// release key, or the Sigstore bundle with the keyless signer.
Result<VerifiedManifest> verify_deployment(ByteView manifest, const ReleaseSigner& signer, std::time_t at);

// The deployment's name ("" when it has none or it is not a string).
std::string deployment_name(const VerifiedManifest& m);

// The model section of a verified deployment manifest as an OMS statement (its root digest is
// recomputed from the file digests and must match).
Result<oms::Statement> deployment_model_statement(const VerifiedManifest& m);

}  // namespace cci::manifest
