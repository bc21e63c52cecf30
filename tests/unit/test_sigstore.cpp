// Sigstore keyless verification pieces (common/sigstore) on the genuine keyless bundles and their
// mutations in ../shared/vectors/sigstore: Rekor v1 proofs (inclusion, checkpoint, SET), DSSE,
// the trusted root, Fulcio chains and identities, SCTs. Each check runs on every case the
// manifest expects to verify and on the cases whose failing check it is.
#include <doctest/doctest.h>

#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "crypto/digest.h"
#include "crypto/timestamp.h"
#include "crypto/x509.h"
#include "crypto/x509_issue.h"
#include "sigstore/bundle.h"
#include "sigstore/fulcio.h"
#include "sigstore/rekor_entry.h"
#include "sigstore/sct.h"
#include "sigstore/tlog.h"
#include "sigstore/trusted_root.h"
#include "support/tls_identity.h"
#include "support/refusals.h"
#include "support/vectors.h"

using namespace cci;
using Json = nlohmann::json;

namespace {

Json load_json(const std::filesystem::path& p) {
  const Bytes b = test::slurp(p);
  return Json::parse(b.begin(), b.end());
}

Bytes b64(const Json& j) { return *base64_decode(j.get<std::string>(), "test"); }
std::int64_t as_int(const Json& j) { return j.is_string() ? std::stoll(j.get<std::string>()) : j.get<std::int64_t>(); }

struct Case {
  const Json& spec;    // the manifest's entry
  const Json& bundle;  // the parsed bundle
  const std::filesystem::path& dir;
  const Json& entry() const { return bundle.at("verificationMaterial").at("tlogEntries").at(0); }
  std::filesystem::path trusted_root() const { return dir / spec.value("trusted_root", std::string("trusted_root/public-good.json")); }
};

struct Tally {
  int accepted = 0, refused = 0;
};

// Runs `check` on every bundle case the manifest expects to verify and on those whose failing
// check is in `failing` (which must fail, on `field` when given); `applies` picks the cases the
// check can run on (a bundle with the parts it reads).
Tally run_cases(const std::set<std::string>& failing, const std::function<bool(const Case&)>& applies, const std::function<Status(const Case&)>& check,
                const std::string& field = "") {
  const auto dir = test::require_vectors("sigstore");
  const Json manifest = load_json(dir / "manifest.json");
  Tally t;
  for (const auto& c : manifest.at("cases")) {
    if (!c.contains("bundle") || !c["bundle"].is_string()) continue;
    const std::string fc = c.value("failing_check", Json()).is_string() ? c["failing_check"].get<std::string>() : "";
    const bool want_fail = failing.count(fc) > 0 || failing.count(c.at("id").get<std::string>()) > 0;
    if (c.at("expect") != "accept" && !want_fail) continue;
    CAPTURE(c.at("id").get<std::string>());
    Json bundle;
    try {
      bundle = load_json(dir / c.at("bundle").get<std::string>());
    } catch (const std::exception&) {
      continue;  // the malformed-JSON cases are the bundle reader's
    }
    const Case k{c, bundle, dir};
    if (!applies(k)) continue;
    Status st;
    try {
      st = check(k);
    } catch (const std::exception& e) {
      st = Error::make(ErrorCode::kMalformed, e.what(), "test");  // a mutated number the test cannot read
    }
    if (want_fail) {
      REQUIRE_FALSE(st);
      if (!field.empty()) CHECK(st.error().field == field);
      ++t.refused;
    } else {
      CHECK_MESSAGE(st, (st ? "" : st.error().message));
      ++t.accepted;
    }
  }
  MESSAGE("verified: " << t.accepted << ", refused: " << t.refused);
  return t;
}

bool has_entry(const Case& k, const char* part) {
  const Json& vm = k.bundle.value("verificationMaterial", Json::object());
  return vm.contains("tlogEntries") && !vm["tlogEntries"].empty() && vm["tlogEntries"][0].contains(part);
}

// The Rekor key for an entry, by its log id, from the case's trusted root; `host` gets the log's
// host name, which names its checkpoint signatures.
Result<crypto::PublicKey> rekor_key(const Case& k, std::string* host = nullptr) {
  const std::string log_id = k.entry().at("logId").at("keyId").get<std::string>();
  const Json root = load_json(k.trusted_root());
  for (const auto& t : root.at("tlogs")) {
    if (t.at("logId").at("keyId") != log_id) continue;
    if (host) {
      *host = t.at("baseUrl").get<std::string>();
      *host = host->substr(host->find("://") + 3);
    }
    return crypto::load_public_key_der(b64(t.at("publicKey").at("rawBytes")));
  }
  return Error::make(ErrorCode::kVerificationFailed, "no log with that id", "logId");
}

std::optional<crypto::Certificate> leaf_of(const Json& bundle) {
  const Json& vm = bundle.at("verificationMaterial");
  Json raw;
  if (vm.contains("certificate")) raw = vm["certificate"]["rawBytes"];
  else if (vm.contains("x509CertificateChain") && !vm["x509CertificateChain"]["certificates"].empty()) raw = vm["x509CertificateChain"]["certificates"][0]["rawBytes"];
  else return std::nullopt;
  auto c = crypto::Certificate::from_der(b64(raw));
  if (!c) return std::nullopt;
  return std::move(*c);
}

}  // namespace

TEST_CASE("Merkle inclusion: RFC 9162 paths, every leaf of small trees, wrong paths refused") {
  // Trees of 1..9 leaves built here; each leaf's audit path computed from the definition
  // (RFC 9162 section 2.1.3.1) and checked.
  for (std::uint64_t n = 1; n <= 9; ++n) {
    std::vector<Bytes> leaves;
    for (std::uint64_t i = 0; i < n; ++i) leaves.push_back(sigstore::leaf_hash(as_bytes(std::to_string(i))));
    std::function<Bytes(std::uint64_t, std::uint64_t)> mth = [&](std::uint64_t lo, std::uint64_t hi) -> Bytes {
      if (hi - lo == 1) return leaves[lo];
      std::uint64_t k = 1;
      while (k * 2 < hi - lo) k *= 2;
      return sigstore::node_hash(mth(lo, lo + k), mth(lo + k, hi));
    };
    std::function<void(std::uint64_t, std::uint64_t, std::uint64_t, std::vector<Bytes>&)> path = [&](std::uint64_t m, std::uint64_t lo, std::uint64_t hi,
                                                                                                    std::vector<Bytes>& out) {
      if (hi - lo == 1) return;
      std::uint64_t k = 1;
      while (k * 2 < hi - lo) k *= 2;
      if (m - lo < k) {
        path(m, lo, lo + k, out);
        out.push_back(mth(lo + k, hi));
      } else {
        path(m, lo + k, hi, out);
        out.push_back(mth(lo, lo + k));
      }
    };
    const Bytes root = mth(0, n);
    for (std::uint64_t m = 0; m < n; ++m) {
      CAPTURE(n);
      CAPTURE(m);
      std::vector<Bytes> p;
      path(m, 0, n, p);
      CHECK(sigstore::verify_inclusion(leaves[m], m, n, p, root));
      if (n > 1) CHECK_FALSE(sigstore::verify_inclusion(leaves[m], (m + 1) % n, n, p, root));
      if (!p.empty()) {
        auto q = p;
        q.back()[0] ^= 1;
        CHECK(sigstore::verify_inclusion(leaves[m], m, n, q, root).error().code == ErrorCode::kVerificationFailed);
        q.pop_back();
        CHECK(sigstore::verify_inclusion(leaves[m], m, n, q, root).error().code == ErrorCode::kMalformed);
      }
    }
    CHECK(sigstore::verify_inclusion(leaves[0], n, n, {}, root).error().code == ErrorCode::kMalformed);
  }
}

