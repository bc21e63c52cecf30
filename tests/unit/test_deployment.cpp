// The deployment manifest: strict YAML input (line numbers), building from examples/,
// signing, and verification that fails for any altered byte.
#include <doctest/doctest.h>

#include <filesystem>

#include "base/hex.h"
#include "crypto/keys.h"
#include "manifest/deployment.h"
#include "manifest/release.h"
#include "support/vectors.h"

using namespace cci;
using namespace cci::manifest;
namespace fs = std::filesystem;

namespace {

const std::string kExamples = std::string(CCI_SOURCE_DIR) + "/examples";

Result<DeploymentInput> parse(const std::string& yaml) { return parse_deployment_yaml(yaml, kExamples, "cci.yaml"); }

std::string error_of(const std::string& yaml) {
  auto r = parse(yaml);
  REQUIRE_FALSE(r);
  return r.error().message;
}

const char* kMinimal = "version: 1\nname: t\nmodel:\n  path: tiny-model\n";

BuiltManifest build_examples() {
  auto text = test::slurp(kExamples + "/cci.yaml");
  auto in = parse_deployment_yaml(as_chars(text), kExamples, "examples/cci.yaml");
  REQUIRE_MESSAGE(in, (in ? "" : in.error().message));
  BuildOptions o;
  o.created = "2026-01-01T00:00:00Z";
  auto b = build_deployment(*in, o);
  REQUIRE_MESSAGE(b, (b ? "" : b.error().message));
  return *b;
}

}  // namespace

TEST_CASE("deployment YAML: a minimal input parses, with secure policy defaults") {
  auto in = parse(kMinimal);
  REQUIRE_MESSAGE(in, (in ? "" : in.error().message));
  CHECK(in->name == "t");
  REQUIRE(in->model);
  CHECK(in->model->path == kExamples + "/tiny-model");
  CHECK(in->policy["allow_debug"] == false);
  CHECK(in->policy["allow_migration_agent"] == false);
}

TEST_CASE("deployment YAML: unknown keys, duplicate keys and wrong types are rejected with the line") {
  CHECK(error_of("version: 1\nname: t\nmodle:\n  path: x\n").find("cci.yaml:3: unknown key 'modle'") != std::string::npos);
  CHECK(error_of("version: 1\nname: t\nname: u\nmodel: {path: x}\n").find("cci.yaml:3: duplicate key 'name'") != std::string::npos);
  CHECK(error_of("version: 1\nname: t\nmodel:\n  path: x\n  path: y\n").find(":5:") != std::string::npos);
  CHECK(error_of("version: \"1\"\nname: t\nmodel: {path: x}\n").find("cci.yaml:1: version: expected an unquoted integer") !=
        std::string::npos);
  CHECK(error_of("version: 1\nname: t\nmodel: {path: x}\npolicy:\n  allow_debug: yes\n").find("cci.yaml:5: policy.allow_debug") !=
        std::string::npos);
  CHECK(error_of("version: 1\nname: [a]\nmodel: {path: x}\n").find("cci.yaml:2: name: expected a string") != std::string::npos);
  CHECK(error_of("version: 1\nname: t\nimages:\n  - name: g\n    ovmf: f\n    launch:\n      - mode: snp\n        vcpus: 600\n        "
                 "vcpu_type: EPYC\n")
            .find("cci.yaml:8: images[0].launch[0].vcpus") != std::string::npos);
  CHECK(error_of("version: 1\nname: t\nimages:\n  - name: g\n    ovmf: f\n    launch:\n      - mode: snp\n        vcpus: 2\n        "
                 "vcpu_type: EPYC-Nope\n")
            .find("unknown vCPU type") != std::string::npos);
  CHECK(error_of("version: 1\nname: t\nimages:\n  - name: g\n    ovmf: f\n    launch: []\n").find("at least one") != std::string::npos);
  CHECK(error_of("version: 1\nname: t\ndisks:\n  - name: d\n    path: p\n    verity: {salt: zz}\n").find("cci.yaml:6") !=
        std::string::npos);
  CHECK(error_of("version: 1\nname: t\nmodel: {path: x}\npolicy:\n  min_tcb: {snp: 300}\n").find("policy.min_tcb.snp") !=
        std::string::npos);
  CHECK(error_of("version: 2\nname: t\nmodel: {path: x}\n").find("version") != std::string::npos);
  CHECK(error_of("version: 1\nname: t\n").find("measures nothing") != std::string::npos);
  CHECK(error_of("version: 1\nname: t\nmodel: [path\n").find("YAML syntax error") != std::string::npos);
  CHECK(error_of("- 1\n- 2\n").find("expected a mapping") != std::string::npos);
}

