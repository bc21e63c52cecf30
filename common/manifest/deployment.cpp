#include "manifest/deployment.h"

#include "manifest/encrypted_model.h"

#include <algorithm>
#include <filesystem>

#include "base/file_io.h"
#include "base/hex.h"
#include "kubernetes/init_data.h"
#include "manifest/model_signing.h"
#include "manifest/oms.h"

namespace cci::manifest {
namespace {

namespace fs = std::filesystem;

crypto::SignOptions sign_options(crypto::KeyType t) {
  crypto::SignOptions o;
  if (t == crypto::KeyType::kSm2) o.sm2_id = kManifestSm2Id;
  return o;
}

Json digest_map(const launch::InputDigest& d) {
  Json m = Json::object();
  m["sha256"] = to_hex(d.sha256);
  if (!d.sha384.empty()) m["sha384"] = to_hex(d.sha384);
  if (!d.sm3.empty()) m["sm3"] = to_hex(d.sm3);
  return m;
}

std::string hex_u64(std::uint64_t v) { return "0x" + to_hex_u64(v); }

Json input_json(const launch::InputDigest& d) {
  Json j{{"role", d.role}};
  if (!d.path.empty()) j["file"] = fs::path(d.path).filename().string();
  j["size"] = d.size;
  j["digest"] = digest_map(d);
  return j;
}

void step(const BuildOptions& o, const std::string& msg) {
  if (o.on_step) o.on_step(msg);
}

// The encrypted copy of the model (docs/encrypted-model.md): its headers name one key id and the
// plaintext model's root digest (sha256 over the files), which must be this model's; recorded are
// the key id and every sealed file's SHA-256, so a server can check the ciphertext it is given
// before it asks for the key.
Result<Json> encryption_json(const ModelInput& m, const BuildOptions& o, const oms::Serialization& ser, const Bytes& root) {
  step(o, "reading encrypted model " + *m.encrypted);
  CCI_ASSIGN(enc, inspect_encrypted_model(*m.encrypted));
  Bytes plain_root = root;
  if (ser.method != Method::kFiles || ser.hash != crypto::DigestAlg::kSha256) {
    // The bundle hashes otherwise: the headers' digest is compared with a sha256 files digest.
    if (m.path.empty()) {
      return make_error(ErrorCode::kUsage, "model.encrypted with a " + std::string(method_name(ser.method)) + "/" + crypto::digest_name(ser.hash) +
                                               " bundle needs model.path too (to compute the sha256 files digest the encrypted headers carry)",
                        "model.encrypted");
    }
    CCI_ASSIGN(files, list_model_files(m.path, {ser.ignore_paths, false}));
    HashConfig cfg;
    cfg.threads = o.threads;
    cfg.cancel = o.cancel;
    CCI_ASSIGN(d, hash_model(files, cfg));
    plain_root = d.root;
  }
  if (!crypto::ct_equal(enc.model_digest, plain_root)) {
    return make_error(ErrorCode::kVerificationFailed,
                      *m.encrypted + " is not this model encrypted: its headers name model digest " + to_hex(enc.model_digest) + ", the model's is " +
                          to_hex(plain_root),
                      "model.encrypted");
  }
  Json files = Json::array();
  for (const auto& f : enc.files) {
    files.push_back({{"name", f.name}, {"sealed_size", f.sealed_size}, {"sealed_sha256", to_hex(f.sealed_sha256)}});
  }
  return Json{{"format", "CCI-ENC1"}, {"cipher", "AES-256-GCM"}, {"key_id", enc.key_id}, {"chunk_size", enc.chunk_size},
              {"files", files}};
}

Result<Json> model_json(const ModelInput& m, const BuildOptions& o, Json& subjects) {
  std::vector<std::string> ignores = default_git_ignores();
  for (const auto& p : m.path.empty() ? std::vector<std::string>{} : m.ignore) {
    auto n = normalize_ignore_path(m.path, p);
    if (!n) return n.error();
    ignores.push_back(*n);
  }
  Json j{{"name", m.path.empty() ? std::string() : model_name(m.path)}};
  Bytes root;
  std::vector<Resource> resources;
  oms::Serialization ser;
  ser.ignore_paths = ignores;
  if (m.bundle) {
    step(o, m.path.empty() ? "verifying model bundle " + *m.bundle : "verifying model " + m.path + " against " + *m.bundle);
    auto bundle = read_file(*m.bundle, oms::kMaxBundleBytes);
    if (!bundle) return bundle.error();
    auto key_pem = read_file(*m.key, 1 << 20);
    if (!key_pem) return key_pem.error();
    auto key = crypto::load_public_key_pem(*key_pem);
    if (!key) return key.error();
    VerifyModelOptions vo;
    vo.source = {m.path, ignores, false};
    vo.signature_only = m.path.empty();
    vo.public_key = std::move(*key);
    vo.threads = o.threads;
    vo.on_bytes = o.on_bytes;
    auto v = verify_model(*bundle, vo);
    if (!v) return v.error();
    if (!v->passed) {
      std::string why;
      for (const auto& c : v->checks) {
        if (!c.passed) why += (why.empty() ? "" : "; ") + c.detail;
      }
      return make_error(ErrorCode::kVerificationFailed, "the model does not verify against " + *m.bundle + ": " + why, "model");
    }
    root = m.path.empty() ? v->statement.subject_sha256 : v->recomputed_root;
    resources = v->statement.resources;
    ser = v->statement.serialization;
    if (m.path.empty()) j["name"] = v->statement.subject_name;
    j["verified_against"] = m.path.empty() ? "bundle signature (files not read)" : "model directory";
    j["bundle_key_hint"] = oms::public_key_hint(std::string(as_chars(*key_pem)));
  } else {
    step(o, "hashing model " + m.path);
    auto files = list_model_files(m.path, {ignores, false});
    if (!files) return files.error();
    HashConfig cfg;
    cfg.threads = o.threads;
    cfg.on_bytes = o.on_bytes;
    cfg.cancel = o.cancel;
    auto d = hash_model(*files, cfg);
    if (!d) return d.error();
    root = d->root;
    resources = d->resources;
  }
  j["root_digest"] = {{"sha256", to_hex(root)}};
  // The serialization and every signed digest, as an OMS predicate has them: a server started
  // from this manifest checks each file of the model against it (no separate bundle needed).
  Json serialization{{"method", method_name(ser.method)}, {"hash_type", crypto::digest_name(ser.hash)}};
  if (ser.method == Method::kShards && ser.shard_size) serialization["shard_size"] = *ser.shard_size;
  serialization["allow_symlinks"] = ser.allow_symlinks;
  serialization["ignore_paths"] = ser.ignore_paths;
  j["serialization"] = serialization;
  j["resources"] = resources.size();
  Json files = Json::array();
  for (const auto& r : resources) files.push_back({{"algorithm", r.algorithm}, {"name", r.name}, {"digest", to_hex(r.digest)}});
  j["files"] = files;
  if (m.encrypted) {
    CCI_ASSIGN(enc, encryption_json(m, o, ser, root));
    j["encryption"] = std::move(enc);
  }
  subjects.push_back({{"name", "model:" + j["name"].get<std::string>()}, {"digest", {{"sha256", to_hex(root)}}}});
  return j;
}

// Keeps one entry per input role, adding digests (SM3 for csv) that later launches computed.
void merge_inputs(std::vector<launch::InputDigest>& into, const std::vector<launch::InputDigest>& from) {
  for (const auto& in : from) {
    auto it = std::find_if(into.begin(), into.end(), [&](const launch::InputDigest& x) { return x.role == in.role; });
    if (it == into.end()) {
      into.push_back(in);
      continue;
    }
    if (it->sha384.empty()) it->sha384 = in.sha384;
    if (it->sm3.empty()) it->sm3 = in.sm3;
  }
}

Result<Json> image_json(const ImageInput& img, const BuildOptions& o, Json& subjects, std::vector<std::string>& warnings) {
  Json j{{"name", img.name}};
  std::vector<launch::InputDigest> inputs;
  Json launches = Json::array();
  for (const auto& l : img.launches) {
    step(o, "measuring image " + img.name + " (" + launch::mode_name(l.config.mode) + ")");
    launch::LaunchConfig cfg = l.config;
    if (cfg.mode == launch::Mode::kTdx) {
      // MRTD is the firmware's alone; the kernel, initrd and command line are the RTMRs' part,
      // given with the launch (LaunchInput::tdx_rtmrs) and recorded below.
      cfg.kernel.reset();
      cfg.initrd.reset();
      cfg.append.reset();
    }
    auto d = launch::compute_launch_digest(cfg);
    if (!d) return make_error(d.error().code, "image " + img.name + ": " + d.error().message, d.error().field);
    for (const auto& w : d->warnings) {
      if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(w);
    }
    merge_inputs(inputs, d->inputs);
    Json m = launch_measurement_json(cfg, *d);
    m.erase("inputs");
    if (l.vcpu_type) m["vcpu_type"] = *l.vcpu_type;
    if (l.tdx_rtmrs) {
      Json r = Json::array();
      for (const auto& reg : *l.tdx_rtmrs) r.push_back(to_hex(reg));
      m["rtmrs"] = r;
    }
    if (l.tdx_mr_config_id) m["mr_config_id"] = to_hex(*l.tdx_mr_config_id);
    launches.push_back(m);
  }
  if (img.append) j["cmdline"] = *img.append;
  Json in_json = Json::array();
  for (const auto& in : inputs) {
    in_json.push_back(input_json(in));
    if (in.role != "cmdline") subjects.push_back({{"name", in.role + ":" + img.name}, {"digest", digest_map(in)}});
  }
  j["inputs"] = in_json;
  j["launch_measurements"] = launches;
  return j;
}

Result<Json> disk_json(const DiskInput& disk, const BuildOptions& o, Json& subjects) {
  step(o, "hashing disk " + disk.name);
  auto data = fs::path(disk.path);
  Json j{{"name", disk.name}, {"file", data.filename().string()}};
  // The file digest with the model hasher (one file: a single-file "model"); verity then
  // reads the image again, from the page cache.
  std::error_code ec;
  if (!fs::is_regular_file(disk.path, ec)) {
    return make_error(ErrorCode::kInvalidInput, "disk " + disk.name + ": " + disk.path + " is not a regular file", "disk");
  }
  auto file = list_model_files(disk.path, {{}, false});
  if (!file) return make_error(file.error().code, "disk " + disk.name + ": " + file.error().message, "disk");
  HashConfig cfg;
  cfg.threads = o.threads;
  cfg.on_bytes = o.on_bytes;
  cfg.cancel = o.cancel;
  auto d = hash_model(*file, cfg);
  if (!d) return make_error(d.error().code, "disk " + disk.name + ": " + d.error().message, "disk");
  std::string sha = to_hex(d->resources.at(0).digest);
  j["size"] = d->total_bytes;
  j["digest"] = {{"sha256", sha}};
  if (disk.verity) {
    launch::VerityParams p = *disk.verity;
    p.threads = o.threads;
    p.cancel = o.cancel;
    auto v = launch::verity_format(disk.path, p);
    if (!v) return make_error(v.error().code, "disk " + disk.name + ": " + v.error().message, v.error().field);
    j["verity"] = {{"root_hash", to_hex(v->root)},
                   {"salt", p.salt.empty() ? "-" : to_hex(p.salt)},
                   {"hash", crypto::digest_name(p.hash)},
                   {"data_block_size", p.data_block_size},
                   {"hash_block_size", p.hash_block_size},
                   {"format", p.format},
                   {"data_blocks", v->data_blocks}};
  }
  subjects.push_back({{"name", "disk:" + disk.name}, {"digest", {{"sha256", sha}}}});
  return j;
}

// The pod's init-data and what it fixes in the hardware report: SEV-SNP HOST_DATA (the policy's
// host_data) and TDX MRCONFIGID (each TDX launch's mr_config_id). A value the description already
// gives must be the same; otherwise the replica could never verify.
Status kubernetes_json(const KubernetesInput& k, const std::string& deployment, Json& pred, Json& policy) {
  kubernetes::InitDataSettings s;
  s.deployment = deployment;
  if (pred.contains("model")) s.model_sha256 = pred["model"]["root_digest"]["sha256"].get<std::string>();
  s.image = k.image;
  s.port = k.port;
  s.key_source = k.key_source;
  s.kbs_url = k.kbs_url;
  s.algorithm = k.init_data_algorithm;
  if (k.kbs_cert) {
    CCI_ASSIGN(pem, read_file(*k.kbs_cert, 64 * 1024));
    s.kbs_cert = std::string(as_chars(pem));
  }
  CCI_ASSIGN(toml, kubernetes::render_init_data(s));
  CCI_ASSIGN(digest, kubernetes::init_data_digest(toml, s.algorithm));
  const std::string host_data = to_hex(kubernetes::fit_to_field(digest, kubernetes::kSnpHostDataBytes));
  const std::string mr_config_id = to_hex(kubernetes::fit_to_field(digest, kubernetes::kTdxMrConfigIdBytes));
  auto lower = [](std::string v) {
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return v;
  };
  if (policy.contains("host_data") && lower(policy["host_data"].get<std::string>()) != host_data) {
    return make_error(ErrorCode::kInvalidInput,
                      "policy.host_data is not the pods' init-data digest (" + host_data + "): leave it out, cci sets it from kubernetes:", "policy.host_data");
  }
  policy["host_data"] = host_data;
  for (auto& img : pred["images"]) {
    for (auto& l : img["launch_measurements"]) {
      if (l.value("platform", "") != "tdx") continue;
      if (l.contains("mr_config_id") && lower(l["mr_config_id"].get<std::string>()) != mr_config_id) {
        return make_error(ErrorCode::kInvalidInput,
                          "image " + img["name"].get<std::string>() + ": a tdx launch's mr_config_id is not the pods' init-data digest (" + mr_config_id +
                              "): leave it out, cci sets it from kubernetes:",
                          "mr_config_id");
      }
      l["mr_config_id"] = mr_config_id;
    }
  }
  Json j{{"image", k.image}, {"runtime_class", k.runtime_class}, {"port", k.port}, {"model_path", k.model_path}};
  if (!k.key_source.empty()) j["key_source"] = k.key_source;
  if (k.kbs_url) j["kbs_url"] = *k.kbs_url;
  j["init_data"] = Json{{"version", kubernetes::kInitDataVersion},
                        {"algorithm", s.algorithm},
                        {"digest", to_hex(digest)},
                        {"snp_host_data", host_data},
                        {"tdx_mr_config_id", mr_config_id},
                        {"annotation", kubernetes::kInitDataAnnotation},
                        {"toml", toml}};
  pred["kubernetes"] = std::move(j);
  return {};
}

Error envelope_error(const std::string& msg, const std::string& field) {
  return make_error(ErrorCode::kMalformed, "deployment manifest: " + msg, field);
}

// Exactly these keys, nothing else.
Status require_keys(const Json& obj, std::initializer_list<const char*> keys, const std::string& where) {
  if (!obj.is_object()) return envelope_error(where + " must be an object", where);
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& k = it.key();
    if (std::none_of(keys.begin(), keys.end(), [&k](const char* x) { return k == x; })) {
      return envelope_error("unknown field '" + k + "' in " + where, where);
    }
  }
  for (const char* k : keys) {
    if (!obj.contains(k) || !obj[k].is_string()) return envelope_error(where + "." + k + " must be a string", where + "." + k);
  }
  return {};
}

}  // namespace

