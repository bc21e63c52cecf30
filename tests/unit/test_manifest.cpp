#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "crypto/keys.h"
#include "crypto/x509_issue.h"
#include "manifest/file_tree.h"
#include "manifest/incremental.h"
#include "manifest/model_hash.h"
#include "manifest/model_signing.h"
#include "manifest/oms.h"
#include "support/vectors.h"

using namespace cci;
using namespace cci::manifest;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> mini_ignores() {
  auto ig = default_git_ignores();
  ig.push_back("ignore-me");
  return ig;
}

ModelDigest hash_dir(const fs::path& dir, const HashConfig& cfg, const std::vector<std::string>& ignores) {
  auto files = list_model_files(dir.string(), {ignores, false});
  REQUIRE(files);
  auto d = hash_model(*files, cfg);
  REQUIRE(d);
  return *d;
}

crypto::PrivateKey oms_test_key() {
  auto keys = test::require_vectors("measure/oms/keys");
  auto k = crypto::load_private_key_pem(test::slurp(keys / "signing-key.pem"), std::nullopt);
  REQUIRE(k);
  return std::move(*k);
}

crypto::PublicKey oms_test_pub() {
  auto keys = test::require_vectors("measure/oms/keys");
  auto k = crypto::load_public_key_pem(test::slurp(keys / "signing-key-pub.pem"));
  REQUIRE(k);
  return std::move(*k);
}

// Copies a vector directory into a writable temp dir.
fs::path copy_dir(const fs::path& from, const test::TempDir& tmp, const std::string& name) {
  fs::path to = tmp.path() / name;
  fs::copy(from, to, fs::copy_options::recursive);
  for (auto& e : fs::recursive_directory_iterator(to)) {
    fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  }
  fs::permissions(to, fs::perms::owner_write, fs::perm_options::add);
  return to;
}

VerifyModelOptions key_opts(const fs::path& dir) {
  VerifyModelOptions o;
  o.source.dir = dir.string();
  o.public_key = oms_test_pub();
  return o;
}

// Signs an arbitrary statement with the OMS test key, as an attacker with the key could.
std::string sign_statement(const std::string& statement, const std::string& payload_type = oms::kPayloadType) {
  auto key = oms_test_key();
  auto sig = crypto::sign(key, oms::dsse_pae(payload_type, as_bytes(statement)));
  REQUIRE(sig);
  std::string bundle = oms::build_key_bundle(as_bytes(statement), *sig, oms::public_key_hint(key.public_key().pem()));
  if (payload_type != oms::kPayloadType) {
    auto j = nlohmann::ordered_json::parse(bundle);
    j["dsseEnvelope"]["payloadType"] = payload_type;
    bundle = j.dump();
  }
  return bundle;
}

