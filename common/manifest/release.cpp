#include "manifest/release.h"

#include "base/hex.h"
#include "crypto/keys.h"
#include "manifest/model_signing.h"
#include "sigstore/trusted_root.h"

namespace cci::manifest {
namespace {

bool is_oms_bundle(ByteView data) {
  const std::string_view text(reinterpret_cast<const char*>(data.data()), std::min<size_t>(data.size(), 4096));
  return text.find(oms::kBundleMediaType) != std::string_view::npos;
}

Error release_error(ErrorCode code, const std::string& what, const std::string& field) {
  return make_error(code, "the signed manifest " + what, field);
}

}  // namespace

std::string deployment_name(const VerifiedManifest& m) {
  const Json& p = m.predicate;
  return p.is_object() && p.contains("name") && p["name"].is_string() ? p["name"].get<std::string>() : std::string();
}

Result<oms::Statement> deployment_model_statement(const VerifiedManifest& m) {
  const Json& p = m.predicate;
  if (!p.contains("model") || !p["model"].is_object()) {
    return release_error(ErrorCode::kInvalidInput, "names no model: build it with a model: section (cci-measure manifest build)", "model");
  }
  const Json& model = p["model"];
  if (!model.contains("files") || !model["files"].is_array() || !model.contains("serialization") || !model["serialization"].is_object()) {
    return release_error(ErrorCode::kUnsupported,
                         "does not list the model's files (built by an older cci-measure): rebuild it with cci-measure manifest build",
                         "model.files");
  }
  // The model section holds an OMS predicate's resources and serialization: parse it with the
  // OMS statement parser, which is strict about every field.
  const std::string name = model.contains("name") && model["name"].is_string() ? model["name"].get<std::string>() : std::string();
  const Json statement{{"_type", oms::kStatementType},
                       {"subject", Json::array({Json{{"name", name},
                                                     {"digest", model.contains("root_digest") ? model["root_digest"] : Json::object()}}})},
                       {"predicateType", oms::kPredicateType},
                       {"predicate", Json{{"resources", model["files"]}, {"serialization", model["serialization"]}}}};
  const std::string text = statement.dump();
  auto st = oms::parse_statement(as_bytes(text));
  if (!st) return make_error(st.error().code, "the deployment manifest's model section: " + st.error().message, "model");
  if (!crypto::ct_equal(root_digest(st->resources), st->subject_sha256)) {
    return release_error(ErrorCode::kVerificationFailed, "has a model root digest that its file digests do not give", "model.root_digest");
  }
  return st;
}

std::string ReleaseSigner::describe() const {
  if (!keyless()) return "the release key";
  return "the keyless signer " + (identity.identity_regexp.empty() ? identity.identity : "matching " + identity.identity_regexp) + " (issuer " + identity.issuer + ")";
}

// Whether a Sigstore bundle's DSSE payload is a deployment statement (read only to choose the
// verifier; both verify everything).
bool carries_deployment(ByteView bundle) {
  auto b = sigstore::parse_bundle(bundle);
  if (!b || !b->dsse) return false;
  const Json st = Json::parse(b->dsse->payload.begin(), b->dsse->payload.end(), nullptr, false);
  return st.is_object() && st.value("predicateType", "") == kDeploymentPredicateType;
}

Result<Release> verify_release(Bytes manifest, ReleaseSigner signer, std::time_t at) {
  Release r;
  if (signer.keyless() && is_oms_bundle(manifest) && carries_deployment(manifest)) {
    CCI_ASSIGN(root, sigstore::parse_trusted_root(signer.trusted_root));
    CCI_ASSIGN(d, verify_keyless_deployment_manifest(manifest, root, signer.identity, at));
    CCI_SET(r.model, deployment_model_statement(d));
    r.kind = Release::Kind::kDeployment;
    r.deployment = std::move(d);
  } else if (is_oms_bundle(manifest)) {
    VerifyModelOptions vo;
    vo.signature_only = true;
    vo.at = at;
    if (signer.keyless()) {
      auto root = sigstore::parse_trusted_root(signer.trusted_root);
      if (!root) return root.error();
      vo.trusted_root = std::make_shared<const sigstore::TrustedRoot>(std::move(*root));
      vo.signer = signer.identity;
    } else {
      CCI_ASSIGN(key, crypto::load_public_key_pem(signer.key_pem));
      vo.public_key = std::move(key);
    }
    CCI_ASSIGN(v, verify_model(manifest, vo));
    if (!v.passed) {
      for (const auto& c : v.checks) {
        if (!c.passed) return make_error(ErrorCode::kVerificationFailed, "the model bundle does not verify: " + c.id + ": " + c.detail, c.id);
      }
      return make_error(ErrorCode::kVerificationFailed, "the model bundle does not verify", "bundle");
    }
    r.kind = Release::Kind::kModelBundle;
    r.model = std::move(v.statement);
  } else {
    if (signer.keyless()) {
      return release_error(ErrorCode::kVerificationFailed,
                           "is signed with a release key (a DSSE envelope), not keylessly: give --release-key, or sign the deployment statement "
                           "keylessly (docs/keyless-signing.md)",
                           "release-key");
    }
    CCI_ASSIGN(key, crypto::load_public_key_pem(signer.key_pem));
    CCI_ASSIGN(d, verify_deployment_manifest(manifest, key));
    CCI_SET(r.model, deployment_model_statement(d));
    r.kind = Release::Kind::kDeployment;
    r.deployment = std::move(d);
  }
  r.manifest = std::move(manifest);
  r.signer = std::move(signer);
  return r;
}

Result<VerifiedManifest> verify_deployment(ByteView manifest, const ReleaseSigner& signer, std::time_t at) {
  if (!signer.keyless()) {
    CCI_ASSIGN(key, crypto::load_public_key_pem(signer.key_pem));
    return verify_deployment_manifest(manifest, key);
  }
  CCI_ASSIGN(root, sigstore::parse_trusted_root(signer.trusted_root));
  return verify_keyless_deployment_manifest(manifest, root, signer.identity, at);
}

Result<Release> verify_release(Bytes manifest, Bytes key_pem, std::time_t at) {
  ReleaseSigner s;
  s.key_pem = std::move(key_pem);
  if (s.key_pem.empty()) return make_error(ErrorCode::kUsage, "the release key is empty", "release-key");
  return verify_release(std::move(manifest), std::move(s), at);
}

}  // namespace cci::manifest