Json launch_measurement_json(const launch::LaunchConfig& cfg, const launch::LaunchDigest& d) {
  Json j{{"platform", launch::mode_name(cfg.mode)}};
  if (cfg.mode == launch::Mode::kSnp || cfg.mode == launch::Mode::kSevEs) {
    j["vcpus"] = cfg.vcpus;
    j["vcpu_sig"] = hex_u64(cfg.vcpu_sig);
    j["vmm_type"] = launch::vmm_type_name(cfg.vmm);
  }
  if (cfg.mode == launch::Mode::kSnp) j["guest_features"] = hex_u64(cfg.guest_features);
  j["digest_alg"] = crypto::digest_name(d.alg);
  j["measurement"] = to_hex(d.digest);
  j["hardware_confirmed"] = cfg.mode != launch::Mode::kCsv && cfg.mode != launch::Mode::kTdx;
  if (!d.derivation.empty()) j["derivation"] = d.derivation;
  Json inputs = Json::array();
  for (const auto& in : d.inputs) inputs.push_back(input_json(in));
  j["inputs"] = inputs;
  if (!d.warnings.empty()) j["warnings"] = d.warnings;
  return j;
}

Result<BuiltManifest> build_deployment(const DeploymentInput& in, const BuildOptions& o) {
  BuiltManifest out;
  Json subjects = Json::array();
  Json pred{{"schema_version", kDeploymentSchemaVersion}, {"name", in.name}};
  if (!o.created.empty()) pred["created"] = o.created;
  if (in.model) {
    auto m = model_json(*in.model, o, subjects);
    if (!m) return m.error();
    pred["model"] = *m;
  }
  Json images = Json::array();
  for (const auto& img : in.images) {
    auto j = image_json(img, o, subjects, out.warnings);
    if (!j) return j.error();
    images.push_back(*j);
  }
  pred["images"] = images;
  Json disks = Json::array();
  for (const auto& d : in.disks) {
    auto j = disk_json(d, o, subjects);
    if (!j) return j.error();
    disks.push_back(*j);
  }
  pred["disks"] = disks;
  Json policy = in.policy;
  if (in.kubernetes) {
    step(o, "rendering the pods' init-data");
    CCI_TRY(kubernetes_json(*in.kubernetes, in.name, pred, policy));
  }
  pred["policy"] = policy;
  Json statement{{"_type", oms::kStatementType},
                 {"subject", subjects},
                 {"predicateType", kDeploymentPredicateType},
                 {"predicate", pred}};
  out.statement = statement.dump(2);
  out.predicate = std::move(pred);
  return out;
}