TEST_CASE("the examples/ manifest builds with every launch digest, verity root and policy") {
  auto b = build_examples();
  const auto& p = b.predicate;
  CHECK(p["schema_version"] == 1);
  CHECK(p["model"]["root_digest"]["sha256"].get<std::string>().size() == 64);
  REQUIRE(p["images"].size() == 1);
  const auto& l = p["images"][0]["launch_measurements"];
  REQUIRE(l.size() == 4);
  CHECK(l[0]["platform"] == "snp");
  CHECK(l[0]["measurement"].get<std::string>().size() == 96);
  CHECK(l[3]["platform"] == "csv");
  CHECK(l[3]["hardware_confirmed"] == false);
  CHECK_FALSE(b.warnings.empty());
  // The disk's verity root is what the image's command line carries.
  std::string root = p["disks"][0]["verity"]["root_hash"];
  CHECK(p["images"][0]["cmdline"].get<std::string>().find(root) != std::string::npos);
  CHECK(p["policy"]["min_tcb"]["snp"] == 8);
  // Same inputs, same statement bytes.
  CHECK(build_examples().statement == b.statement);
}

TEST_CASE("signed manifests verify, any flipped byte, another key or a foreign keyid fails") {
  auto b = build_examples();
  auto key = crypto::generate_key(crypto::KeyType::kEd25519);  // fast verification for the byte sweep
  REQUIRE(key);
  auto env = sign_envelope(b.statement, *key);
  REQUIRE(env);
  auto ok = verify_deployment_manifest(as_bytes(*env), key->public_key());
  REQUIRE_MESSAGE(ok, (ok ? "" : ok.error().message));
  CHECK(ok->predicate == b.predicate);

  size_t failures = 0;
  for (size_t i = 0; i < env->size(); ++i) {
    std::string bad = *env;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto r = verify_deployment_manifest(as_bytes(bad), key->public_key());
    if (!r) {
      ++failures;
      CHECK((r.error().code == ErrorCode::kMalformed || r.error().code == ErrorCode::kVerificationFailed));
    } else {
      CAPTURE(i);
      FAIL("a flipped byte verified");
    }
  }
  CHECK(failures == env->size());

  auto other = crypto::generate_key(crypto::KeyType::kEd25519);
  auto wrong = verify_deployment_manifest(as_bytes(*env), other->public_key());
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code == ErrorCode::kVerificationFailed);
  CHECK(wrong.error().field == "keyid");
}

TEST_CASE("manifests sign and verify with ECDSA P-384 and SM2") {
  auto b = build_examples();
  for (auto t : {crypto::KeyType::kEcP384, crypto::KeyType::kSm2}) {
    auto key = crypto::generate_key(t);
    REQUIRE(key);
    auto env = sign_envelope(b.statement, *key);
    REQUIRE(env);
    CHECK(verify_deployment_manifest(as_bytes(*env), key->public_key()));
  }
}

TEST_CASE("envelope structure is checked before the signature") {
  auto key = crypto::generate_key(crypto::KeyType::kEd25519);
  auto env = sign_envelope(build_examples().statement, *key);
  auto j = nlohmann::json::parse(*env);
  auto check = [&](nlohmann::json e, const char* field) {
    auto r = verify_deployment_manifest(as_bytes(e.dump()), key->public_key());
    REQUIRE_FALSE(r);
    CHECK(r.error().field.find(field) != std::string::npos);
  };
  auto e = j;
  e["extra"] = 1;
  check(e, "extra");
  e = j;
  e["signatures"].push_back(e["signatures"][0]);
  check(e, "signatures");
  e = j;
  e["payloadType"] = "text/plain";
  check(e, "payloadType");
  e = j;
  e["signatures"][0]["cert"] = "x";
  check(e, "signatures[0]");
  CHECK_FALSE(verify_deployment_manifest(as_bytes("[]"), key->public_key()));
  CHECK_FALSE(verify_deployment_manifest(as_bytes(""), key->public_key()));
}

TEST_CASE("manifests/examples/tiny-demo.statement.json is what examples/cci.yaml builds") {
  auto text = test::slurp(kExamples + "/cci.yaml");
  auto in = parse_deployment_yaml(as_chars(text), kExamples, "examples/cci.yaml");
  REQUIRE(in);
  BuildOptions o;
  o.created = "1970-01-01T00:00:00Z";
  auto b = build_deployment(*in, o);
  REQUIRE(b);
  auto committed = test::slurp(std::string(CCI_SOURCE_DIR) + "/manifests/examples/tiny-demo.statement.json");
  CHECK(b->statement == std::string(as_chars(committed)));
}

