// Confidential Containers pods for a deployment: the init-data document, its digest fitted to
// HOST_DATA / MRCONFIGID (trustee kbs/docs/initdata.md), the cc_init_data annotation, the
// kubernetes: section of cci.yaml, and the objects rendered from a built predicate.
#include <doctest/doctest.h>

#include <zlib.h>

#include "base/hex.h"
#include "crypto/digest.h"
#include "kubernetes/init_data.h"
#include "kubernetes/workload.h"
#include "manifest/deployment.h"
#include "support/vectors.h"

using namespace cci;
using namespace cci::kubernetes;

namespace {

const std::string kImage = "registry.example/cci-run@sha256:" + std::string(64, 'a');

InitDataSettings settings() {
  InitDataSettings s;
  s.deployment = "demo";
  s.model_sha256 = std::string(64, 'b');
  s.image = kImage;
  s.key_source = "cdh:///default/cci/key";
  s.kbs_url = "http://kbs.example:8080";
  return s;
}

std::string gunzip(const std::string& b64) {
  auto gz = base64_decode(b64, "annotation");
  REQUIRE(gz);
  z_stream z{};
  REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = gz->data();
  z.avail_in = static_cast<uInt>(gz->size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  REQUIRE(rc == Z_STREAM_END);
  return out;
}

const std::string kExamples = std::string(CCI_SOURCE_DIR) + "/examples";

std::string with_kubernetes(const std::string& section) {
  auto text = test::slurp(kExamples + "/cci.yaml");
  return std::string(as_chars(text)) + "\nkubernetes:\n" + section;
}

}  // namespace

TEST_CASE("init-data: the digest is the named hash of the exact text, cut or zero-padded to the TEE field") {
  auto toml = render_init_data(settings());
  REQUIRE(toml);
  CHECK(toml->rfind("algorithm = \"sha384\"\nversion = \"0.1.0\"\n\n[data]\n", 0) == 0);
  CHECK(toml->find("\"policy.rego\" = '''\npackage agent_policy\n") != std::string::npos);
  CHECK(toml->find("default ExecProcessRequest := false\n") != std::string::npos);
  CHECK(toml->find("io.kubernetes.cri.image-name\"] == \"" + kImage + "\"") != std::string::npos);
  auto again = render_init_data(settings());
  REQUIRE(again);
  CHECK(*again == *toml);  // deterministic: the manifest can record it

  auto d = init_data_digest(*toml, "sha384");
  REQUIRE(d);
  CHECK(*d == crypto::digest(crypto::DigestAlg::kSha384, as_bytes(*toml)));
  CHECK(fit_to_field(*d, kSnpHostDataBytes) == Bytes(d->begin(), d->begin() + 32));
  CHECK(fit_to_field(*d, kTdxMrConfigIdBytes) == *d);
  const Bytes d256 = crypto::digest(crypto::DigestAlg::kSha256, as_bytes(*toml));
  Bytes padded = d256;
  padded.resize(48, 0);
  CHECK(fit_to_field(d256, kTdxMrConfigIdBytes) == padded);
  const Bytes d512 = crypto::digest(crypto::DigestAlg::kSha512, as_bytes(*toml));
  CHECK(fit_to_field(d512, kTdxMrConfigIdBytes) == Bytes(d512.begin(), d512.begin() + 48));
  CHECK_FALSE(init_data_digest(*toml, "md5"));
  CHECK_FALSE(init_data_digest(*toml, "SHA384"));

  auto a = init_data_annotation(*toml);
  REQUIRE(a);
  CHECK(gunzip(*a) == *toml);
}

TEST_CASE("init-data: values that would escape their TOML string are refused, naming the field") {
  auto s = settings();
  s.image = "evil'''\n[data]";
  auto r = render_init_data(s);
  REQUIRE_FALSE(r);
  CHECK(r.error().field == "kubernetes.image");
  s = settings();
  s.kbs_url = "http://k\"bs";
  CHECK_FALSE(render_init_data(s));
  s = settings();
  s.kbs_url.reset();
  s.kbs_cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  CHECK_FALSE(render_init_data(s));  // a certificate without the KBS it belongs to
  s = settings();
  s.kbs_cert = "-----BEGIN CERTIFICATE-----\nAA'''AA\n-----END CERTIFICATE-----\n";
  CHECK_FALSE(render_init_data(s));
  s = settings();
  s.algorithm = "sha1";
  CHECK_FALSE(render_init_data(s));
}

TEST_CASE("cci.yaml kubernetes: strict, with line numbers, unpinned images and keys outside the pod refused") {
  using manifest::parse_deployment_yaml;
  auto parse = [](const std::string& y) { return parse_deployment_yaml(y, kExamples, "cci.yaml"); };
  auto ok = parse(with_kubernetes("  image: " + kImage + "\n  key_source: cdh:///default/cci/key\n  kbs_url: http://kbs:8080\n"));
  REQUIRE_MESSAGE(ok, (ok ? "" : ok.error().message));
  REQUIRE(ok->kubernetes);
  CHECK(ok->kubernetes->runtime_class == "kata-qemu-snp");  // the example names snp launches, no tdx
  CHECK(ok->kubernetes->port == 8443);
  struct Bad {
    std::string section, says;
  } bad[] = {
      {"  image: registry.example/cci-run:latest\n", "pin the image by digest"},
      {"  image: " + kImage + "\n  key_source: file:///k\n", "development only"},
      {"  image: " + kImage + "\n  key_source: kbs://kbs:8080/a/b/c\n", "use cdh:///"},
      {"  image: " + kImage + "\n  key_source: cdh:///a/b/c\n", "kbs_url: required"},
      {"  image: " + kImage + "\n  port: 0\n", "port"},
      {"  image: " + kImage + "\n  model_path: models\n", "absolute path"},
      {"  image: " + kImage + "\n  init_data_algorithm: sha1\n", "sha256, sha384 or sha512"},
      {"  image: " + kImage + "\n  replicas: 3\n", "unknown key 'replicas'"},
  };
  for (const auto& b : bad) {
    auto r = parse(with_kubernetes(b.section));
    REQUIRE_FALSE(r);
    CAPTURE(b.section);
    CHECK(r.error().message.find(b.says) != std::string::npos);
    CHECK(r.error().message.rfind("cci.yaml:", 0) == 0);
  }
  auto none = parse("version: 1\nname: t\nmodel:\n  path: tiny-model\nkubernetes:\n  image: " + kImage + "\n");
  REQUIRE_FALSE(none);  // no snp or tdx launch: which runtime class cannot be guessed
  CHECK(none.error().message.find("runtime_class: required") != std::string::npos);
}

TEST_CASE("a built manifest binds the init-data: HOST_DATA in the policy, a different hand-given value is an error") {
  using namespace cci::manifest;
  manifest::BuildOptions o;
  o.created = "2026-01-01T00:00:00Z";
  auto in = parse_deployment_yaml(with_kubernetes("  image: " + kImage + "\n  key_source: cdh:///default/cci/key\n  kbs_url: http://kbs:8080\n"),
                                  kExamples, "cci.yaml");
  REQUIRE(in);
  auto b = build_deployment(*in, o);
  REQUIRE_MESSAGE(b, (b ? "" : b.error().message));
  const auto& k = b->predicate["kubernetes"];
  const std::string toml = k["init_data"]["toml"].get<std::string>();
  const Bytes d = crypto::digest(crypto::DigestAlg::kSha384, as_bytes(toml));
  CHECK(k["init_data"]["digest"] == to_hex(d));
  CHECK(b->predicate["policy"]["host_data"] == to_hex(Bytes(d.begin(), d.begin() + 32)));
  CHECK(k["init_data"]["tdx_mr_config_id"] == to_hex(d));
  CHECK(toml.find("model_sha256 = \"" + b->predicate["model"]["root_digest"]["sha256"].get<std::string>() + "\"") != std::string::npos);

  // The objects: the annotation carries that very text; a predicate whose text and digest disagree renders nothing.
  WorkloadOptions w;
  w.manifest_text = "{}";
  w.release_key_pem = "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n";
  auto yaml = render_workload(b->predicate, w);
  REQUIRE_MESSAGE(yaml, (yaml ? "" : yaml.error().message));
  CHECK(yaml->find("io.katacontainers.config.hypervisor.cc_init_data: \"" + *init_data_annotation(toml) + "\"") != std::string::npos);
  CHECK(yaml->find("runtimeClassName: \"kata-qemu-snp\"") != std::string::npos);
  CHECK(yaml->find("kind: \"StatefulSet\"") != std::string::npos);
  CHECK(yaml->find("serviceName: \"tiny-demo\"") != std::string::npos);
  CHECK(yaml->find("clusterIP: \"None\"") != std::string::npos);
  w.kind = "Deployment";
  auto dep = render_workload(b->predicate, w);
  REQUIRE(dep);
  CHECK(dep->find("serviceName") == std::string::npos);
  auto tampered = b->predicate;
  tampered["kubernetes"]["init_data"]["toml"] = toml + "\n";
  auto t = render_workload(tampered, w);
  REQUIRE_FALSE(t);
  CHECK(t.error().code == ErrorCode::kVerificationFailed);
  w.name = "Not_A_Name";
  CHECK_FALSE(render_workload(b->predicate, w));
  auto plain = b->predicate;
  plain.erase("kubernetes");
  w.name.clear();
  auto p = render_workload(plain, w);
  REQUIRE_FALSE(p);
  CHECK(p.error().code == ErrorCode::kUsage);

  // policy.host_data given by hand must be the init-data's.
  in->policy["host_data"] = std::string(64, '0');
  auto conflict = build_deployment(*in, o);
  REQUIRE_FALSE(conflict);
  CHECK(conflict.error().message.find("policy.host_data is not the pods' init-data digest") != std::string::npos);
}
