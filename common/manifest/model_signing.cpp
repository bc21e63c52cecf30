#include "manifest/model_signing.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "base/hex.h"

namespace cci::manifest {
namespace fs = std::filesystem;
namespace {

bool is_oms_key(crypto::KeyType t) {
  return t == crypto::KeyType::kEcP256 || t == crypto::KeyType::kEcP384 || t == crypto::KeyType::kEcP521;
}

std::vector<std::string> merged_ignores(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto* list : {&a, &b}) {
    for (const auto& p : *list) {
      if (seen.insert(p).second) out.push_back(p);
    }
  }
  return out;
}

// File-level view of a resource list: path → resource indexes.
std::map<std::string, std::vector<size_t>> by_file(const std::vector<Resource>& res, Method method) {
  std::map<std::string, std::vector<size_t>> out;
  for (size_t i = 0; i < res.size(); ++i) {
    std::string path = res[i].name;
    if (method == Method::kShards) {
      auto s = parse_shard_name(res[i].name);
      if (s) path = s->path;
    }
    out[path].push_back(i);
  }
  return out;
}

Status check_signature(ByteView bundle_json, const oms::Bundle& b, const VerifyModelOptions& opts, std::vector<Check>& checks,
                       std::optional<sigstore::SignerIdentity>& signer, std::vector<std::time_t>& signed_at) {
  using Kind = oms::Material::Kind;
  Bytes pae = oms::dsse_pae(b.payload_type, b.payload);
  std::optional<crypto::PublicKey> key;
  if (b.material.kind == Kind::kPublicKeyHint || b.material.kind == Kind::kPublicKeyRaw) {
    if (!opts.public_key) {
      return make_error(ErrorCode::kUsage, "the bundle was signed with a bare key: give the public key with --key");
    }
    const crypto::PublicKey& pk = *opts.public_key;
    if (b.material.kind == Kind::kPublicKeyHint) {
      std::string want = oms::public_key_hint(pk.pem());
      bool ok = want == b.material.hint;
      checks.push_back({"oms.key_hint", ok,
                        ok ? "publicKey.hint matches the given key"
                           : "publicKey.hint " + b.material.hint + " is not the given key's " + want});
      if (!ok) return make_error(ErrorCode::kVerificationFailed, checks.back().detail, "publicKey.hint");
    } else {
      auto embedded = crypto::load_public_key_pem(b.material.raw_public_key);
      bool ok = embedded && embedded->spki_der() == pk.spki_der();
      checks.push_back({"oms.key_match", ok,
                        ok ? "publicKey.rawBytes is the given key" : "publicKey.rawBytes is not the given key"});
      if (!ok) return make_error(ErrorCode::kVerificationFailed, checks.back().detail, "publicKey.rawBytes");
    }
    key = pk.clone();
  } else if (opts.trusted_root) {
    // Keyless: the whole Sigstore layer (transparency log, timestamps, Fulcio certificate at the
    // signing time, SCT, signer identity, DSSE signature) over the same bundle bytes.
    auto sb = sigstore::parse_bundle(bundle_json);
    if (!sb) return sb.error();
    auto sv = sigstore::verify_bundle(*sb, *opts.trusted_root, opts.signer, std::nullopt, opts.at);
    if (!sv) {
      if (sv.error().code != ErrorCode::kVerificationFailed) return sv.error();
      // The same ids as the passing checks' ("sigstore.tlog_set"), from the failure's name.
      std::string id = "sigstore." + sv.error().field;
      std::replace(id.begin(), id.end(), '-', '_');
      checks.push_back({id, false, sv.error().message});
      return Error::make(ErrorCode::kVerificationFailed, sv.error().message, sv.error().field);
    }
    if (!sv->dsse || sv->dsse->payload != b.payload || sv->dsse->payload_type != b.payload_type) {
      return make_error(ErrorCode::kInternal, "the Sigstore layer and the OMS reader read different envelopes");
    }
    for (const auto& c : sv->checks) checks.push_back({c.id, true, c.detail});
    signer = sv->signer;
    signed_at = sv->times;
    return {};
  } else {
    if (opts.trust_anchors.empty()) {
      return make_error(ErrorCode::kUsage,
                        "the bundle was signed with a certificate: give the signer of a keyless (Sigstore) bundle with --identity and --issuer, "
                        "or the trusted CA certificates of a certificate bundle with --certificate-chain");
    }
    std::vector<crypto::Certificate> chain;
    for (size_t i = 0; i < b.material.certificates.size(); ++i) {
      auto c = crypto::Certificate::from_der(b.material.certificates[i]);
      if (!c) {
        return make_error(ErrorCode::kMalformed,
                          "verificationMaterial certificate " + std::to_string(i) + ": " + c.error().message);
      }
      chain.push_back(std::move(*c));
    }
    // A Fulcio certificate names an OIDC signer: checking only that it chains to a CA would accept
    // every identity Fulcio ever certified. Such a bundle is verified keylessly or not at all.
    if (!chain.empty() && sigstore::fulcio_identity(chain[0])) {
      return make_error(ErrorCode::kUsage, "the bundle is signed keylessly (a Fulcio certificate for an OIDC identity): give the expected signer with "
                                           "--identity and --issuer (and --trusted-root), not a certificate chain");
    }
    std::span<const crypto::Certificate> inter(chain.data() + 1, chain.size() - 1);
    auto s = crypto::verify_chain(chain[0], inter, opts.trust_anchors, opts.at);
    checks.push_back({"oms.certificate_chain", bool(s),
                      s ? "signing certificate " + chain[0].subject() + " chains to a given trust anchor"
                        : s.error().message});
    if (!s) return s.error();
    const bool ku_ok = chain[0].allows_digital_signature();
    const auto eku = chain[0].allows_code_signing();
    const bool eku_ok = !eku || *eku;
    checks.push_back({"oms.certificate_usage", ku_ok && eku_ok,
                      ku_ok && eku_ok ? "signing certificate allows digital signatures / code signing"
                                      : "signing certificate lacks digitalSignature key usage or codeSigning EKU"});
    if (!(ku_ok && eku_ok)) return make_error(ErrorCode::kVerificationFailed, checks.back().detail);
    auto pk = chain[0].public_key();
    if (!pk) return pk.error();
    key = std::move(*pk);
  }
  if (!is_oms_key(key->type())) {
    checks.push_back({"oms.signature", false, std::string("key type ") + crypto::key_type_name(key->type()) +
                                                   " is not an OMS signing key (ECDSA P-256/P-384/P-521)"});
    return make_error(ErrorCode::kVerificationFailed, checks.back().detail);
  }
  auto s = crypto::verify(*key, pae, b.signature);
  checks.push_back({"oms.signature", bool(s),
                    s ? std::string("DSSE signature verifies (") + crypto::key_type_name(key->type()) + ")"
                      : "DSSE signature does not verify with the given key"});
  if (!s) return make_error(ErrorCode::kVerificationFailed, checks.back().detail, "dsseEnvelope.signatures[0].sig");
  return {};
}

}  // namespace