TEST_CASE("the model can be given as its OMS bundle, with or without the directory") {
  auto oms = test::require_vectors("measure/oms");
  const std::string dir = (oms / "v1.1.0-elliptic-key").string();
  const std::string key = (oms / "keys/signing-key-pub.pem").string();
  const std::string root = "92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4";
  BuildOptions o;
  for (bool with_path : {false, true}) {
    CAPTURE(with_path);
    std::string yaml = "version: 1\nname: t\nmodel:\n" + (with_path ? "  path: " + dir + "\n  ignore: [ignore-me]\n" : std::string()) +
                       "  bundle: " + dir + "/model.sig\n  key: " + key + "\n";
    auto in = parse(yaml);
    REQUIRE_MESSAGE(in, (in ? "" : in.error().message));
    auto b = build_deployment(*in, o);
    REQUIRE_MESSAGE(b, (b ? "" : b.error().message));
    CHECK(b->predicate["model"]["root_digest"]["sha256"] == root);
    CHECK(b->predicate["model"]["name"] == "v1.1.0-elliptic-key");
  }
  // A bundle that does not verify with the key stops the build.
  test::TempDir tmp;
  auto other = crypto::generate_key(crypto::KeyType::kEcP384);
  test::write_text(tmp.path() / "other.pub", other->public_key().pem());
  auto in = parse("version: 1\nname: t\nmodel:\n  bundle: " + dir + "/model.sig\n  key: " + tmp.str("other.pub") + "\n");
  REQUIRE(in);
  auto b = build_deployment(*in, o);
  REQUIRE_FALSE(b);
  CHECK(b.error().code == ErrorCode::kVerificationFailed);
  CHECK(error_of("version: 1\nname: t\nmodel:\n  ignore: [x]\n").find("give path") != std::string::npos);
}

TEST_CASE("verify_release: a deployment manifest carries the model's signed files, a bundle is recognised, neither verifies under another key") {
  auto key = crypto::generate_key(crypto::KeyType::kEcP384);
  REQUIRE(key);
  const std::string pem = key->public_key().pem();
  auto built = build_examples();
  auto env = sign_envelope(built.statement, *key);
  REQUIRE(env);
  auto r = verify_release(Bytes(env->begin(), env->end()), Bytes(pem.begin(), pem.end()), 0);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK(r->kind == Release::Kind::kDeployment);
  CHECK(r->model.resources.size() == 4);
  CHECK(r->model.serialization.method == Method::kFiles);
  CHECK(to_hex(r->model.subject_sha256) == built.predicate["model"]["root_digest"]["sha256"].get<std::string>());
  CHECK(std::string(as_chars(r->manifest)) == *env);
  auto other = crypto::generate_key(crypto::KeyType::kEcP384);
  const std::string other_pem = other->public_key().pem();
  CHECK_FALSE(verify_release(Bytes(env->begin(), env->end()), Bytes(other_pem.begin(), other_pem.end()), 0));
  // A file list whose digests do not give the signed root digest is refused.
  Json st = Json::parse(built.statement);
  st["predicate"]["model"]["files"][0]["digest"] = std::string(64, '0');
  auto env2 = sign_envelope(st.dump(2), *key);
  auto bad = verify_release(Bytes(env2->begin(), env2->end()), Bytes(pem.begin(), pem.end()), 0);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().field == "model.root_digest");
  // A manifest built before the file list was recorded: refused with what to do.
  st = Json::parse(built.statement);
  st["predicate"]["model"].erase("files");
  auto env3 = sign_envelope(st.dump(2), *key);
  auto old = verify_release(Bytes(env3->begin(), env3->end()), Bytes(pem.begin(), pem.end()), 0);
  REQUIRE_FALSE(old);
  CHECK(old.error().message.find("rebuild it") != std::string::npos);
  // An OMS model bundle is a release of the model alone.
  auto oms = test::require_vectors("measure/oms");
  auto bundle = test::slurp(oms / "v1.1.0-elliptic-key/model.sig");
  auto bundle_key = test::slurp(oms / "keys/signing-key-pub.pem");
  auto b = verify_release(bundle, bundle_key, 0);
  REQUIRE_MESSAGE(b, (b ? "" : b.error().message));
  CHECK(b->kind == Release::Kind::kModelBundle);
  CHECK_FALSE(b->deployment);
  CHECK_FALSE(verify_release(bundle, Bytes(pem.begin(), pem.end()), 0));
}