bool has_check_failed(const ModelVerification& v, const std::string& id) {
  for (const auto& c : v.checks) {
    if (c.id == id && !c.passed) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("path_less: component-wise order of the reference (model/z.bin before model-a.bin)") {
  CHECK(path_less("model/z.bin", "model-a.bin"));
  CHECK_FALSE(path_less("model-a.bin", "model/z.bin"));
  CHECK(path_less("a", "a/b"));
  CHECK(path_less("a/b", "a/c"));
  CHECK(path_less("empty.txt", "model/z.bin"));
  CHECK_FALSE(path_less("x", "x"));
  CHECK(path_less("model-00001-of-00002.safetensors", "model/weights.bin") == false);
  CHECK(path_less("model/weights.bin", "model-00001-of-00002.safetensors"));
}

TEST_CASE("is_ignored: exact paths and their subtrees only") {
  std::vector<std::string> ig{".git", "sub/dir"};
  CHECK(is_ignored(".git", ig));
  CHECK(is_ignored(".git/config", ig));
  CHECK_FALSE(is_ignored(".gitignore", ig));
  CHECK(is_ignored("sub/dir/x", ig));
  CHECK_FALSE(is_ignored("sub/dirx", ig));
  CHECK_FALSE(is_ignored("x/.git", ig));  // default ignores apply at the root only
}

TEST_CASE("mini-model: files/sha256 root and resource order match the reference") {
  auto dir = test::require_vectors("measure/oms/mini-model");
  auto d = hash_dir(dir, {}, mini_ignores());
  CHECK(to_hex(d.root) == "7711ef82e5afc53169152a43cf65f3eef9a2b2c4d397356041f5b2f25703aa58");
  std::vector<std::string> names;
  for (const auto& r : d.resources) names.push_back(r.name);
  CHECK(names == std::vector<std::string>{"empty.txt", "model/z.bin", "model-a.bin", "signme-1", "signme-2", "sub/w.bin"});
  CHECK(d.resources[0].algorithm == "sha256");
  CHECK(to_hex(d.resources[0].digest) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(to_hex(d.resources[5].digest) == "72399361da6a7754fec986dca5b7cbaf1c810a28ded4abaf56b2106d06cb78b0");
}

TEST_CASE("mini-model: files/blake2b root matches the reference") {
  auto dir = test::require_vectors("measure/oms/mini-model");
  HashConfig cfg;
  cfg.hash = crypto::DigestAlg::kBlake2b512;
  auto d = hash_dir(dir, cfg, mini_ignores());
  CHECK(to_hex(d.root) == "a90927e4c0282ddcc750e64921000ac935d83f695ca61b7283427cf4d3b82207");
  CHECK(d.resources[0].algorithm == "blake2b");
  CHECK(d.resources[0].digest.size() == 64);
}

TEST_CASE("mini-model: shards of 4 bytes match the reference, empty files omitted") {
  auto dir = test::require_vectors("measure/oms/mini-model");
  HashConfig cfg;
  cfg.method = Method::kShards;
  cfg.shard_size = 4;
  for (unsigned threads : {1u, 2u, 7u}) {
    cfg.threads = threads;
    auto d = hash_dir(dir, cfg, mini_ignores());
    CHECK(to_hex(d.root) == "c837215e0e1b7d26c33f675b53a61362dbd98206bf8cd83289ee6c54a2cce35f");
    REQUIRE(d.resources.size() == 10);
    CHECK(d.resources[0].name == "model/z.bin:0:1");
    CHECK(d.resources[2].name == "signme-1:0:4");
    CHECK(d.resources[9].name == "sub/w.bin:8:10");
    CHECK(d.resources[9].algorithm == "sha256-sharded-4");
  }
}

TEST_CASE("statement and bundle: byte-identical to the reference v1.1.0 key bundle") {
  auto dir = test::require_vectors("measure/oms/v1.1.0-elliptic-key");
  // The reference recorded its (frozenset-ordered) ignore list; give the same order.
  std::vector<std::string> ignores{".git", "model.sig", "ignore-me", ".gitattributes", ".gitignore", ".github"};
  auto d = hash_dir(dir, {}, ignores);
  oms::Serialization ser;
  ser.ignore_paths = ignores;
  std::string statement = oms::build_statement("v1.1.0-elliptic-key", d, ser);
  auto ref = oms::parse_bundle(test::slurp(dir / "model.sig"));
  REQUIRE(ref);
  CHECK(statement == std::string(as_chars(ref->payload)));
  std::string bundle = oms::build_key_bundle(ref->payload, ref->signature, ref->material.hint);
  CHECK(bundle == std::string(as_chars(test::slurp(dir / "model.sig"))));
  CHECK(oms::public_key_hint(oms_test_pub().pem()) == "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e");
}

TEST_CASE("verify: the reference key and certificate bundles verify") {
  auto base = test::require_vectors("measure/oms");
  SUBCASE("v1.1.0 key") {
    auto v = verify_model(test::slurp(base / "v1.1.0-elliptic-key/model.sig"), key_opts(base / "v1.1.0-elliptic-key"));
    REQUIRE(v);
    CHECK(v->passed);
    CHECK(to_hex(v->statement.subject_sha256) == "92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4");
  }
  SUBCASE("v1.0.1 key (no recorded ignore list)") {
    auto o = key_opts(base / "v1.0.1-elliptic-key");
    o.source.ignore = {"ignore-me", "model.sig"};
    auto v = verify_model(test::slurp(base / "v1.0.1-elliptic-key/model.sig"), o);
    REQUIRE(v);
    CHECK(v->passed);
  }
  for (const char* name : {"v1.1.0-certificate", "v1.0.1-certificate"}) {
    SUBCASE(name) {
      VerifyModelOptions o;
      o.source.dir = (base / name).string();
      o.source.ignore = {"ignore-me", "model.sig"};
      auto ca = crypto::parse_pem_bundle(test::slurp(base / "keys/ca-cert.pem"));
      auto inter = crypto::parse_pem_bundle(test::slurp(base / "keys/int-ca-cert.pem"));
      REQUIRE(ca);
      REQUIRE(inter);
      o.trust_anchors.push_back(std::move(ca->front()));
      o.trust_anchors.push_back(std::move(inter->front()));
      o.at = 1767225600;  // 2026-01-01
      auto v = verify_model(test::slurp(base / name / "model.sig"), o);
      REQUIRE(v);
      CHECK(v->passed);
      CHECK(to_hex(v->statement.subject_sha256) == "61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226");
      o.at = 2208988800;  // 2040: certificates expired
      auto late = verify_model(test::slurp(base / name / "model.sig"), o);
      REQUIRE(late);
      CHECK_FALSE(late->passed);
      CHECK(has_check_failed(*late, "oms.certificate_chain"));
    }
  }
}

TEST_CASE("verify: a certificate bundle's signing certificate must allow signing code, not only chain to a trusted CA") {
  // A CA of our own and leaves it issued: the same statement signed by each.
  auto base = test::require_vectors("measure/oms");
  auto reference = oms::parse_bundle(test::slurp(base / "v1.1.0-certificate/model.sig"));
  REQUIRE(reference);
  const std::time_t now = std::time(nullptr);
  auto spec = [&](const char* cn, std::uint64_t serial) {
    crypto::CertificateSpec s;
    s.subject = {{"CN", cn}};
    s.serial = serial;
    s.not_before = now - 3600;
    s.not_after = now + 3600;
    return s;
  };
  auto ca_key = crypto::generate_key(crypto::KeyType::kEcP384);
  REQUIRE(ca_key);
  auto ca_spec = spec("test model-signing CA", 1);
  ca_spec.ca = true;
  ca_spec.key_usage = "critical,keyCertSign,cRLSign";
  auto ca = crypto::issue_certificate(ca_spec, ca_key->public_key(), *ca_key, nullptr, crypto::IssueSignature::kEcdsaSha384);
  REQUIRE(ca);
  auto signed_by_leaf = [&](const std::string& key_usage, const std::optional<std::string>& eku) {
    auto key = crypto::generate_key(crypto::KeyType::kEcP256);
    REQUIRE(key);
    auto leaf_spec = spec("test model signer", 2);
    leaf_spec.end_entity = true;
    leaf_spec.key_usage = key_usage;
    leaf_spec.extended_key_usage = eku;
    auto leaf = crypto::issue_certificate(leaf_spec, key->public_key(), *ca_key, &*ca, crypto::IssueSignature::kEcdsaSha384);
    REQUIRE(leaf);
    auto sig = crypto::sign(*key, oms::dsse_pae(reference->payload_type, reference->payload));
    REQUIRE(sig);
    const std::string bundle = oms::build_certificate_bundle(reference->payload, *sig, {leaf->der()});
    VerifyModelOptions o;
    o.source.dir = (base / "v1.1.0-certificate").string();
    o.source.ignore = {"ignore-me", "model.sig"};
    o.trust_anchors.push_back(ca->clone());
    o.at = now;
    auto v = verify_model(as_bytes(bundle), o);
    REQUIRE_MESSAGE(v, (v ? "" : v.error().message));
    return std::move(*v);
  };
  const auto code_signing = signed_by_leaf("critical,digitalSignature", std::string("codeSigning"));
  CHECK(code_signing.passed);
  CHECK(signed_by_leaf("critical,digitalSignature", std::nullopt).passed);  // no EKU: any use
  for (const auto& [ku, eku] : {std::pair<std::string, std::optional<std::string>>{"critical,digitalSignature", std::string("serverAuth")},
                                {"critical,keyEncipherment", std::string("codeSigning")}}) {
    const std::string shown = ku + " / " + eku.value_or("");
    CAPTURE(shown);
    const auto v = signed_by_leaf(ku, eku);
    CHECK_FALSE(v.passed);
    CHECK(has_check_failed(v, "oms.certificate_usage"));
  }
}

TEST_CASE("verify: tampered model directories are rejected with every file named") {
  auto base = test::require_vectors("measure/oms/v1.1.0-elliptic-key");
  test::TempDir tmp;
  auto dir = copy_dir(base, tmp, "model");
  Bytes bundle = test::slurp(dir / "model.sig");
  SUBCASE("flipped byte") {
    test::write_text(dir / "signme-1", "signme-1\x01");
    auto v = verify_model(bundle, key_opts(dir));
    REQUIRE(v);
    CHECK_FALSE(v->passed);
    REQUIRE(v->files.size() == 1);
    CHECK(v->files[0].kind == FileFinding::Kind::kMismatch);
    CHECK(v->files[0].name == "signme-1");
  }
  SUBCASE("missing and extra files") {
    fs::remove(dir / "signme-2");
    test::write_text(dir / "extra.bin", "x");
    auto v = verify_model(bundle, key_opts(dir));
    REQUIRE(v);
    CHECK_FALSE(v->passed);
    REQUIRE(v->files.size() == 2);
    CHECK(v->files[0].name == "extra.bin");
    CHECK(v->files[0].kind == FileFinding::Kind::kExtra);
    CHECK(v->files[1].name == "signme-2");
    CHECK(v->files[1].kind == FileFinding::Kind::kMissing);
  }
  SUBCASE("extra file passes with ignore_unsigned_files only") {
    test::write_text(dir / "README", "unsigned");
    auto strict = verify_model(bundle, key_opts(dir));
    REQUIRE(strict);
    CHECK_FALSE(strict->passed);
    auto o = key_opts(dir);
    o.ignore_unsigned_files = true;
    auto lax = verify_model(bundle, o);
    REQUIRE(lax);
    CHECK(lax->passed);
  }
  SUBCASE("flipped signature byte") {
    auto j = nlohmann::ordered_json::parse(bundle.begin(), bundle.end());
    auto sig = base64_decode(j["dsseEnvelope"]["signatures"][0]["sig"].get<std::string>(), "sig");
    REQUIRE(sig);
    (*sig)[sig->size() - 3] ^= 0x01;
    j["dsseEnvelope"]["signatures"][0]["sig"] = base64_encode(*sig);
    auto v = verify_model(as_bytes(j.dump()), key_opts(dir));
    REQUIRE(v);
    CHECK_FALSE(v->passed);
    CHECK(has_check_failed(*v, "oms.signature"));
  }
  SUBCASE("wrong key") {
    auto other = crypto::generate_key(crypto::KeyType::kEcP384);
    REQUIRE(other);
    auto o = key_opts(dir);
    o.public_key = other->public_key();
    auto v = verify_model(bundle, o);
    REQUIRE(v);
    CHECK_FALSE(v->passed);
    CHECK(has_check_failed(*v, "oms.key_hint"));
  }
}

TEST_CASE("verify: malformed and truncated bundles are errors naming the field") {
  auto base = test::require_vectors("measure/oms/v1.1.0-elliptic-key");
  std::string good(as_chars(test::slurp(base / "model.sig")));
  auto o = key_opts(base);
  for (size_t cut : {size_t{0}, size_t{1}, good.size() / 2, good.size() - 1}) {
    CAPTURE(cut);
    auto v = verify_model(as_bytes(good.substr(0, cut)), o);
    REQUIRE_FALSE(v);
    CHECK(v.error().code == ErrorCode::kMalformed);
  }
  auto j = nlohmann::ordered_json::parse(good);
  auto mutate = [&](auto&& f) {
    auto c = j;
    f(c);
    return c.dump();
  };
  struct Case {
    const char* what;
    std::string json;
    const char* field;
  } cases[] = {
      {"mediaType", mutate([](auto& c) { c["mediaType"] = "application/json"; }), "mediaType"},
      {"no envelope", mutate([](auto& c) { c.erase("dsseEnvelope"); }), "dsseEnvelope"},
      {"payload not base64", mutate([](auto& c) { c["dsseEnvelope"]["payload"] = "!!"; }), "dsseEnvelope.payload"},
      {"two signatures", mutate([](auto& c) { c["dsseEnvelope"]["signatures"].push_back(c["dsseEnvelope"]["signatures"][0]); }),
       "dsseEnvelope.signatures"},
      {"no material", mutate([](auto& c) { c["verificationMaterial"].erase("publicKey"); }), "verificationMaterial"},
      {"sig not a string", mutate([](auto& c) { c["dsseEnvelope"]["signatures"][0]["sig"] = 5; }),
       "dsseEnvelope.signatures[0].sig"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    auto v = verify_model(as_bytes(c.json), o);
    REQUIRE_FALSE(v);
    CHECK(v.error().code == ErrorCode::kMalformed);
    CHECK(v.error().field == c.field);
  }
}

TEST_CASE("verify: wrong payload type or predicate type is rejected even when signed") {
  auto base = test::require_vectors("measure/oms/v1.1.0-elliptic-key");
  auto ref = oms::parse_bundle(test::slurp(base / "model.sig"));
  REQUIRE(ref);
  std::string stmt(as_chars(ref->payload));
  auto o = key_opts(base);
  SUBCASE("payloadType") {
    auto v = verify_model(as_bytes(sign_statement(stmt, "application/json")), o);
    REQUIRE(v);
    CHECK_FALSE(v->passed);
    CHECK(has_check_failed(*v, "oms.payload_type"));
  }
  SUBCASE("predicateType") {
    std::string bad = stmt;
    bad.replace(bad.find("signature/v1.0"), 14, "signature/v9.9");
    auto v = verify_model(as_bytes(sign_statement(bad)), o);
    REQUIRE(v);
    CHECK_FALSE(v->passed);
    CHECK(has_check_failed(*v, "oms.statement"));
  }
  SUBCASE("subject digest that does not cover the resources") {
    std::string bad = stmt;
    bad.replace(bad.find("92745110"), 8, "00000000");
    auto v = verify_model(as_bytes(sign_statement(bad)), o);
    REQUIRE(v);
    CHECK_FALSE(v->passed);
    CHECK(has_check_failed(*v, "oms.subject_digest"));
  }
}

TEST_CASE("sign + verify round trip in every serialization") {
  auto mini = test::require_vectors("measure/oms/mini-model");
  auto key = oms_test_key();
  for (int mode = 0; mode < 3; ++mode) {
    CAPTURE(mode);
    HashConfig cfg;
    if (mode == 1) cfg.hash = crypto::DigestAlg::kBlake2b512;
    if (mode == 2) {
      cfg.method = Method::kShards;
      cfg.shard_size = 4;
    }
    ModelSource src{mini.string(), mini_ignores(), false};
    auto files = list_model_files(src.dir, {src.ignore, false});
    REQUIRE(files);
    auto s = sign_model(src, *files, cfg, key);
    REQUIRE(s);
    auto v = verify_model(as_bytes(s->bundle_json), key_opts(mini));
    REQUIRE(v);
    CHECK(v->passed);
    CHECK(v->statement.subject_name == "mini-model");
  }
}

namespace {

Bytes payload_of(const std::string& bundle) {
  auto b = oms::parse_bundle(as_bytes(bundle));
  REQUIRE(b);
  return b->payload;
}

struct SignRun {
  std::string bundle;
  IncrementalPlan plan;
};

// Signs `dir` in full, or reusing `prev` (a bundle and its state) when given.
SignRun sign_dir(const fs::path& dir, const HashConfig& base, const std::pair<std::string, std::string>* prev = nullptr) {
  auto key = oms_test_key();
  ModelSource src{dir.string(), mini_ignores(), false};
  auto files = list_model_files(src.dir, {src.ignore, false});
  REQUIRE(files);
  HashConfig cfg = base;
  SignRun run;
  if (prev) {
    auto p = plan_incremental(as_bytes(prev->first), prev->second, key.public_key(), *files, cfg);
    REQUIRE_MESSAGE(p, p.error().message);
    run.plan = std::move(*p);
    cfg.known = &run.plan.known;
  }
  auto s = sign_model(src, *files, cfg, key);
  REQUIRE(s);
  run.bundle = s->bundle_json;
  return run;
}

std::string state_for(const fs::path& dir, const HashConfig& cfg, const std::string& bundle) {
  auto files = list_model_files(dir.string(), {mini_ignores(), false});
  REQUIRE(files);
  return incremental_state(*files, cfg, as_bytes(bundle));
}

}  // namespace

TEST_CASE("incremental signing: only changed files are hashed, and the statement is the full sign's") {
  auto mini = test::require_vectors("measure/oms/mini-model");
  test::TempDir tmp;
  for (int mode = 0; mode < 2; ++mode) {
    CAPTURE(mode);
    HashConfig cfg;
    if (mode == 1) {
      cfg.method = Method::kShards;
      cfg.shard_size = 4;
    }
    std::string name = "m";
    name += std::to_string(mode);  // (not "m" + ...: GCC 12 -O3 reports a false -Wrestrict there)
    fs::path dir = copy_dir(mini, tmp, name);
    auto files = list_model_files(dir.string(), {mini_ignores(), false});
    REQUIRE(files);
    const size_t n = files->size();
    SignRun first = sign_dir(dir, cfg);
    std::pair<std::string, std::string> prev{first.bundle, state_for(dir, cfg, first.bundle)};

    // Nothing changed: every file reused, the same statement.
    SignRun same = sign_dir(dir, cfg, &prev);
    CHECK(same.plan.reused.size() == n);
    CHECK(check_reused_unchanged(*files, same.plan));
    CHECK(payload_of(same.bundle) == payload_of(first.bundle));

    // One file rewritten in place with the same size and its old mtime put back (touch -d):
    // ctime still moves, so the file is hashed again.
    const TreeFile* victim = nullptr;
    for (const auto& f : *files) {
      if (f.size >= 2 && (!victim || f.size > victim->size)) victim = &f;
    }
    REQUIRE(victim);
    struct stat before {};
    REQUIRE(::stat(victim->path.c_str(), &before) == 0);
    usleep(20000);
    {
      std::fstream f(victim->path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(0);
      f.put('\x7f');
    }
    const struct timespec times[2] = {before.st_atim, before.st_mtim};
    REQUIRE(::utimensat(AT_FDCWD, victim->path.c_str(), times, 0) == 0);
    SignRun after = sign_dir(dir, cfg, &prev);
    SignRun full = sign_dir(dir, cfg);
    CHECK(after.plan.reused.size() == n - 1);
    CHECK(after.plan.known.count(victim->name) == 0);
    CHECK(payload_of(after.bundle) == payload_of(full.bundle));
    CHECK(payload_of(after.bundle) != payload_of(first.bundle));
    // A file rewritten after it was planned for reuse (between listing and signing) is caught.
    auto late = check_reused_unchanged(*files, same.plan);
    REQUIRE_FALSE(late);
    CHECK(late.error().field == victim->name);
  }
}

TEST_CASE("incremental signing: a bundle of another key, a state of another bundle, a broken state") {
  auto mini = test::require_vectors("measure/oms/mini-model");
  test::TempDir tmp;
  fs::path dir = copy_dir(mini, tmp, "m");
  HashConfig cfg;
  SignRun first = sign_dir(dir, cfg);
  const std::string state = state_for(dir, cfg, first.bundle);
  auto files = list_model_files(dir.string(), {mini_ignores(), false});
  REQUIRE(files);
  auto other = crypto::generate_key(crypto::KeyType::kEcP384);
  REQUIRE(other);
  auto p = plan_incremental(as_bytes(first.bundle), state, other->public_key(), *files, cfg);
  REQUIRE_FALSE(p);
  CHECK(p.error().field == "signature");

  SignRun second = sign_dir(dir, cfg);  // same statement, another signature
  p = plan_incremental(as_bytes(second.bundle), state, oms_test_key().public_key(), *files, cfg);
  REQUIRE_FALSE(p);
  CHECK(p.error().field == "bundle_sha256");

  for (const std::string& bad : {std::string("{"), std::string("[]"), state.substr(0, state.size() / 2),
                                std::string(R"({"schema":"cci.measure.state.v1"})")}) {
    p = plan_incremental(as_bytes(first.bundle), bad, oms_test_key().public_key(), *files, cfg);
    REQUIRE_FALSE(p);
    CHECK(p.error().code == ErrorCode::kMalformed);
  }
  // Each file's identity is JSON integers: a fraction, an exponent beyond the type, a negative
  // size, a string, a missing member are refused (never converted: 1e30 into an integer is UB).
  const std::string entry_head = R"({"schema":"cci.measure.state.v1","bundle_sha256":"00","algorithm":"sha256","files":[{"name":"a",)";
  const std::string good_rest = R"("dev":1,"ino":2,"mtime_ns":-3,"ctime_ns":4}]})";
  auto parsed = parse_incremental_state(entry_head + R"("size":5,)" + good_rest);
  REQUIRE_MESSAGE(parsed, parsed.error().message);
  CHECK(parsed->files.at("a").size == 5);
  CHECK(parsed->files.at("a").mtime_ns == -3);
  for (const std::string size : {"1.7e23", "5.5", "-5", "\"5\"", "null", "18446744073709551616"}) {
    CAPTURE(size);
    auto r = parse_incremental_state(entry_head + "\"size\":" + size + "," + good_rest);
    REQUIRE_FALSE(r);
    CHECK(r.error().field == "files");
  }
  CHECK_FALSE(parse_incremental_state(entry_head + R"("size":5,"dev":1,"ino":2,"mtime_ns":2.047e20,"ctime_ns":4}]})"));
  CHECK_FALSE(parse_incremental_state(entry_head + R"("size":5,"dev":1,"ino":2,"mtime_ns":9223372036854775808,"ctime_ns":4}]})"));
  CHECK_FALSE(parse_incremental_state(entry_head + R"("size":5,"dev":1,"ino":2,"mtime_ns":3}]})"));
  CHECK_FALSE(parse_incremental_state(R"({"schema":"cci.measure.state.v1","bundle_sha256":"00","algorithm":"sha256","files":[7]})"));
  // Other hash settings: nothing reused, and the plan says why.
  HashConfig blake;
  blake.hash = crypto::DigestAlg::kBlake2b512;
  p = plan_incremental(as_bytes(first.bundle), state, oms_test_key().public_key(), *files, blake);
  REQUIRE(p);
  CHECK(p->known.empty());
  CHECK(p->note.find("sha256") != std::string::npos);
}

TEST_CASE("sign: SM2 and Ed25519 keys are refused for OMS bundles") {
  auto mini = test::require_vectors("measure/oms/mini-model");
  auto key = crypto::generate_key(crypto::KeyType::kSm2);
  REQUIRE(key);
  ModelSource src{mini.string(), mini_ignores(), false};
  auto files = list_model_files(src.dir, {src.ignore, false});
  REQUIRE(files);
  auto s = sign_model(src, *files, {}, *key);
  REQUIRE_FALSE(s);
  CHECK(s.error().code == ErrorCode::kUsage);
}

TEST_CASE("file tree: symlinks, loops, special files and non-UTF-8 names") {
  test::TempDir tmp;
  fs::path dir = tmp.path() / "m";
  test::write_text(dir / "a.bin", "a");
  test::write_text(tmp.path() / "outside.bin", "secret");
  SUBCASE("symlink to outside without allow_symlinks") {
    fs::create_symlink(tmp.path() / "outside.bin", dir / "link.bin");
    auto f = list_model_files(dir.string(), {});
    REQUIRE_FALSE(f);
    CHECK(f.error().code == ErrorCode::kInvalidInput);
    CHECK(f.error().message.find("link.bin") != std::string::npos);
    auto allowed = list_model_files(dir.string(), {{}, true});
    REQUIRE(allowed);
    CHECK(allowed->size() == 2);
  }
  SUBCASE("symlink loop") {
    fs::create_directory_symlink(dir, dir / "loop");
    auto f = list_model_files(dir.string(), {{}, true});
    REQUIRE_FALSE(f);
    CHECK(f.error().message.find("loop") != std::string::npos);
    fs::remove(dir / "loop");
    fs::create_symlink(dir / "self", dir / "self");
    auto g = list_model_files(dir.string(), {{}, true});
    REQUIRE_FALSE(g);
    CHECK(g.error().message.find("loop") != std::string::npos);
  }
  SUBCASE("fifo") {
    REQUIRE(::mkfifo((dir / "pipe").c_str(), 0600) == 0);
    auto f = list_model_files(dir.string(), {});
    REQUIRE_FALSE(f);
    CHECK(f.error().message.find("not a regular file") != std::string::npos);
  }
  SUBCASE("non-UTF-8 name") {
    test::write_text(dir / "bad\xff.bin", "x");
    auto f = list_model_files(dir.string(), {});
    REQUIRE_FALSE(f);
    CHECK(f.error().message.find("UTF-8") != std::string::npos);
    CHECK(f.error().message.find("bad\\xff.bin") != std::string::npos);
  }
}

TEST_CASE("hashing: a file that changes while being hashed is an error") {
  test::TempDir tmp;
  fs::path dir = tmp.path() / "m";
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "big.bin", std::ios::binary);
    std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 4; ++i) f << chunk;
  }
  auto files = list_model_files(dir.string(), {});
  REQUIRE(files);
  HashConfig cfg;
  bool touched = false;
  cfg.on_bytes = [&](std::uint64_t) {
    if (touched) return;
    touched = true;
    std::ofstream f(dir / "big.bin", std::ios::binary | std::ios::app);
    f << "more";
  };
  auto d = hash_model(*files, cfg);
  REQUIRE_FALSE(d);
  CHECK(d.error().code == ErrorCode::kIo);
  CHECK(d.error().message.find("changed while it was being hashed") != std::string::npos);
}

TEST_CASE("hashing: an empty model is refused") {
  test::TempDir tmp;
  auto files = list_model_files(tmp.str(), {});
  REQUIRE(files);
  auto d = hash_model(*files, {});
  REQUIRE_FALSE(d);
  CHECK(d.error().code == ErrorCode::kInvalidInput);
}

TEST_CASE("parse_shard_name: the last two fields are the range") {
  auto s = parse_shard_name("dir/a:b.bin:0:4");
  REQUIRE(s);
  CHECK(s->path == "dir/a:b.bin");
  CHECK(s->end == 4);
  CHECK_FALSE(parse_shard_name("a.bin:4"));
  CHECK_FALSE(parse_shard_name("a.bin:4:4"));
  CHECK_FALSE(parse_shard_name("a.bin:x:4"));
  CHECK_FALSE(parse_shard_name("a.bin:01:4"));
}

TEST_CASE("hashing: a mapped file truncated while being hashed is an error, not a crash (SIGBUS)") {
  test::TempDir tmp;
  fs::path dir = tmp.path() / "m";
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "weights.bin", std::ios::binary);
    std::string chunk(1 << 20, 'w');
    for (int i = 0; i < 32; ++i) f << chunk;  // several mapping windows
  }
  auto files = list_model_files(dir.string(), {});
  REQUIRE(files);
  HashConfig cfg;
  cfg.threads = 1;
  bool truncated = false;
  cfg.on_bytes = [&](std::uint64_t) {
    if (truncated) return;
    truncated = true;
    fs::resize_file(dir / "weights.bin", 4096);
  };
  auto d = hash_model(*files, cfg);
  REQUIRE_FALSE(d);
  CHECK(d.error().code == ErrorCode::kIo);
  CHECK(d.error().message.find("weights.bin changed while it was being hashed") != std::string::npos);
  // The same file, untouched, hashes like a plain read would.
  {
    std::ofstream f(dir / "weights.bin", std::ios::binary | std::ios::trunc);
    std::string chunk(1 << 20, 'w');
    for (int i = 0; i < 9; ++i) f << chunk;
  }
  auto again = list_model_files(dir.string(), {});
  REQUIRE(again);
  HashConfig plain;
  auto ok = hash_model(*again, plain);
  REQUIRE(ok);
  crypto::Hasher h(crypto::DigestAlg::kSha256);
  std::string chunk(1 << 20, 'w');
  for (int i = 0; i < 9; ++i) h.update(as_bytes(chunk));
  CHECK(ok->resources[0].digest == h.finish());
}