const char* file_finding_name(FileFinding::Kind k) {
  switch (k) {
    case FileFinding::Kind::kMismatch: return "mismatch";
    case FileFinding::Kind::kMissing: return "missing";
    case FileFinding::Kind::kExtra: return "extra";
  }
  return "?";
}

std::string model_name(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  std::string n = p.filename().string();
  if (n.empty() || n == ".") {
    std::error_code ec;
    n = fs::canonical(dir, ec).filename().string();
  }
  return n;
}

Result<SignedModel> sign_model(const ModelSource& src, const std::vector<TreeFile>& files, const HashConfig& cfg,
                               const crypto::PrivateKey& key, const std::vector<Bytes>& chain_der) {
  if (!is_oms_key(key.type())) {
    return make_error(ErrorCode::kUsage, std::string("OMS model signatures need an ECDSA P-256, P-384 or P-521 key, not ") +
                                             crypto::key_type_name(key.type()));
  }
  auto digest = hash_model(files, cfg);
  if (!digest) return digest.error();
  oms::Serialization ser;
  ser.method = cfg.method;
  ser.hash = cfg.hash;
  if (cfg.method == Method::kShards) ser.shard_size = cfg.shard_size;
  ser.allow_symlinks = src.allow_symlinks;
  ser.ignore_paths = src.ignore;
  std::string statement = oms::build_statement(model_name(src.dir), *digest, ser);
  auto sig = crypto::sign(key, oms::dsse_pae(oms::kPayloadType, as_bytes(statement)));
  if (!sig) return sig.error();
  SignedModel out;
  if (chain_der.empty()) {
    out.bundle_json = oms::build_key_bundle(as_bytes(statement), *sig, oms::public_key_hint(key.public_key().pem()));
  } else {
    auto leaf = crypto::Certificate::from_der(chain_der.front());
    if (!leaf) return leaf.error();
    auto leaf_key = leaf->public_key();
    if (!leaf_key || leaf_key->spki_der() != key.public_key().spki_der()) {
      return make_error(ErrorCode::kUsage, "the signing certificate does not hold the signing key's public key");
    }
    out.bundle_json = oms::build_certificate_bundle(as_bytes(statement), *sig, chain_der);
  }
  out.digest = std::move(*digest);
  return out;
}