TEST_CASE("checkpoints: strict parsing of the signed note") {
  const std::string ok = "rekor.sigstore.dev - 1\n5\n" + base64_encode(Bytes(32, 1)) + "\n\n\xE2\x80\x94 rekor.sigstore.dev " + base64_encode(Bytes(10, 2)) + "\n";
  auto c = sigstore::parse_checkpoint(ok);
  REQUIRE(c);
  CHECK(c->origin == "rekor.sigstore.dev - 1");
  CHECK(c->tree_size == 5);
  CHECK(c->signatures.size() == 1);
  CHECK(c->signatures[0].key_hint == Bytes(4, 2));
  CHECK(c->signed_text == "rekor.sigstore.dev - 1\n5\n" + base64_encode(Bytes(32, 1)) + "\n");
  const std::string root = base64_encode(Bytes(32, 1)), dash = "\xE2\x80\x94 ";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {std::string(5000, 'x'), "longer than"},
      {"x\n5\n" + root + "\n", "no blank line"},
      {"x\n5\n\n" + dash + "a AAAAAAA=\n", "fewer than three lines"},
      {"\n5\n" + root + "\n\n" + dash + "a AAAAAAA=\n", "the origin line is empty"},
      {"x\n05\n" + root + "\n\n" + dash + "a AAAAAAA=\n", "is not a decimal number"},
      {"x\n-5\n" + root + "\n\n" + dash + "a AAAAAAA=\n", "is not a decimal number"},
      {"x\n5\nAAAA\n\n" + dash + "a AAAAAAA=\n", "root hash is not 32 bytes"},
      {"x\n5\n" + base64_encode(Bytes(31, 1)) + "\n\n" + dash + "a AAAAAAA=\n", "root hash is not 32 bytes"},
      {"x\n5\n" + root + "\n\n", "no signature lines"},
      {"x\n5\n" + root + "\n\n" + dash + "a AAAAAAA=", "does not end with a newline"},
      {"x\n5\n" + root + "\n\n- a AAAAAAA=\n", "does not start with an em dash"},
      {"x\n5\n" + root + "\n\n" + dash + "AAAAAAA=\n", "has no name"},
      {"x\n5\n" + root + "\n\n" + dash + " AAAAAAA=\n", "has no name"},
      {"x\n5\n" + root + "\n\n" + dash + "a AAAA\n", "not base64 of a key hint and a signature"},
      {"x\n5\n" + root + "\n\n" + dash + "a AAAAAAA=\n" + dash + "b A*AAAAA=\n", "not base64 of a key hint and a signature"},
  };
  test::check_refusals(bad, [](const std::string& note) { return sigstore::parse_checkpoint(note); });
}

TEST_CASE("Rekor v1 entries of the keyless bundles: inclusion and checkpoint hold, their mutations fail") {
  const auto applies = [](const Case& k) { return has_entry(k, "inclusionProof") && k.entry()["inclusionProof"].contains("checkpoint"); };
  const auto check = [](const Case& k) -> Status {
    const Json& proof = k.entry().at("inclusionProof");
    std::vector<Bytes> hashes;
    for (const auto& h : proof.at("hashes")) hashes.push_back(b64(h));
    const Bytes leaf = sigstore::leaf_hash(b64(k.entry().at("canonicalizedBody")));
    const auto index = static_cast<std::uint64_t>(as_int(proof.at("logIndex")));
    const auto size = static_cast<std::uint64_t>(as_int(proof.at("treeSize")));
    const Bytes root = b64(proof.at("rootHash"));
    CCI_TRY(sigstore::verify_inclusion(leaf, index, size, hashes, root));
    CCI_ASSIGN(cp, sigstore::parse_checkpoint(proof.at("checkpoint").at("envelope").get<std::string>()));
    if (cp.tree_size != size || cp.root_hash != root) return Error::make(ErrorCode::kVerificationFailed, "checkpoint: another tree than the proof's", "checkpoint");
    std::string host;
    CCI_ASSIGN(key, rekor_key(k, &host));
    return sigstore::verify_checkpoint(cp, key, host);
  };
  const Tally t = run_cases({"tlog-inclusion-proof", "tlog-checkpoint"}, applies, check);
  CHECK(t.accepted >= 3);  // the three OMS keyless bundles at least
  CHECK(t.refused >= 5);
}

TEST_CASE("signed entry timestamps of the keyless bundles verify with the Rekor key, their mutations do not") {
  const auto applies = [](const Case& k) { return has_entry(k, "inclusionPromise"); };
  const auto check = [](const Case& k) -> Status {
    CCI_ASSIGN(key, rekor_key(k));
    const Json& e = k.entry();
    return sigstore::verify_set(b64(e.at("canonicalizedBody")), as_int(e.at("integratedTime")), b64(e.at("logId").at("keyId")), as_int(e.at("logIndex")),
                                b64(e.at("inclusionPromise").at("signedEntryTimestamp")), key);
  };
  const Tally t = run_cases({"tlog-set"}, applies, check);
  CHECK(t.accepted >= 3);
  CHECK(t.refused >= 3);
}

