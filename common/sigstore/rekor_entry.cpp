#include "sigstore/rekor_entry.h"

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "crypto/digest.h"
#include "crypto/x509.h"
#include "sigstore/tlog.h"

namespace cci::sigstore {
namespace {

using Json = nlohmann::json;

Error bad(const std::string& where, const std::string& why) { return Error::make(ErrorCode::kMalformed, "Rekor entry: " + where + " " + why, "bundle"); }
Error failed(const char* check, const std::string& why) { return Error::make(ErrorCode::kVerificationFailed, "Rekor entry: " + why, check); }
Error as_check(const Error& e, const char* check) { return Error::make(ErrorCode::kVerificationFailed, e.message, check); }

Result<std::string> str(const Json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return bad(where + "." + key, "is missing or not a string");
  return j[key].get<std::string>();
}

Result<std::int64_t> num(const Json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) return bad(where + "." + key, "is missing or not an integer");
  const auto v = j[key].get<std::int64_t>();
  if (v < 0) return bad(where + "." + key, "is negative");
  return v;
}

Result<Bytes> b64(const Json& j, const char* key, const std::string& where) {
  CCI_ASSIGN(s, str(j, key, where));
  auto b = base64_decode(s, where + "." + key);
  if (!b) return bad(where + "." + key, "is not base64");
  return std::move(*b);
}

Result<Bytes> hex(const Json& j, const char* key, const std::string& where) {
  CCI_ASSIGN(s, str(j, key, where));
  auto b = from_hex(s, where + "." + key);
  if (!b) return bad(where + "." + key, "is not hex");
  return std::move(*b);
}

}  // namespace

