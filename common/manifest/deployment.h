// The signed deployment manifest: one DSSE envelope around an in-toto Statement v1 with
// predicateType kDeploymentPredicateType, tying together
//   * the model root digest (OMS files/sha256, same value as cci-measure model),
//   * the expected launch measurements per image and launch configuration (SNP, SEV-ES,
//     SEV, CSV), with the input digests they were computed from,
//   * dm-verity root hashes and file digests of disk images,
//   * the policy expectations verifiers apply to attestation reports.
// Format and JSON schema: manifests/README.md, manifests/deployment-v1.schema.json.
//
// Input is a YAML file (cci.yaml) read strictly: unknown keys, duplicate keys and wrong
// types are errors that carry the line number. Relative paths are relative to the YAML file.
#pragma once

#include <ctime>
#include <optional>

#include "sigstore/bundle.h"
#include "sigstore/trusted_root.h"

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/keys.h"
#include "launch/launch_digest.h"
#include "launch/verity.h"
#include "manifest/model_hash.h"

namespace cci::manifest {

using Json = nlohmann::ordered_json;

inline constexpr char kDeploymentPredicateType[] = "https://cci.dev/deployment-manifest/v1";
inline constexpr int kDeploymentSchemaVersion = 1;
inline constexpr size_t kMaxManifestBytes = 16u << 20;
inline constexpr size_t kMaxDeploymentYamlBytes = 1u << 20;

// ---- input (cci.yaml) ----

struct ModelInput {
  std::string path;                  // model directory, hashed (files / sha256); empty: bundle only
  std::vector<std::string> ignore;   // extra ignore paths, relative to the model
  std::optional<std::string> bundle; // OMS bundle the directory must verify against (without a
                                     // path: its signature and subject digest are checked and its
                                     // root digest recorded)
  std::optional<std::string> key;    // its public key (required with bundle)
  std::optional<std::string> encrypted;  // the model encrypted (cci-measure encrypt): its key id and
                                         // sealed files' digests are recorded; it must be this model
};

struct LaunchInput {
  launch::LaunchConfig config;       // ovmf / kernel / initrd / append filled from the image
  std::optional<std::string> vcpu_type;
  // TDX: MRTD is computed from the firmware; what the firmware then measures (kernel, initrd,
  // command line, boot variables) lands in RTMR0-3, which the description gives as a reference
  // boot reported them, and MRCONFIGID is what the host sets at launch (e.g. an init-data digest).
  std::optional<std::array<Bytes, 4>> tdx_rtmrs;
  std::optional<Bytes> tdx_mr_config_id;
};

struct ImageInput {
  std::string name;
  std::string ovmf;
  std::optional<std::string> kernel, initrd, append;
  std::vector<LaunchInput> launches;
};

struct DiskInput {
  std::string name;
  std::string path;
  std::optional<launch::VerityParams> verity;
};

// Confidential Containers (docs/deploy-kubernetes.md): the pod that runs cci-run serve. Its
// init-data (kubernetes/init_data.h) is rendered from these settings and the model's digest at
// build time; its digest becomes the expected SEV-SNP HOST_DATA (policy.host_data) and each TDX
// launch's MRCONFIGID, so a replica started with other init-data fails verification.
struct KubernetesInput {
  std::string image;                     // the cci-run container image, pinned (NAME@sha256:HEX)
  std::string runtime_class;             // the Kata confidential runtime class
  unsigned port = 8443;
  std::string model_path = "/opt/cci/model";  // the model directory inside the container
  std::string key_source;                // cci-run serve --key-source: push or cdh:///REPO/TYPE/TAG (empty: none given)
  std::optional<std::string> kbs_url;    // trustee, for the guest's attestation agent and data hub
  std::optional<std::string> kbs_cert;   // its certificate (path, read at build time)
  std::string init_data_algorithm = "sha384";
};

struct DeploymentInput {
  std::string name;
  std::optional<ModelInput> model;
  std::vector<ImageInput> images;
  std::vector<DiskInput> disks;
  std::optional<KubernetesInput> kubernetes;
  Json policy = Json::object();  // validated, normalised policy expectations
};

// Parses cci.yaml. `base_dir` resolves relative paths (normally the file's directory);
// `file_label` prefixes error messages ("cci.yaml:12: ...").
Result<DeploymentInput> parse_deployment_yaml(std::string_view text, const std::string& base_dir,
                                              const std::string& file_label);

// Reads a policy file (the `policy:` mapping of cci.yaml as a document of its own) into the
// normalised JSON form the verifiers apply; same strictness and defaults.
Result<Json> parse_policy_yaml(std::string_view text, const std::string& file_label);

// ---- building and signing ----

struct BuildOptions {
  unsigned threads = 0;
  std::function<void(const std::string&)> on_step;  // human progress ("hashing model …")
  std::function<void(std::uint64_t)> on_bytes;
  const std::atomic<bool>* cancel = nullptr;
  std::string created;  // RFC 3339 UTC time recorded in the predicate
};

struct BuiltManifest {
  std::string statement;     // exact statement bytes (the DSSE payload)
  Json predicate;
  std::vector<std::string> warnings;
};

// Computes every digest the input names and returns the statement.
Result<BuiltManifest> build_deployment(const DeploymentInput& in, const BuildOptions& opts);

// The JSON form of one launch measurement (also `cci-measure image --json`).
Json launch_measurement_json(const launch::LaunchConfig& cfg, const launch::LaunchDigest& d);

// DSSE envelope {"payloadType","payload","signatures":[{"keyid","sig"}]}; keyid is the
// SHA-256 of the signer's public key PEM (same hint as OMS bundles).
Result<std::string> sign_envelope(const std::string& statement, const crypto::PrivateKey& key);

struct VerifiedManifest {
  std::string key_hint;  // the release key's hint; "keyless:IDENTITY" for a keyless manifest
  std::optional<sigstore::SignerIdentity> signer;  // keyless: who signed, as verified
  Json statement;
  Json predicate;
};

// Verifies the envelope with `key`: strict envelope structure (no unknown fields, exactly
// one signature, keyid equal to the key's hint), the signature over PAE(payloadType,
// payload), then the statement's type, predicate type and schema version. kMalformed for
// structure errors, kVerificationFailed for a wrong key or signature.
Result<VerifiedManifest> verify_deployment_manifest(ByteView envelope_json, const crypto::PublicKey& key);

// A deployment manifest signed keylessly: a Sigstore bundle (docs/keyless-signing.md) around a
// DSSE envelope whose payload is the deployment statement `cci-measure manifest build --unsigned`
// writes, verified offline against `root` and the expected signer (sigstore::verify_bundle), then
// the statement as above.
Result<VerifiedManifest> verify_keyless_deployment_manifest(ByteView bundle_json, const sigstore::TrustedRoot& root, const sigstore::ExpectedSigner& who,
                                                            std::time_t at);

// The statement checks alone (type, predicate type, schema version) on verified payload bytes.
Result<VerifiedManifest> parse_deployment_statement(ByteView payload);

// SM2 keys sign manifests with this distinguishing ID (GB/T 32918 default ID).
inline constexpr char kManifestSm2Id[] = "1234567812345678";

}  // namespace cci::manifest