Result<std::string> sign_envelope(const std::string& statement, const crypto::PrivateKey& key) {
  Bytes pae = oms::dsse_pae(oms::kPayloadType, as_bytes(statement));
  auto sig = crypto::sign(key, pae, sign_options(key.type()));
  if (!sig) return sig.error();
  Json env{{"payloadType", oms::kPayloadType},
           {"payload", base64_encode(as_bytes(statement))},
           {"signatures", Json::array({Json{{"keyid", oms::public_key_hint(key.public_key().pem())}, {"sig", base64_encode(*sig)}}})}};
  return env.dump() + "\n";
}

Result<VerifiedManifest> parse_deployment_statement(ByteView payload) {
  VerifiedManifest out;
  // Signed, so the statement is the signer's; still check it is what we understand.
  Json st = Json::parse(payload.begin(), payload.end(), nullptr, false);
  if (st.is_discarded() || !st.is_object()) return envelope_error("the signed payload is not a JSON statement", "payload");
  if (st.value("_type", "") != oms::kStatementType) return envelope_error("statement _type is not in-toto Statement v1", "_type");
  if (st.value("predicateType", "") != kDeploymentPredicateType) {
    return envelope_error(std::string("predicateType is not ") + kDeploymentPredicateType, "predicateType");
  }
  if (!st.contains("predicate") || !st["predicate"].is_object() || !st["predicate"].contains("schema_version") ||
      !st["predicate"]["schema_version"].is_number_integer()) {
    return envelope_error("predicate.schema_version is missing", "schema_version");
  }
  if (st["predicate"]["schema_version"].get<int>() != kDeploymentSchemaVersion) {
    return make_error(ErrorCode::kUnsupported,
                      "deployment manifest schema version " + st["predicate"]["schema_version"].dump() + " is not supported (this build reads 1)",
                      "schema_version");
  }
  out.predicate = st["predicate"];
  out.statement = std::move(st);
  return out;
}