Result<TlogEntry> parse_rekor_entry(ByteView json) {
  if (json.size() > kMaxRekorEntryBytes) return bad("(file)", "is larger than " + std::to_string(kMaxRekorEntryBytes) + " bytes");
  const Json file = Json::parse(json.begin(), json.end(), nullptr, false);
  if (file.is_discarded() || !file.is_object()) return bad("(file)", "is not a JSON object");
  // cosign's signature bundle ({base64Signature, cert, rekorBundle}) carries the rekor bundle inside.
  const Json& doc = file.contains("rekorBundle") && file["rekorBundle"].is_object() ? file["rekorBundle"] : file;
  TlogEntry t;
  if (doc.contains("Payload")) {  // cosign's rekor bundle
    CCI_ASSIGN(set, b64(doc, "SignedEntryTimestamp", "bundle"));
    const Json& p = doc["Payload"];
    CCI_ASSIGN(body, b64(p, "body", "Payload"));
    CCI_ASSIGN(time, num(p, "integratedTime", "Payload"));
    CCI_ASSIGN(index, num(p, "logIndex", "Payload"));
    CCI_ASSIGN(id, hex(p, "logID", "Payload"));
    t.set = std::move(set);
    t.body = std::move(body);
    t.integrated_time = time;
    t.log_index = index;
    t.log_id = std::move(id);
  } else {  // the API's {UUID: entry}
    if (doc.size() != 1) return bad("(file)", "is not one {UUID: entry} object (or a cosign rekor bundle)");
    const std::string uuid = doc.begin().key();
    const Json& e = doc.begin().value();
    CCI_ASSIGN(body, b64(e, "body", uuid));
    CCI_ASSIGN(time, num(e, "integratedTime", uuid));
    CCI_ASSIGN(index, num(e, "logIndex", uuid));
    CCI_ASSIGN(id, hex(e, "logID", uuid));
    t.body = std::move(body);
    t.integrated_time = time;
    t.log_index = index;
    t.log_id = std::move(id);
    if (!e.contains("verification") || !e["verification"].is_object()) return bad(uuid + ".verification", "is missing");
    const Json& v = e["verification"];
    CCI_ASSIGN(set, b64(v, "signedEntryTimestamp", uuid + ".verification"));
    t.set = std::move(set);
    if (v.contains("inclusionProof")) {
      const std::string w = uuid + ".verification.inclusionProof";
      const Json& p = v["inclusionProof"];
      InclusionProof proof;
      CCI_ASSIGN(pi, num(p, "logIndex", w));
      CCI_ASSIGN(ps, num(p, "treeSize", w));
      CCI_ASSIGN(root, hex(p, "rootHash", w));
      CCI_ASSIGN(cp, str(p, "checkpoint", w));
      proof.log_index = static_cast<std::uint64_t>(pi);
      proof.tree_size = static_cast<std::uint64_t>(ps);
      proof.root_hash = std::move(root);
      proof.checkpoint = cp;
      if (!p.contains("hashes") || !p["hashes"].is_array() || p["hashes"].size() > kMaxProofHashes) return bad(w + ".hashes", "is missing, not a list or too long");
      for (const auto& h : p["hashes"]) {
        if (!h.is_string()) return bad(w + ".hashes", "holds a non-string");
        auto d = from_hex(h.get<std::string>(), w + ".hashes");
        if (!d) return bad(w + ".hashes", "holds a hash that is not hex");
        proof.hashes.push_back(std::move(*d));
      }
      t.proof = std::move(proof);
    }
  }
  const Json body = Json::parse(t.body.begin(), t.body.end(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) return bad("body", "is not a JSON object");
  CCI_ASSIGN(kind, str(body, "kind", "body"));
  CCI_ASSIGN(api, str(body, "apiVersion", "body"));
  t.kind = kind;
  t.kind_version = api;
  return t;
}

Result<LoggedArtifact> verify_rekor_entry(const TlogEntry& e, const crypto::PublicKey& log_key, const std::string& log_name, ByteView artifact,
                                          const crypto::PublicKey* expected_signer) {
  // The SET is what makes the entry the log's: required here (the proof alone is optional).
  if (!e.set) return failed("tlog-set", "no signed entry timestamp");
  CCI_TRY(verify_entry_proofs(e, log_key, log_name));
  LoggedArtifact out;
  out.proof_checked = e.proof.has_value();
  if (!((e.kind == "rekord" || e.kind == "hashedrekord") && e.kind_version == "0.0.1")) {
    return Error::make(ErrorCode::kUnsupported, "Rekor entry: kind " + e.kind + " " + e.kind_version + " is not read (rekord and hashedrekord 0.0.1 are)", "tlog-body");
  }
  const Json body = Json::parse(e.body.begin(), e.body.end(), nullptr, false);
  Result<crypto::PublicKey> key = [&]() -> Result<crypto::PublicKey> {
    const Json& spec = body.value("spec", Json::object());
    const Json& data = spec.value("data", Json::object());
    const Json& hash = data.value("hash", Json::object());
    CCI_ASSIGN(alg, str(hash, "algorithm", "spec.data.hash"));
    CCI_ASSIGN(value, str(hash, "value", "spec.data.hash"));
    if (alg != "sha256") return failed("tlog-body", "spec.data.hash uses " + alg + ", not sha256");
    if (value != to_hex(crypto::digest(crypto::DigestAlg::kSha256, artifact))) {
      return failed("rekord-artifact-hash", "the logged SHA-256 " + value + " is not the artifact's " + to_hex(crypto::digest(crypto::DigestAlg::kSha256, artifact)));
    }
    const Json& sig = spec.value("signature", Json::object());
    CCI_ASSIGN(content, b64(sig, "content", "spec.signature"));
    CCI_ASSIGN(pem, b64(sig.value("publicKey", Json::object()), "content", "spec.signature.publicKey"));
    Result<crypto::PublicKey> k = crypto::load_public_key_pem(pem);
    if (!k) {
      auto cert = crypto::Certificate::from_pem(pem);
      if (!cert) return failed("tlog-body", "spec.signature.publicKey is neither a public key nor a certificate");
      k = cert->public_key();
      if (!k) return k.error();
    }
    // Rekor verifies rekord and hashedrekord signatures over SHA-256 whatever the curve (its
    // "x509" PKI type loads every verifier with SHA-256); Ed25519 signs the message itself.
    crypto::SignOptions o;
    if (k->type() != crypto::KeyType::kEd25519) o.digest = crypto::DigestAlg::kSha256;
    if (!crypto::verify(*k, artifact, content, o)) return failed("signature", "the logged signature does not verify over the artifact with the logged key");
    return std::move(*k);
  }();
  if (!key) return key.error().field == "bundle" ? as_check(key.error(), "tlog-body") : key.error();
  if (expected_signer && key->spki_der() != expected_signer->spki_der()) {
    return failed("signature", "the logged signature is by another key than the expected signer's");
  }
  out.signer = std::move(*key);
  out.log_index = e.log_index;
  out.integrated_time = e.integrated_time;
  out.kind = e.kind;
  return out;
}

Result<LoggedArtifact> verify_rekor_entry(const TlogEntry& e, const TrustedRoot& root, ByteView artifact, const crypto::PublicKey* expected_signer) {
  CCI_ASSIGN(log, log_of(e, root));
  return verify_rekor_entry(e, log->key, log_host(log->base_url), artifact, expected_signer);
}

}  // namespace cci::sigstore