TEST_CASE("DSSE pre-authentication encoding") {
  // The DSSE protocol's own example: type "http://example.com/HelloWorld", body "hello world".
  const std::string body = "hello world";
  const Bytes pae = sigstore::dsse_pae("http://example.com/HelloWorld", as_bytes(body));
  CHECK(std::string(pae.begin(), pae.end()) == "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  const Bytes empty = sigstore::dsse_pae("", {});
  CHECK(std::string(empty.begin(), empty.end()) == "DSSEv1 0  0 ");
}

TEST_CASE("the DSSE signatures of the keyless OMS bundles verify with their Fulcio certificate's key over the PAE") {
  const auto applies = [](const Case& k) { return k.spec.value("kind", "") == "oms-model" && k.bundle.contains("dsseEnvelope"); };
  const auto check = [](const Case& k) -> Status {
    const Json& env = k.bundle.at("dsseEnvelope");
    auto cert = leaf_of(k.bundle);
    if (!cert) return Error::make(ErrorCode::kMalformed, "no certificate", "certificate");
    CCI_ASSIGN(key, cert->public_key());
    crypto::SignOptions o;
    o.digest = crypto::DigestAlg::kSha256;  // ECDSA P-256, as Fulcio issues
    return crypto::verify(key, sigstore::dsse_pae(env.at("payloadType").get<std::string>(), b64(env.at("payload"))), b64(env.at("signatures")[0].at("sig")), o);
  };
  const Tally t = run_cases({"dsse-signature"}, applies, check);
  CHECK(t.accepted >= 3);
  CHECK(t.refused >= 2);
}

TEST_CASE("trusted root: the public-good root parses with its logs, CAs and windows") {
  const auto dir = test::require_vectors("sigstore");
  auto t = sigstore::parse_trusted_root(test::slurp(dir / "trusted_root/public-good.json"));
  REQUIRE_MESSAGE(t, (t ? "" : t.error().message));
  CHECK(t->tlogs.size() == 2);
  CHECK(t->ctlogs.size() == 2);
  CHECK(t->cas.size() == 2);
  CHECK(t->tsas.size() == 1);
  const auto* rekor = sigstore::find_log(t->tlogs, *base64_decode("wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=", "id"));
  REQUIRE(rekor);
  CHECK(rekor->base_url == "https://rekor.sigstore.dev");
  CHECK_FALSE(rekor->valid.end);
  CHECK(sigstore::rekor_key_hint(rekor->key) == Bytes{0xc0, 0xd2, 0x3d, 0x6a});
  CHECK(t->cas[0].valid.end == std::optional<std::time_t>(1672531199));  // 2022-12-31T23:59:59.999Z, whole seconds
  for (const std::string bad : {"{}", "[]", R"({"mediaType":"x"})", R"({"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":{}})",
                                R"({"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[{"baseUrl":"u","publicKey":{"rawBytes":"AAAA","validFor":{"start":"2021-01-01T00:00:00Z"}},"logId":{"keyId":"AA=="}}]})"}) {
    CAPTURE(bad);
    CHECK_FALSE(sigstore::parse_trusted_root(as_bytes(bad)));
  }
}

TEST_CASE("Fulcio: the keyless bundles' leaves chain to the trusted root at their signing time and name their signer exactly") {
  const auto applies = [](const Case& k) { return k.spec.contains("identity") && k.spec.contains("issuer") && has_entry(k, "integratedTime"); };
  const auto check = [](const Case& k) -> Status {
    auto leaf = leaf_of(k.bundle);
    if (!leaf) return Error::make(ErrorCode::kMalformed, "no certificate", "certificate");
    CCI_ASSIGN(root, sigstore::parse_trusted_root(test::slurp(k.trusted_root())));
    CCI_ASSIGN(issuer, sigstore::verify_fulcio_chain(*leaf, root, as_int(k.entry().at("integratedTime"))));
    (void)issuer;
    // Fulcio certificates live minutes: a day after the signing time the leaf is refused itself, before any chain.
    auto late = sigstore::verify_fulcio_chain(*leaf, root, as_int(k.entry().at("integratedTime")) + 86400);
    CHECK((!late && late.error().message.find("not at the signing time") != std::string::npos));
    CCI_ASSIGN(who, sigstore::fulcio_identity(*leaf));
    return sigstore::match_identity(who, k.spec["identity"].get<std::string>(), k.spec["issuer"].get<std::string>());
  };
  // Each refusal on its own field: identity, issuer, or the certificate's chain.
  Tally t;
  for (const auto& [failing, field] : {std::pair<const char*, const char*>{"identity", "identity"}, {"issuer", "issuer"}, {"certificate-chain", "certificate"}}) {
    const Tally one = run_cases({failing}, applies, check, field);
    t.accepted = one.accepted;
    t.refused += one.refused;
  }
  CHECK(t.accepted >= 10);
  CHECK(t.refused >= 8);
}

TEST_CASE("SCTs: the keyless bundles' leaves carry an SCT by the trusted root's CT log, a wrong CT key refuses it") {
  const auto applies = [](const Case& k) { return k.spec.contains("identity") && has_entry(k, "integratedTime"); };
  const auto check = [](const Case& k) -> Status {
    auto leaf = leaf_of(k.bundle);
    if (!leaf) return Error::make(ErrorCode::kMalformed, "no certificate", "certificate");
    CCI_ASSIGN(root, sigstore::parse_trusted_root(test::slurp(k.trusted_root())));
    // The issuer from the case's root, else the public-good one (a root made to test another check).
    const std::time_t signed_at = as_int(k.entry().at("integratedTime"));
    auto issuer = sigstore::verify_fulcio_chain(*leaf, root, signed_at);
    if (!issuer) {
      CCI_ASSIGN(good, sigstore::parse_trusted_root(test::slurp(k.dir / "trusted_root/public-good.json")));
      issuer = sigstore::verify_fulcio_chain(*leaf, good, signed_at);
    }
    if (!issuer) return issuer.error();
    return sigstore::verify_embedded_sct(*leaf, *issuer, root);
  };
  const Tally t = run_cases({"sct", "conf-invalid-ct-key_fail"}, applies, check, "sct");
  CHECK(t.accepted >= 10);
  CHECK(t.refused >= 1);
}

TEST_CASE("bundles verified whole: every bundle case of the manifest gives its expected verdict, refusals on their targeted check") {
  const auto dir = test::require_vectors("sigstore");
  const Json manifest = load_json(dir / "manifest.json");
  const std::time_t now = 1796515200;  // 2026-12-05: after every bundle, as the manifest asks
  int accepted = 0, refused = 0;
  for (const auto& c : manifest.at("cases")) {
    if (!c.contains("bundle")) continue;
    const std::string id = c.at("id").get<std::string>();
    CAPTURE(id);
    // The Sigstore layer's verdict: the model-layer cases are accepted by it.
    const std::string expect = c.value("expect_sigstore_layer", Json()).is_string() ? c["expect_sigstore_layer"].get<std::string>() : c.at("expect").get<std::string>();
    const auto root = sigstore::parse_trusted_root(test::slurp(dir / c.value("trusted_root", std::string("trusted_root/public-good.json"))));
    REQUIRE(root);
    const Bytes artifact = test::slurp(dir / c.value("artifact", std::string("conformance/a.txt")));
    auto b = sigstore::parse_bundle(test::slurp(dir / c.at("bundle").get<std::string>()));
    Result<sigstore::VerifiedBundle> v = b ? [&]() -> Result<sigstore::VerifiedBundle> {
      const sigstore::ExpectedSigner who{c.at("identity").get<std::string>(), "", c.at("issuer").get<std::string>()};
      std::optional<ByteView> art;
      if (b->message) art = artifact;  // DSSE: the manifest's cases name no artifact for it
      return sigstore::verify_bundle(*b, *root, who, art, now);
    }()
                                                : Result<sigstore::VerifiedBundle>(b.error());
    if (expect == "accept") {
      CHECK_MESSAGE(v, (v ? "" : v.error().field + ": " + v.error().message));
      if (v) {
        CHECK(v->signer.san == c.at("identity").get<std::string>());
        CHECK_FALSE(v->times.empty());
        ++accepted;
      }
      continue;
    }
    REQUIRE_FALSE(v);
    ++refused;
    MESSAGE(id << " -> " << v.error().field << ": " << v.error().message);
    if (!c.value("failing_check", Json()).is_string()) continue;
    // The targeted check, or one the manifest says fails as well; the chain and SCT checks report
    // under their own names.
    std::set<std::string> allowed{c["failing_check"].get<std::string>()};
    for (const auto& a : c.value("also_fails", Json::array())) {
      const std::string s = a.get<std::string>();
      allowed.insert(s.substr(0, s.find(':')));
    }
    CHECK_MESSAGE(allowed.count(v.error().field) == 1, (v.error().field + ": " + v.error().message));
  }
  CHECK(accepted == 7 + 4 + 4);  // 7 conformance happy paths, 4 OMS accepts, 4 the model layer refuses
  CHECK(refused == 24 + 30);
  MESSAGE("accepted " << accepted << ", refused " << refused);
}