Result<ModelVerification> verify_model(ByteView bundle_json, const VerifyModelOptions& opts) {
  auto bundle = oms::parse_bundle(bundle_json);
  if (!bundle) return bundle.error();
  ModelVerification v;
  bool pt_ok = bundle->payload_type == oms::kPayloadType;
  v.checks.push_back({"oms.payload_type", pt_ok,
                      pt_ok ? std::string("payloadType is ") + oms::kPayloadType
                            : "payloadType \"" + bundle->payload_type + "\" is not " + oms::kPayloadType});
  if (!pt_ok) return v;

  // Verify the signature over the exact payload bytes before interpreting them.
  auto sig = check_signature(bundle_json, *bundle, opts, v.checks, v.signer, v.signed_at);
  if (!sig) {
    if (sig.error().code == ErrorCode::kVerificationFailed) return v;
    return sig.error();
  }

  auto st = oms::parse_statement(bundle->payload);
  if (!st) {
    v.checks.push_back({"oms.statement", false, st.error().message});
    return v;
  }
  v.statement = std::move(*st);
  v.checks.push_back({"oms.statement", true, std::string("in-toto Statement v1, predicateType ") + oms::kPredicateType});

  Bytes claimed_root = root_digest(v.statement.resources);
  bool root_ok = claimed_root == v.statement.subject_sha256;
  v.checks.push_back({"oms.subject_digest", root_ok,
                      root_ok ? "subject digest " + to_hex(claimed_root) + " covers every resource"
                              : "subject digest " + to_hex(v.statement.subject_sha256) +
                                    " is not the SHA-256 of the listed resources (" + to_hex(claimed_root) + ")"});
  if (!root_ok) return v;
  if (opts.signature_only) {
    v.passed = true;  // every check so far passed; the files are not examined
    return v;
  }

  // Recompute with the bundle's own serialization parameters.
  const oms::Serialization& ser = v.statement.serialization;
  HashConfig cfg;
  cfg.method = ser.method;
  cfg.hash = ser.hash;
  if (ser.shard_size) cfg.shard_size = *ser.shard_size;
  cfg.threads = opts.threads;
  cfg.on_bytes = opts.on_bytes;
  const std::string want_algo = resource_algorithm(cfg);
  for (const auto& r : v.statement.resources) {
    if (r.algorithm != want_algo) {
      v.checks.push_back({"oms.resource_algorithm", false,
                          "resource " + r.name + " uses algorithm \"" + r.algorithm + "\", the serialization implies \"" +
                              want_algo + "\""});
      return v;
    }
  }
  TreeOptions topt{merged_ignores(ser.ignore_paths, opts.source.ignore), ser.allow_symlinks};
  auto files = list_model_files(opts.source.dir, topt);
  if (!files) return files.error();
  // Only files the bundle names are hashed; unsigned ones are reported (or ignored).
  auto signed_files = by_file(v.statement.resources, ser.method);
  std::vector<TreeFile> to_hash;
  std::set<std::string> on_disk;
  std::uint64_t total = 0;
  for (auto& f : *files) {
    on_disk.insert(f.name);
    if (signed_files.count(f.name) != 0) {
      total += f.size;
      to_hash.push_back(f);
    } else if (!opts.ignore_unsigned_files && !(ser.method == Method::kShards && f.size == 0)) {
      // (shard serialization has no resource for an empty file, reference behaviour)
      v.files.push_back({FileFinding::Kind::kExtra, f.name});
    }
  }
  if (opts.on_start) opts.on_start(total);
  ModelDigest digest;
  if (!to_hash.empty()) {
    auto d = hash_model(to_hash, cfg);
    if (!d) return d.error();
    digest = std::move(*d);
  }
  auto got_files = by_file(digest.resources, ser.method);
  for (const auto& [path, want_idx] : signed_files) {
    auto got_it = got_files.find(path);
    if (got_it == got_files.end()) {
      bool present = on_disk.count(path) != 0;  // present but now empty (shards)
      v.files.push_back({present ? FileFinding::Kind::kMismatch : FileFinding::Kind::kMissing, path});
      continue;
    }
    // Same resources (shard boundaries included: a resized file changes them) and digests.
    std::map<std::string, const Bytes*> want;
    for (size_t i : want_idx) want[v.statement.resources[i].name] = &v.statement.resources[i].digest;
    bool same = want.size() == want_idx.size() && got_it->second.size() == want.size();
    for (size_t i : got_it->second) {
      if (!same) break;
      auto w = want.find(digest.resources[i].name);
      same = w != want.end() && *w->second == digest.resources[i].digest;
    }
    if (!same) {
      v.files.push_back({FileFinding::Kind::kMismatch, path});
    } else {
      v.matching_files.push_back(path);
    }
  }
  std::sort(v.matching_files.begin(), v.matching_files.end(), path_less);
  std::sort(v.files.begin(), v.files.end(), [](const FileFinding& a, const FileFinding& b) {
    return path_less(a.name, b.name);
  });
  v.recomputed_root = digest.root;
  bool files_ok = v.files.empty();
  v.checks.push_back({"oms.files", files_ok,
                      files_ok ? std::to_string(signed_files.size()) + " file(s) match their signed digests"
                               : std::to_string(v.files.size()) + " file(s) differ from the signature"});
  v.passed = files_ok;
  return v;
}

}  // namespace cci::manifest