TEST_CASE("statement: the model's digests are SHA-256 or BLAKE2b-512, any other hash is refused") {
  // An OMS statement whose serialization names another hash (a weaker one would make the
  // signed digests collidable) is unsupported, not read with it.
  auto statement = [](const std::string& hash) {
    nlohmann::json st{{"_type", "https://in-toto.io/Statement/v1"},
                      {"subject", nlohmann::json::array({{{"name", "m"}, {"digest", {{"sha256", std::string(64, 'a')}}}}})},
                      {"predicateType", "https://model_signing/signature/v1.0"},
                      {"predicate", {{"resources", nlohmann::json::array({{{"name", "a"}, {"algorithm", hash}, {"digest", std::string(64, 'b')}}})},
                                     {"serialization", {{"method", "files"}, {"hash_type", hash}, {"allow_symlinks", false}, {"ignore_paths", nlohmann::json::array()}}}}}};
    return st.dump();
  };
  const std::string good = statement("sha256");
  auto ok = oms::parse_statement(as_bytes(good));
  REQUIRE_MESSAGE(ok, ok.error().message);
  for (const std::string hash : {"sha1", "md5", "sha384", "sha512", "sm3", ""}) {
    CAPTURE(hash);
    const std::string text = statement(hash);
    auto st = oms::parse_statement(as_bytes(text));
    REQUIRE_FALSE(st);
    CHECK(st.error().code == ErrorCode::kUnsupported);
    CHECK(st.error().message.find("unsupported hash") != std::string::npos);
  }
}