TEST_CASE("bundles: a DSSE bundle given an artifact requires it among the in-toto statement's subjects") {
  const auto dir = test::require_vectors("sigstore");
  auto root = sigstore::parse_trusted_root(test::slurp(dir / "trusted_root/public-good.json"));
  REQUIRE(root);
  auto b = sigstore::parse_bundle(test::slurp(dir / "conformance/happy-path-intoto-in-dsse-v3/bundle.sigstore.json"));
  REQUIRE(b);
  const sigstore::ExpectedSigner who{
      "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main", "",
      "https://token.actions.githubusercontent.com"};
  const Bytes a = test::slurp(dir / "conformance/a.txt");
  CHECK(sigstore::verify_bundle(*b, *root, who, ByteView(a), 1796515200));
  Bytes other = a;
  other.push_back('\n');
  auto v = sigstore::verify_bundle(*b, *root, who, ByteView(other), 1796515200);
  REQUIRE_FALSE(v);
  CHECK(v.error().field == "artifact");
  // The identity as a regular expression: the whole SAN must match.
  sigstore::ExpectedSigner re = who;
  re.identity.clear();
  re.identity_regexp = "https://github\\.com/sigstore-conformance/.*@refs/heads/main";
  CHECK(sigstore::verify_bundle(*b, *root, re, std::nullopt, 1796515200));
  re.identity_regexp = "https://github\\.com/sigstore-conformance/";  // a prefix is not a match
  CHECK(sigstore::verify_bundle(*b, *root, re, std::nullopt, 1796515200).error().field == "identity");
  // Without an expected signer nothing is accepted.
  CHECK(sigstore::verify_bundle(*b, *root, {}, std::nullopt, 1796515200).error().code == ErrorCode::kUsage);
  // A clock before the signing time: the verified time lies in the future.
  CHECK(sigstore::verify_bundle(*b, *root, who, std::nullopt, 1600000000).error().field == "signing-time");
}