Result<VerifiedManifest> verify_keyless_deployment_manifest(ByteView bundle_json, const sigstore::TrustedRoot& root, const sigstore::ExpectedSigner& who, std::time_t at) {
  CCI_ASSIGN(b, sigstore::parse_bundle(bundle_json));
  if (!b.dsse || b.dsse->payload_type != oms::kPayloadType) {
    return envelope_error(std::string("a keyless deployment manifest is a Sigstore bundle around a DSSE envelope of type ") + oms::kPayloadType, "dsseEnvelope");
  }
  CCI_ASSIGN(v, sigstore::verify_bundle(b, root, who, std::nullopt, at));
  CCI_ASSIGN(out, parse_deployment_statement(b.dsse->payload));
  out.signer = v.signer;
  out.key_hint = "keyless:" + v.signer.san;
  return out;
}

Result<VerifiedManifest> verify_deployment_manifest(ByteView envelope_json, const crypto::PublicKey& key) {
  if (envelope_json.size() > kMaxManifestBytes) return envelope_error("larger than 16 MiB", "envelope");
  Json env = Json::parse(envelope_json.begin(), envelope_json.end(), nullptr, false);
  if (env.is_discarded() || !env.is_object()) return envelope_error("not a JSON object (DSSE envelope expected)", "envelope");
  for (const auto& [k, v] : env.items()) {
    if (k != "payloadType" && k != "payload" && k != "signatures") return envelope_error("unknown field '" + k + "'", k);
  }
  if (!env.contains("payloadType") || !env["payloadType"].is_string() || env["payloadType"] != oms::kPayloadType) {
    return envelope_error(std::string("payloadType must be ") + oms::kPayloadType, "payloadType");
  }
  if (!env.contains("payload") || !env["payload"].is_string()) return envelope_error("payload must be a string", "payload");
  if (!env.contains("signatures") || !env["signatures"].is_array() || env["signatures"].size() != 1) {
    return envelope_error("signatures must hold exactly one signature", "signatures");
  }
  const Json& s = env["signatures"][0];
  CCI_TRY(require_keys(s, {"keyid", "sig"}, "signatures[0]"));
  auto payload = base64_decode(env["payload"].get<std::string>(), "payload");
  if (!payload) return envelope_error(payload.error().message, "payload");
  auto sig = base64_decode(s["sig"].get<std::string>(), "sig");
  if (!sig) return envelope_error(sig.error().message, "signatures[0].sig");
  VerifiedManifest out;
  out.key_hint = oms::public_key_hint(key.pem());
  if (s["keyid"].get<std::string>() != out.key_hint) {
    return make_error(ErrorCode::kVerificationFailed,
                      "the manifest was signed by another key (keyid " + s["keyid"].get<std::string>() + ", given key " +
                          out.key_hint + ")",
                      "keyid");
  }
  Bytes pae = oms::dsse_pae(oms::kPayloadType, *payload);
  auto ok = crypto::verify(key, pae, *sig, sign_options(key.type()));
  if (!ok) return make_error(ErrorCode::kVerificationFailed, "the manifest signature does not verify with the given key", "sig");
  CCI_ASSIGN(parsed, parse_deployment_statement(*payload));
  out.statement = std::move(parsed.statement);
  out.predicate = std::move(parsed.predicate);
  return out;
}

}  // namespace cci::manifest
