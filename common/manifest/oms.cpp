#include "manifest/oms.h"

#include <nlohmann/json.hpp>

#include "base/hex.h"

namespace cci::manifest::oms {
namespace {

using ojson = nlohmann::ordered_json;

Error malformed(const std::string& field, const std::string& what) {
  return make_error(ErrorCode::kMalformed, "bundle field " + field + ": " + what, field);
}

// Fetches a required member of the given JSON type.
Result<const ojson*> member(const ojson& obj, const std::string& path, const char* key, ojson::value_t type) {
  auto it = obj.find(key);
  std::string field = path.empty() ? key : path + "." + key;
  if (it == obj.end()) return malformed(field, "missing");
  bool ok = it->type() == type ||
            (type == ojson::value_t::number_unsigned && it->type() == ojson::value_t::number_integer && it->get<std::int64_t>() >= 0);
  if (!ok) return malformed(field, std::string("expected ") + ojson(type).type_name() + ", got " + it->type_name());
  return &*it;
}

Result<std::string> string_member(const ojson& obj, const std::string& path, const char* key) {
  auto m = member(obj, path, key, ojson::value_t::string);
  if (!m) return m.error();
  return (*m)->get<std::string>();
}

Result<Bytes> b64_member(const ojson& obj, const std::string& path, const char* key) {
  auto s = string_member(obj, path, key);
  if (!s) return s.error();
  return base64_decode(*s, path + "." + key);
}

Result<Material> parse_material(const ojson& vm) {
  Material m;
  const std::string p = "verificationMaterial";
  if (auto pk = vm.find("publicKey"); pk != vm.end()) {
    if (!pk->is_object()) return malformed(p + ".publicKey", "expected object");
    if (pk->contains("hint")) {
      m.kind = Material::Kind::kPublicKeyHint;
      auto h = string_member(*pk, p + ".publicKey", "hint");
      if (!h) return h.error();
      m.hint = *h;
    } else {
      m.kind = Material::Kind::kPublicKeyRaw;
      auto raw = b64_member(*pk, p + ".publicKey", "rawBytes");
      if (!raw) return raw.error();
      m.raw_public_key = std::move(*raw);
      if (pk->contains("keyDetails")) {
        auto d = string_member(*pk, p + ".publicKey", "keyDetails");
        if (!d) return d.error();
        m.key_details = *d;
      }
    }
    return m;
  }
  auto collect = [&](const ojson& list, const std::string& path) -> Status {
    if (!list.is_array() || list.empty()) return malformed(path, "expected a non-empty array");
    for (size_t i = 0; i < list.size(); ++i) {
      std::string ip = path + "[" + std::to_string(i) + "]";
      if (!list[i].is_object()) return malformed(ip, "expected object");
      auto der = b64_member(list[i], ip, "rawBytes");
      if (!der) return der.error();
      m.certificates.push_back(std::move(*der));
    }
    return {};
  };
  if (auto ch = vm.find("x509CertificateChain"); ch != vm.end()) {
    m.kind = Material::Kind::kCertificateChain;
    if (!ch->is_object() || !ch->contains("certificates")) return malformed(p + ".x509CertificateChain.certificates", "missing");
    auto s = collect((*ch)["certificates"], p + ".x509CertificateChain.certificates");
    if (!s) return s.error();
    return m;
  }
  if (auto c = vm.find("certificate"); c != vm.end()) {
    m.kind = Material::Kind::kCertificate;
    ojson one = ojson::array({*c});
    auto s = collect(one, p + ".certificate");
    if (!s) return s.error();
    return m;
  }
  return malformed(p, "has none of publicKey, x509CertificateChain, certificate");
}

Result<crypto::DigestAlg> parse_hash_type(const std::string& s, const std::string& field) {
  auto alg = crypto::digest_from_name(s);
  if (!alg || (*alg != crypto::DigestAlg::kSha256 && *alg != crypto::DigestAlg::kBlake2b512)) {
    return make_error(ErrorCode::kUnsupported, "statement field " + field + ": unsupported hash \"" + s + "\"", field);
  }
  return *alg;
}

Error stmt_error(const std::string& field, const std::string& what, ErrorCode code = ErrorCode::kMalformed) {
  return make_error(code, "statement field " + field + ": " + what, field);
}

}  // namespace

std::string build_statement(const std::string& model_name, const ModelDigest& digest, const Serialization& ser) {
  ojson resources = ojson::array();
  for (const auto& r : digest.resources) {
    resources.push_back(ojson{{"algorithm", r.algorithm}, {"name", r.name}, {"digest", to_hex(r.digest)}});
  }
  ojson serialization{{"allow_symlinks", ser.allow_symlinks},
                      {"method", method_name(ser.method)},
                      {"hash_type", crypto::digest_name(ser.hash)}};
  if (ser.method == Method::kShards && ser.shard_size) serialization["shard_size"] = *ser.shard_size;
  serialization["ignore_paths"] = ser.ignore_paths;
  ojson statement{
      {"_type", kStatementType},
      {"subject", ojson::array({ojson{{"name", model_name}, {"digest", ojson{{"sha256", to_hex(digest.root)}}}}})},
      {"predicateType", kPredicateType},
      {"predicate", ojson{{"resources", resources}, {"serialization", serialization}}},
  };
  // Python json.dumps(indent=2): ", " / ": " separators, ASCII-only output.
  return statement.dump(2, ' ', true);
}

namespace {
std::string finish_bundle(ojson material, ByteView payload, ByteView sig) {
  material["tlogEntries"] = ojson::array();
  ojson bundle{
      {"mediaType", kBundleMediaType},
      {"verificationMaterial", std::move(material)},
      {"dsseEnvelope", ojson{{"payload", base64_encode(payload)},
                             {"payloadType", kPayloadType},
                             {"signatures", ojson::array({ojson{{"sig", base64_encode(sig)}, {"keyid", ""}}})}}},
  };
  return bundle.dump();
}
}  // namespace

std::string build_key_bundle(ByteView payload, ByteView signature_der, const std::string& hint) {
  return finish_bundle(ojson{{"publicKey", ojson{{"hint", hint}}}}, payload, signature_der);
}

std::string build_certificate_bundle(ByteView payload, ByteView signature_der, const std::vector<Bytes>& chain_der) {
  ojson certs = ojson::array();
  for (const auto& c : chain_der) certs.push_back(ojson{{"rawBytes", base64_encode(c)}});
  return finish_bundle(ojson{{"x509CertificateChain", ojson{{"certificates", certs}}}}, payload, signature_der);
}

Result<Bundle> parse_bundle(ByteView json) {
  if (json.size() > kMaxBundleBytes) return malformed("(bundle)", "larger than the limit");
  ojson doc = ojson::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return make_error(ErrorCode::kMalformed, "the signature bundle is not valid JSON");
  if (!doc.is_object()) return malformed("(bundle)", "expected a JSON object");
  auto media = string_member(doc, "", "mediaType");
  if (!media) return media.error();
  if (*media != kBundleMediaType) {
    return malformed("mediaType", "\"" + *media + "\" is not " + kBundleMediaType);
  }
  auto vm = member(doc, "", "verificationMaterial", ojson::value_t::object);
  if (!vm) return vm.error();
  auto env = member(doc, "", "dsseEnvelope", ojson::value_t::object);
  if (!env) {
    if (doc.contains("messageSignature")) {
      return make_error(ErrorCode::kUnsupported, "bundle carries a messageSignature, not a DSSE envelope: not a model signature");
    }
    return env.error();
  }
  Bundle b;
  auto mat = parse_material(**vm);
  if (!mat) return mat.error();
  b.material = std::move(*mat);
  auto pt = string_member(**env, "dsseEnvelope", "payloadType");
  if (!pt) return pt.error();
  b.payload_type = *pt;
  auto payload = b64_member(**env, "dsseEnvelope", "payload");
  if (!payload) return payload.error();
  b.payload = std::move(*payload);
  auto sigs = member(**env, "dsseEnvelope", "signatures", ojson::value_t::array);
  if (!sigs) return sigs.error();
  if ((*sigs)->size() != 1) {
    return malformed("dsseEnvelope.signatures", "expected exactly one signature, got " + std::to_string((*sigs)->size()));
  }
  const ojson& s0 = (**sigs)[0];
  if (!s0.is_object()) return malformed("dsseEnvelope.signatures[0]", "expected object");
  auto sig = b64_member(s0, "dsseEnvelope.signatures[0]", "sig");
  if (!sig) return sig.error();
  if (sig->empty()) return malformed("dsseEnvelope.signatures[0].sig", "empty");
  b.signature = std::move(*sig);
  return b;
}

Result<Statement> parse_statement(ByteView payload) {
  ojson doc = ojson::parse(payload.begin(), payload.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return stmt_error("(payload)", "not a JSON object");
  auto type = string_member(doc, "", "_type");
  if (!type) return stmt_error("_type", type.error().message);
  if (*type != kStatementType) return stmt_error("_type", "\"" + *type + "\" is not " + kStatementType);
  auto ptype = string_member(doc, "", "predicateType");
  if (!ptype) return stmt_error("predicateType", ptype.error().message);
  if (*ptype != kPredicateType) {
    return stmt_error("predicateType", "\"" + *ptype + "\" is not " + kPredicateType);
  }
  Statement st;
  auto subj = member(doc, "", "subject", ojson::value_t::array);
  if (!subj) return subj.error();
  if ((*subj)->size() != 1 || !(**subj)[0].is_object()) return stmt_error("subject", "expected exactly one subject");
  const ojson& s0 = (**subj)[0];
  if (s0.contains("name") && s0["name"].is_string()) st.subject_name = s0["name"].get<std::string>();
  auto dig = member(s0, "subject[0]", "digest", ojson::value_t::object);
  if (!dig) return dig.error();
  auto root_hex = string_member(**dig, "subject[0].digest", "sha256");
  if (!root_hex) return root_hex.error();
  auto root = from_hex(*root_hex, "subject[0].digest.sha256", 32);
  if (!root) return root.error();
  st.subject_sha256 = std::move(*root);

  auto pred = member(doc, "", "predicate", ojson::value_t::object);
  if (!pred) return pred.error();
  auto ser = member(**pred, "predicate", "serialization", ojson::value_t::object);
  if (!ser) return ser.error();
  auto method = string_member(**ser, "predicate.serialization", "method");
  if (!method) return method.error();
  if (*method == "files") {
    st.serialization.method = Method::kFiles;
  } else if (*method == "shards") {
    st.serialization.method = Method::kShards;
  } else {
    return stmt_error("predicate.serialization.method", "unsupported method \"" + *method + "\"", ErrorCode::kUnsupported);
  }
  auto hash_type = string_member(**ser, "predicate.serialization", "hash_type");
  if (!hash_type) return hash_type.error();
  auto alg = parse_hash_type(*hash_type, "predicate.serialization.hash_type");
  if (!alg) return alg.error();
  st.serialization.hash = *alg;
  if (st.serialization.method == Method::kShards) {
    auto ss = member(**ser, "predicate.serialization", "shard_size", ojson::value_t::number_unsigned);
    if (!ss) return ss.error();
    st.serialization.shard_size = (*ss)->get<std::uint64_t>();
    if (*st.serialization.shard_size == 0) return stmt_error("predicate.serialization.shard_size", "must be positive");
  }
  if (ser.value()->contains("allow_symlinks")) {
    auto as = member(**ser, "predicate.serialization", "allow_symlinks", ojson::value_t::boolean);
    if (!as) return as.error();
    st.serialization.allow_symlinks = (*as)->get<bool>();
  }
  if (ser.value()->contains("ignore_paths")) {
    auto ip = member(**ser, "predicate.serialization", "ignore_paths", ojson::value_t::array);
    if (!ip) return ip.error();
    for (const auto& p : **ip) {
      if (!p.is_string()) return stmt_error("predicate.serialization.ignore_paths", "expected strings");
      st.serialization.ignore_paths.push_back(p.get<std::string>());
    }
  }

  auto res = member(**pred, "predicate", "resources", ojson::value_t::array);
  if (!res) return res.error();
  if ((*res)->empty()) return stmt_error("predicate.resources", "empty: the bundle signs nothing");
  for (size_t i = 0; i < (*res)->size(); ++i) {
    std::string p = "predicate.resources[" + std::to_string(i) + "]";
    const ojson& r = (**res)[i];
    if (!r.is_object()) return stmt_error(p, "expected object");
    auto name = string_member(r, p, "name");
    auto algo = string_member(r, p, "algorithm");
    auto hex = string_member(r, p, "digest");
    if (!name) return name.error();
    if (!algo) return algo.error();
    if (!hex) return hex.error();
    auto d = from_hex(*hex, p + ".digest", crypto::digest_size(st.serialization.hash));
    if (!d) return d.error();
    st.resources.push_back({*name, *algo, std::move(*d)});
  }
  return st;
}

std::string public_key_hint(const std::string& public_key_pem) {
  return to_hex(crypto::digest(crypto::DigestAlg::kSha256, as_bytes(public_key_pem)));
}

}  // namespace cci::manifest::oms