TEST_CASE("bundles: a timestamp outside its authority's window, a logged signature that is not the bundle's, a self-signed leaf") {
  const auto dir = test::require_vectors("sigstore");
  const Json manifest = load_json(dir / "manifest.json");
  auto case_of = [&](const std::string& id) {
    for (const auto& c : manifest.at("cases")) {
      if (c.at("id") == id) return c;
    }
    FAIL("no case " << id);
    return Json();
  };
  const std::time_t now = 1796515200;
  const Json root_json = load_json(dir / "trusted_root/public-good.json");
  auto root_of = [](const Json& j) {
    const std::string text = j.dump();
    auto r = sigstore::parse_trusted_root(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    REQUIRE(r);
    return std::move(*r);
  };
  auto bundle_of = [](const Json& j) {
    const std::string text = j.dump();
    return sigstore::parse_bundle(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  };

  SUBCASE("an RFC 3161 timestamp counts only inside its authority's validity in the trusted root") {
    const Json c = case_of("oms-v1.1.0-sigstore");
    const sigstore::ExpectedSigner who{c.at("identity").get<std::string>(), "", c.at("issuer").get<std::string>()};
    auto b = sigstore::parse_bundle(test::slurp(dir / c.at("bundle").get<std::string>()));
    REQUIRE(b);
    REQUIRE_FALSE(b->timestamps.empty());
    CHECK(sigstore::verify_bundle(*b, root_of(root_json), who, std::nullopt, now));
    for (const auto& window : {Json{{"start", "2099-01-01T00:00:00Z"}}, Json{{"start", "2020-01-01T00:00:00Z"}, {"end", "2021-01-01T00:00:00Z"}}}) {
      CAPTURE(window.dump());
      Json narrowed = root_json;
      for (auto& tsa : narrowed.at("timestampAuthorities")) tsa["validFor"] = window;
      auto v = sigstore::verify_bundle(*b, root_of(narrowed), who, std::nullopt, now);
      REQUIRE_FALSE(v);
      CHECK(v.error().field == "tsa-timestamp");
      CHECK(v.error().message.find("outside the window") != std::string::npos);
    }
  }

  SUBCASE("a keyless signature must be logged, and needs a verified time and the artifact it signs") {
    const Json c = case_of("oms-v1.1.0-sigstore");  // logged, and timestamped by a TSA
    const sigstore::ExpectedSigner who{c.at("identity").get<std::string>(), "", c.at("issuer").get<std::string>()};
    Json j = load_json(dir / c.at("bundle").get<std::string>());
    REQUIRE(bundle_of(j));
    REQUIRE_FALSE(bundle_of(j)->timestamps.empty());
    j["verificationMaterial"].erase("tlogEntries");  // the RFC 3161 time alone does not make it logged
    auto unlogged = bundle_of(j);
    REQUIRE(unlogged);
    auto v = sigstore::verify_bundle(*unlogged, root_of(root_json), who, std::nullopt, now);
    REQUIRE_FALSE(v);
    CHECK(v.error().field == "tlog-inclusion-proof");
    CHECK(v.error().message.find("must be logged") != std::string::npos);

    const Json h = case_of("conf-happy-path-v0.3");
    const sigstore::ExpectedSigner hwho{h.at("identity").get<std::string>(), "", h.at("issuer").get<std::string>()};
    const Bytes artifact = test::slurp(dir / h.at("artifact").get<std::string>());
    Json k = load_json(dir / h.at("bundle").get<std::string>());
    REQUIRE_FALSE(k["verificationMaterial"].contains("timestampVerificationData"));
    k["verificationMaterial"]["tlogEntries"][0].erase("inclusionPromise");  // proof only: logged, but at no signed time
    auto untimed = bundle_of(k);
    REQUIRE(untimed);
    auto u = sigstore::verify_bundle(*untimed, root_of(root_json), hwho, ByteView(artifact), now);
    REQUIRE_FALSE(u);
    CHECK(u.error().field == "signing-time");
    auto happy = bundle_of(load_json(dir / h.at("bundle").get<std::string>()));
    REQUIRE(happy);
    auto no_artifact = sigstore::verify_bundle(*happy, root_of(root_json), hwho, std::nullopt, now);
    REQUIRE_FALSE(no_artifact);
    CHECK(no_artifact.error().field == "artifact");
    CHECK(no_artifact.error().code == ErrorCode::kUsage);
  }

  SUBCASE("an inclusion proof whose checkpoint does not parse is refused on the checkpoint") {
    const Json c = case_of("conf-happy-path-v0.3");
    const sigstore::ExpectedSigner who{c.at("identity").get<std::string>(), "", c.at("issuer").get<std::string>()};
    const Bytes artifact = test::slurp(dir / c.at("artifact").get<std::string>());
    Json j = load_json(dir / c.at("bundle").get<std::string>());
    Json& envelope = j["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"];
    const std::string note = envelope.get<std::string>();
    for (const std::string& broken : {note.substr(0, note.find("\n\n") + 2), std::string("rekor.sigstore.dev - 1\n"), note.substr(0, note.size() - 1)}) {
      CAPTURE(broken);
      envelope = broken;
      auto b = bundle_of(j);
      REQUIRE(b);
      auto v = sigstore::verify_bundle(*b, root_of(root_json), who, ByteView(artifact), now);
      REQUIRE_FALSE(v);
      CHECK(v.error().field == "tlog-checkpoint");
    }
  }

  SUBCASE("an RFC 3161 response must be granted, carry its token and name an authority") {
    const Json c = case_of("oms-v1.1.0-sigstore");
    auto b = sigstore::parse_bundle(test::slurp(dir / c.at("bundle").get<std::string>()));
    REQUIRE(b);
    REQUIRE_FALSE(b->timestamps.empty());
    const sigstore::TrustedRoot root = root_of(root_json);
    const Bytes& signature = b->dsse ? b->dsse->signature : b->message->signature;
    const Bytes& response = b->timestamps[0];
    bool verified = false;
    for (const auto& tsa : root.tsas) verified = verified || crypto::verify_rfc3161(response, signature, tsa.chain).has_value();
    REQUIRE(verified);
    CHECK(crypto::verify_rfc3161(response, signature, {}).error().message.find("no timestamp authority") != std::string::npos);
    // TimeStampResp { status PKIStatusInfo { status }, timeStampToken }: the status is outside the
    // signed token, so a "rejection" around a genuine token must still be refused.
    const Bytes granted{0x30, 0x03, 0x02, 0x01, 0x00};
    auto at = std::search(response.begin(), response.begin() + 16, granted.begin(), granted.end());
    REQUIRE(at != response.begin() + 16);
    Bytes rejected = response;
    rejected[static_cast<size_t>(at - response.begin()) + 4] = 0x02;
    for (const auto& tsa : root.tsas) CHECK_FALSE(crypto::verify_rfc3161(rejected, signature, tsa.chain));
    // A rejection alone (no token) says so.
    const Bytes rejection{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02};
    CHECK(crypto::verify_rfc3161(rejection, signature, root.tsas.front().chain).error().message.find("status 2 is not granted") != std::string::npos);
  }

  SUBCASE("a hashedrekord entry must name the bundle's own signature, not another over the same artifact") {
    const Json c = case_of("conf-happy-path-v0.3");
    const sigstore::ExpectedSigner who{c.at("identity").get<std::string>(), "", c.at("issuer").get<std::string>()};
    const Bytes artifact = test::slurp(dir / c.at("artifact").get<std::string>());
    Json j = load_json(dir / c.at("bundle").get<std::string>());
    auto b = bundle_of(j);
    REQUIRE(b);
    REQUIRE(b->message);
    CHECK(sigstore::verify_bundle(*b, root_of(root_json), who, ByteView(artifact), now));
    // The logged entry stays intact (its SET and inclusion proof verify); only the signature beside it differs.
    Bytes other = b->message->signature;
    other.back() ^= 1;
    j["messageSignature"]["signature"] = base64_encode(other);
    auto swapped = bundle_of(j);
    REQUIRE(swapped);
    auto v = sigstore::verify_bundle(*swapped, root_of(root_json), who, ByteView(artifact), now);
    REQUIRE_FALSE(v);
    CHECK(v.error().field == "tlog-body");
    CHECK(v.error().message.find("is not the bundle's signature") != std::string::npos);
  }

  SUBCASE("a bundle whose signing certificate is self-signed is refused when read") {
    Json j = load_json(dir / "conformance/happy-path-v0.3/bundle.sigstore.json");
    const auto self = test::make_tls_identity();
    j["verificationMaterial"]["certificate"]["rawBytes"] = base64_encode(self.cert.der());
    auto b = bundle_of(j);
    REQUIRE_FALSE(b);
    CHECK(b.error().message.find("self-signed") != std::string::npos);
  }
}

TEST_CASE("Rekor entries beside an artifact: every rekor-entry case of the manifest gives its verdict on its check") {
  const auto dir = test::require_vectors("sigstore");
  const Json manifest = load_json(dir / "manifest.json");
  int accepted = 0, refused = 0;
  for (const auto& c : manifest.at("cases")) {
    if (c.at("kind") != "rekor-entry") continue;
    const std::string id = c.at("id").get<std::string>();
    CAPTURE(id);
    const Bytes artifact = test::slurp(dir / c.at("artifact").get<std::string>());
    Status st = [&]() -> Status {
      auto log_key = crypto::load_public_key_pem(test::slurp(dir / c.at("rekor_key").get<std::string>()));
      if (!log_key) return Error::make(ErrorCode::kMalformed, log_key.error().message, "rekor-key");
      CCI_ASSIGN(entry, sigstore::parse_rekor_entry(test::slurp(dir / c.at("log_entry").get<std::string>())));
      CCI_ASSIGN(logged, sigstore::verify_rekor_entry(entry, *log_key, "", artifact));
      // The logged key is the endorser's, whose own signature file verifies too.
      CCI_ASSIGN(endorser, crypto::load_public_key_pem(test::slurp(dir / c.at("artifact_key").get<std::string>())));
      if (logged.signer->spki_der() != endorser.spki_der()) return Error::make(ErrorCode::kVerificationFailed, "another signer", "signature");
      CHECK(logged.proof_checked);
      CHECK(logged.kind == "rekord");
      return crypto::verify(endorser, artifact, test::slurp(dir / c.at("artifact_signature").get<std::string>()));
    }();
    if (c.at("expect") == "accept") {
      CHECK_MESSAGE(st, (st ? "" : st.error().field + ": " + st.error().message));
      ++accepted;
    } else {
      REQUIRE_FALSE(st);
      CHECK_MESSAGE(st.error().field == c.at("failing_check").get<std::string>(), (st.error().field + ": " + st.error().message));
      ++refused;
    }
  }
  CHECK(accepted == 1);
  CHECK(refused == 6);
  // Malformed entries are refused on the file, not on a check.
  for (const std::string bad : {"{}", "[]", R"({"a":{},"b":{}})", R"({"u":{"body":"e30=","integratedTime":-1,"logID":"00","logIndex":1,"verification":{}}})",
                                R"({"SignedEntryTimestamp":"AA==","Payload":{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"zz"}})"}) {
    CAPTURE(bad);
    auto e = sigstore::parse_rekor_entry(as_bytes(bad));
    REQUIRE_FALSE(e);
    CHECK(e.error().field == "bundle");
  }
}

namespace {

// A test log (its own P-256 key) writing Rekor v1 entries in the API's {UUID: entry} form, the
// signed entry timestamp over the log's RFC 8785 payload; the body is whatever the case gives.
struct TestLog {
  crypto::PrivateKey key = *crypto::generate_key(crypto::KeyType::kEcP256);
  Json entry(const Json& body, std::int64_t time = 1760000000, std::int64_t index = 42) const {
    const std::string text = body.dump();
    const Bytes body_bytes(text.begin(), text.end());
    const Bytes log_id = crypto::digest(crypto::DigestAlg::kSha256, key.public_key().spki_der());
    crypto::SignOptions o;
    o.digest = crypto::DigestAlg::kSha256;
    const std::string payload = sigstore::set_payload(body_bytes, time, log_id, index);
    auto set = crypto::sign(key, as_bytes(payload), o);
    REQUIRE(set);
    return Json{{"3f1a", {{"body", base64_encode(body_bytes)},
                          {"integratedTime", time},
                          {"logID", to_hex(log_id)},
                          {"logIndex", index},
                          {"verification", {{"signedEntryTimestamp", base64_encode(*set)}}}}}};
  }
};

// A rekord 0.0.1 body: the artifact's SHA-256, a signature and the signer's PEM public key.
Json rekord(ByteView hashed, ByteView signature, const std::string& public_pem, const std::string& alg = "sha256") {
  return Json{{"apiVersion", "0.0.1"},
              {"kind", "rekord"},
              {"spec", {{"data", {{"hash", {{"algorithm", alg}, {"value", to_hex(crypto::digest(crypto::DigestAlg::kSha256, hashed))}}}}},
                        {"signature", {{"content", base64_encode(signature)}, {"format", "x509"},
                                       {"publicKey", {{"content", base64_encode(as_bytes(public_pem))}}}}}}}};
}

}  // namespace

TEST_CASE("Rekor entries: the logged signature must verify over the artifact with the logged key, by the expected signer, in a body this reader knows") {
  const TestLog log;
  const crypto::PrivateKey signer = *crypto::generate_key(crypto::KeyType::kEcP256);
  const crypto::PrivateKey other = *crypto::generate_key(crypto::KeyType::kEcP256);
  const std::string artifact_text = "{\"deployment\": \"tiny-demo\"}\n", elsewhere_text = "another artifact";
  const Bytes artifact(artifact_text.begin(), artifact_text.end()), elsewhere(elsewhere_text.begin(), elsewhere_text.end());
  crypto::SignOptions o;
  o.digest = crypto::DigestAlg::kSha256;
  const Bytes sig = *crypto::sign(signer, artifact, o);
  const std::string signer_pem = signer.public_key().pem();
  auto verify = [&](const Json& entry, const crypto::PublicKey* expected = nullptr) -> Result<sigstore::LoggedArtifact> {
    const std::string text = entry.dump();
    CCI_ASSIGN(e, sigstore::parse_rekor_entry(as_bytes(text)));
    return sigstore::verify_rekor_entry(e, log.key.public_key(), "test.log", artifact, expected);
  };
  auto field = [&](const Json& entry, const crypto::PublicKey* expected = nullptr) {
    auto r = verify(entry, expected);
    return r ? std::string("accepted") : r.error().field;
  };

  const auto signer_pub = signer.public_key(), other_pub = other.public_key();
  auto good = verify(log.entry(rekord(artifact, sig, signer_pem)), &signer_pub);
  REQUIRE_MESSAGE(good, good.error().message);
  CHECK(good->log_index == 42);
  CHECK(good->kind == "rekord");
  CHECK_FALSE(good->proof_checked);
  CHECK(good->signer->spki_der() == signer_pub.spki_der());

  // The log vouches only that it logged this body: the body's own claims are checked here.
  CHECK(field(log.entry(rekord(artifact, *crypto::sign(signer, elsewhere, o), signer_pem))) == "signature");  // a signature over something else
  CHECK(field(log.entry(rekord(artifact, sig, other.public_key().pem()))) == "signature");                    // another key named
  CHECK(field(log.entry(rekord(artifact, sig, signer_pem)), &other_pub) == "signature");                     // not the expected signer
  CHECK(field(log.entry(rekord(elsewhere, sig, signer_pem))) == "rekord-artifact-hash");
  CHECK(field(log.entry(rekord(artifact, sig, signer_pem, "sha512"))) == "tlog-body");
  CHECK(field(log.entry(rekord(artifact, sig, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))) == "tlog-body");
  Json intoto = rekord(artifact, sig, signer_pem);
  intoto["kind"] = "intoto";
  auto unknown_kind = verify(log.entry(intoto));
  REQUIRE_FALSE(unknown_kind);
  CHECK(unknown_kind.error().field == "tlog-body");
  CHECK(unknown_kind.error().code == ErrorCode::kUnsupported);
  intoto["kind"] = "rekord";
  intoto["apiVersion"] = "0.0.2";
  CHECK(field(log.entry(intoto)) == "tlog-body");

  // Without a signed entry timestamp nothing says the log has it.
  const std::string text = log.entry(rekord(artifact, sig, signer_pem)).dump();
  auto parsed = sigstore::parse_rekor_entry(as_bytes(text));
  REQUIRE(parsed);
  parsed->set.reset();
  auto unsigned_entry = sigstore::verify_rekor_entry(*parsed, log.key.public_key(), "test.log", artifact);
  REQUIRE_FALSE(unsigned_entry);
  CHECK(unsigned_entry.error().field == "tlog-set");
}

TEST_CASE("Rekor entries: each malformed member is refused naming it, before any signature") {
  const TestLog log;
  const Json good = log.entry(Json{{"apiVersion", "0.0.1"}, {"kind", "rekord"}});
  auto message = [](const Json& entry) {
    const std::string text = entry.dump();
    auto r = sigstore::parse_rekor_entry(as_bytes(text));
    return r ? std::string("parsed") : r.error().message;
  };
  REQUIRE(message(good) == "parsed");
  using Strings = std::vector<std::pair<std::function<void(Json&)>, std::string>>;
  const Strings cases = {
      {[](Json& e) { e.erase("body"); }, "3f1a.body is missing or not a string"},
      {[](Json& e) { e["body"] = 7; }, "3f1a.body is missing or not a string"},
      {[](Json& e) { e["body"] = "not*base64"; }, "3f1a.body is not base64"},
      {[](Json& e) { e["body"] = base64_encode(as_bytes(std::string_view("[1]"))); }, "body is not a JSON object"},
      {[](Json& e) { e["body"] = base64_encode(as_bytes(std::string_view("{\"kind\":"))); }, "body is not a JSON object"},
      {[](Json& e) { e["integratedTime"] = "1760000000"; }, "3f1a.integratedTime is missing or not an integer"},
      {[](Json& e) { e["integratedTime"] = -1; }, "3f1a.integratedTime is negative"},
      {[](Json& e) { e["logIndex"] = 1.5; }, "3f1a.logIndex is missing or not an integer"},
      {[](Json& e) { e["logID"] = "zz"; }, "3f1a.logID is not hex"},
      {[](Json& e) { e.erase("verification"); }, "3f1a.verification is missing"},
      {[](Json& e) { e["verification"] = "set"; }, "3f1a.verification is missing"},
      {[](Json& e) { e["verification"]["inclusionProof"] = Json{{"logIndex", 0}, {"treeSize", 1}, {"rootHash", "00"}, {"checkpoint", "c"}}; },
       "inclusionProof.hashes is missing, not a list or too long"},
      {[](Json& e) { e["verification"]["inclusionProof"] = Json{{"logIndex", 0}, {"treeSize", 1}, {"rootHash", "00"}, {"checkpoint", "c"}, {"hashes", {1}}}; },
       "inclusionProof.hashes holds a non-string"},
      {[](Json& e) { e["verification"]["inclusionProof"] = Json{{"logIndex", 0}, {"treeSize", 1}, {"rootHash", "00"}, {"checkpoint", "c"}, {"hashes", {"0g"}}}; },
       "inclusionProof.hashes holds a hash that is not hex"},
      {[](Json& e) {
         e["verification"]["inclusionProof"] =
             Json{{"logIndex", 0}, {"treeSize", 1}, {"rootHash", "00"}, {"checkpoint", "c"}, {"hashes", Json(std::vector<std::string>(1000, "00"))}};
       },
       "inclusionProof.hashes is missing, not a list or too long"},
  };
  Strings on_entry;  // each case edits the entry under its UUID
  for (const auto& c : cases) on_entry.emplace_back([change = c.first](Json& j) { change(j["3f1a"]); }, c.second);
  test::check_edits_refused(good, on_entry, [](const Json& j) {
    const std::string text = j.dump();
    return sigstore::parse_rekor_entry(as_bytes(text));
  });
  CHECK(message(Json::array()).find("(file) is not a JSON object") != std::string::npos);
  const std::string not_json = "{\"3f1a\": ";
  CHECK(sigstore::parse_rekor_entry(as_bytes(not_json)).error().message.find("(file) is not a JSON object") != std::string::npos);
  const Bytes huge(sigstore::kMaxRekorEntryBytes + 1, ' ');
  CHECK(sigstore::parse_rekor_entry(huge).error().message.find("is larger than") != std::string::npos);
}

TEST_CASE("Fulcio identity: exactly one e-mail or URI subjectAltName, and an OIDC issuer that is not empty") {
  const auto key = *crypto::generate_key(crypto::KeyType::kEcP256);
  auto leaf = [&](std::vector<crypto::RawExtension> ext) {
    crypto::CertificateSpec spec;
    spec.subject = {{"CN", "sigstore-test"}};
    spec.not_before = 1700000000;
    spec.not_after = 1700000600;
    spec.extensions = std::move(ext);
    auto c = crypto::issue_certificate(spec, key.public_key(), key, nullptr, crypto::IssueSignature::kEcdsaSha256);
    REQUIRE_MESSAGE(c, c.error().message);
    return std::move(*c);
  };
  auto tagged = [](std::uint8_t tag, const std::string& v) {
    Bytes b{tag, static_cast<std::uint8_t>(v.size())};
    for (char c : v) b.push_back(static_cast<std::uint8_t>(c));  // (a range insert trips a g++ 12 -Warray-bounds false positive)
    return b;
  };
  auto san = [&](std::vector<Bytes> names) {
    Bytes body;
    for (const auto& n : names) body.insert(body.end(), n.begin(), n.end());
    Bytes der{0x30, static_cast<std::uint8_t>(body.size())};
    for (auto b : body) der.push_back(b);
    return crypto::RawExtension{"2.5.29.17", der, true};
  };
  const Bytes email = tagged(0x81, "release@example.com"), uri = tagged(0x86, "https://github.com/example/release.yml@refs/heads/main");
  const crypto::RawExtension issuer_v2{"1.3.6.1.4.1.57264.1.8", tagged(0x0c, "https://token.actions.githubusercontent.com")};
  auto who = sigstore::fulcio_identity(leaf({san({email}), issuer_v2}));
  REQUIRE_MESSAGE(who, who.error().message);
  CHECK(who->san == "release@example.com");
  CHECK(who->issuer == "https://token.actions.githubusercontent.com");
  const std::string google = "https://accounts.google.com";
  const crypto::RawExtension issuer_v1{"1.3.6.1.4.1.57264.1.1", Bytes(google.begin(), google.end())};  // v1: the raw string
  CHECK(sigstore::fulcio_identity(leaf({san({uri}), issuer_v1}))->issuer == "https://accounts.google.com");

  auto refusal = [&](std::vector<crypto::RawExtension> ext) {
    auto r = sigstore::fulcio_identity(leaf(std::move(ext)));
    return r ? std::string("accepted") : r.error().message;
  };
  CHECK(refusal({san({email, uri}), issuer_v2}).find("2 e-mail or URI subjectAltNames, not one") != std::string::npos);
  CHECK(refusal({san({tagged(0x82, "example.com")}), issuer_v2}).find("0 e-mail or URI subjectAltNames") != std::string::npos);
  CHECK(refusal({san({email}), {"1.3.6.1.4.1.57264.1.8", tagged(0x0c, "")}}).find("the OIDC issuer is empty") != std::string::npos);
  CHECK(refusal({san({email}), {"1.3.6.1.4.1.57264.1.8", tagged(0x13, "https://x")}}).find("OIDC issuer") != std::string::npos);
  CHECK(refusal({san({email})}).find("no OIDC issuer extension") != std::string::npos);
}

TEST_CASE("bundles: each malformed member of a transparency-log entry or certificate is refused naming it") {
  const auto dir = test::require_vectors("sigstore");
  const Json v3 = load_json(dir / "conformance/happy-path-v0.3/bundle.sigstore.json");
  const Json v1 = load_json(dir / "conformance/happy-path-v0.1/bundle.sigstore.json");
  auto parse = [](const Json& j) {
    const std::string text = j.dump();
    return sigstore::parse_bundle(as_bytes(text));
  };
  auto message = [&](const Json& j) {
    auto b = parse(j);
    return b ? std::string("parsed") : b.error().message;
  };
  REQUIRE(message(v3) == "parsed");
  REQUIRE(message(v1) == "parsed");
  using Change = std::function<void(Json&)>;
  auto entry = [](Json& j) -> Json& { return j["verificationMaterial"]["tlogEntries"][0]; };
  auto proof = [&](Json& j) -> Json& { return entry(j)["inclusionProof"]; };
  const std::vector<std::pair<Change, std::string>> cases = {
      {[&](Json& j) { entry(j).erase("logIndex"); }, "logIndex is missing"},
      {[&](Json& j) { entry(j)["logIndex"] = -1; }, "logIndex is negative"},
      {[&](Json& j) { entry(j)["logIndex"] = true; }, "logIndex is not an integer"},
      {[&](Json& j) { entry(j)["logIndex"] = 9223372036854775808ull; }, "logIndex is out of range"},
      {[&](Json& j) { entry(j)["logIndex"] = "012"; }, "'012' is not a non-negative decimal integer"},
      {[&](Json& j) { entry(j)["logIndex"] = "12345678901234567890"; }, "is not a non-negative decimal integer"},
      {[&](Json& j) { entry(j)["logIndex"] = "-1"; }, "is not a non-negative decimal integer"},
      {[&](Json& j) { entry(j)["kindVersion"]["kind"] = 5; }, "kindVersion.kind is missing or not a string"},
      {[&](Json& j) { entry(j)["canonicalizedBody"] = ""; }, "canonicalizedBody is empty"},
      {[&](Json& j) { entry(j)["inclusionPromise"]["signedEntryTimestamp"] = ""; }, "signedEntryTimestamp is empty"},
      {[&](Json& j) { proof(j)["hashes"] = "AAAA"; }, "hashes is not a list"},
      {[&](Json& j) { proof(j)["hashes"] = Json(std::vector<std::string>(65, "AAAA")); }, "hashes has more than 64 hashes"},
      {[&](Json& j) { proof(j)["hashes"] = Json::array({1}); }, "hashes holds a non-string"},
      {[&](Json& j) { proof(j)["hashes"] = Json::array({"A*AA"}); }, "hashes holds a hash that is not base64"},
      {[&](Json& j) { j["verificationMaterial"]["certificate"]["rawBytes"] = base64_encode(Bytes(40, 0x30)); }, "rawBytes is not a certificate"},
  };
  test::check_edits_refused(v3, cases, parse);
  // The bundle's own shape.
  const Json dsse = load_json(dir / "conformance/happy-path-intoto-in-dsse-v3/bundle.sigstore.json");
  REQUIRE(message(dsse) == "parsed");
  const Json root_json = load_json(dir / "trusted_root/public-good.json");
  const Json fulcio_root = root_json["certificateAuthorities"][0]["certChain"]["certificates"].back();
  auto chain = [](Json& j) -> Json& { return j["verificationMaterial"]["x509CertificateChain"]["certificates"]; };
  const std::vector<std::tuple<const Json*, Change, std::string>> shape = {
      {&v1, [&](Json& j) { chain(j) = Json::array(); }, "certificates is missing or empty"},
      {&v1, [&](Json& j) { chain(j) = Json(std::vector<Json>(9, chain(j)[0])); }, "lists more than 8 certificates"},
      {&v1, [&](Json& j) { chain(j).push_back(fulcio_root); }, "is a self-signed root: a bundle's chain must not carry one"},
      {&v1, [&](Json& j) { chain(j) = Json::array({fulcio_root}); }, "is a self-signed root"},
      {&v3, [&](Json& j) { j["verificationMaterial"].erase("certificate"); }, "has no certificate, x509CertificateChain or publicKey"},
      {&v3, [&](Json& j) { j["verificationMaterial"]["tlogEntries"] = "AAAA"; }, "tlogEntries is not a list"},
      {&v3, [&](Json& j) { j["verificationMaterial"]["tlogEntries"] = Json(std::vector<Json>(9, entry(j))); }, "tlogEntries has more than 8 entries"},
      {&v3, [&](Json& j) { j["verificationMaterial"]["timestampVerificationData"] = 5; }, "timestampVerificationData is not an object"},
      {&v3, [&](Json& j) { j["verificationMaterial"]["timestampVerificationData"] = Json{{"rfc3161Timestamps", "AAAA"}}; }, "rfc3161Timestamps is not a list"},
      {&v3, [&](Json& j) { j["verificationMaterial"]["timestampVerificationData"] = Json{{"rfc3161Timestamps", Json(std::vector<Json>(9, Json{{"signedTimestamp", "AAAA"}}))}}; },
       "rfc3161Timestamps has more than 8"},
      {&v3, [&](Json& j) { j["dsseEnvelope"] = dsse["dsseEnvelope"]; }, "must hold exactly one of messageSignature and dsseEnvelope"},
      {&v3, [&](Json& j) { j.erase("messageSignature"); }, "must hold exactly one of messageSignature and dsseEnvelope"},
      {&v3, [&](Json& j) { j["messageSignature"]["messageDigest"]["algorithm"] = "SHA2_384"; }, "is not a SHA2_256 digest of 32 bytes"},
      {&v3, [&](Json& j) { j["messageSignature"]["messageDigest"]["digest"] = base64_encode(Bytes(31, 1)); }, "is not a SHA2_256 digest of 32 bytes"},
      {&v3, [&](Json& j) { j["messageSignature"]["signature"] = ""; }, "messageSignature.signature is empty"},
      {&dsse, [&](Json& j) { j["dsseEnvelope"]["signatures"] = Json::array(); }, "must hold exactly one signature"},
      {&dsse, [&](Json& j) { j["dsseEnvelope"]["signatures"].push_back(j["dsseEnvelope"]["signatures"][0]); }, "must hold exactly one signature"},
      {&dsse, [&](Json& j) { j["dsseEnvelope"]["signatures"][0]["sig"] = ""; }, "signatures[0].sig is empty"},
  };
  std::vector<std::pair<Json, std::string>> edited;
  for (const auto& [base, change, want] : shape) {
    Json d = *base;
    change(d);
    edited.emplace_back(std::move(d), want);
  }
  test::check_refusals(edited, parse);
  CHECK(sigstore::parse_bundle(as_bytes(std::string_view("{"))).error().message.find("is not valid JSON") != std::string::npos);
  CHECK(sigstore::parse_bundle(as_bytes(std::string_view("[]"))).error().message.find("is not a JSON object") != std::string::npos);
  // A bundle signed with a key is parsed, and refused by the keyless verifier as a usage error.
  Json keyed = v3;
  keyed["verificationMaterial"].erase("certificate");
  keyed["verificationMaterial"]["publicKey"] = Json{{"hint", "release"}};
  const std::string keyed_text = keyed.dump();
  auto kb = sigstore::parse_bundle(as_bytes(keyed_text));
  REQUIRE_MESSAGE(kb, kb.error().message);
  const std::string root_text = root_json.dump();
  auto root = sigstore::parse_trusted_root(as_bytes(root_text));
  REQUIRE(root);
  auto kv = sigstore::verify_bundle(*kb, *root, sigstore::ExpectedSigner{"a@example.com", "", "https://issuer"}, ByteView(), 1796515200);
  REQUIRE_FALSE(kv);
  CHECK(kv.error().code == ErrorCode::kUsage);
  CHECK(kv.error().message.find("signed with a key, not keylessly") != std::string::npos);
  // Version 0.1 bundles need the signed entry timestamp; 0.2 and later the inclusion proof.
  Json no_promise = v1;
  entry(no_promise).erase("inclusionPromise");
  CHECK(message(no_promise).find("a version 0.1 bundle needs the signed entry timestamp") != std::string::npos);
  Json no_proof = v3;
  entry(no_proof).erase("inclusionProof");
  CHECK(message(no_proof).find("a version 0.2 or later bundle needs the inclusion proof") != std::string::npos);
}
