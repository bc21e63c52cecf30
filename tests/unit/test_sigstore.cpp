// Rekor v1 transparency-log proofs (common/sigstore/tlog) on the genuine keyless bundles and
// their mutations in ../shared/vectors/sigstore: the inclusion proof leads from the entry to the
// checkpoint's root, and the checkpoint is signed by the Rekor key the trusted root names.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "crypto/digest.h"
#include "crypto/x509.h"
#include "sigstore/fulcio.h"
#include "sigstore/sct.h"
#include "sigstore/tlog.h"
#include "sigstore/trusted_root.h"
#include "support/vectors.h"

using namespace cci;
using Json = nlohmann::json;

namespace {

Json load_json(const std::filesystem::path& p) {
  const Bytes b = test::slurp(p);
  return Json::parse(b.begin(), b.end());
}

Bytes b64(const Json& j) { return *base64_decode(j.get<std::string>(), "test"); }

// The tlog entry's proofs checked as a verifier would: inclusion in the checkpoint's tree, the
// checkpoint signed by the Rekor key named by logId in the trusted root.
Status check_entry(const Json& entry, const Json& trusted_root) {
  const Json& proof = entry.at("inclusionProof");
  std::vector<Bytes> hashes;
  for (const auto& h : proof.at("hashes")) hashes.push_back(b64(h));
  const Bytes leaf = sigstore::leaf_hash(b64(entry.at("canonicalizedBody")));
  const std::uint64_t index = std::stoull(proof.at("logIndex").get<std::string>());
  const std::uint64_t size = std::stoull(proof.at("treeSize").get<std::string>());
  const Bytes root = b64(proof.at("rootHash"));
  CCI_TRY(sigstore::verify_inclusion(leaf, index, size, hashes, root));
  CCI_ASSIGN(cp, sigstore::parse_checkpoint(proof.at("checkpoint").at("envelope").get<std::string>()));
  if (cp.tree_size != size || cp.root_hash != root) return Error::make(ErrorCode::kVerificationFailed, "checkpoint: another tree than the proof's", "checkpoint");
  const std::string log_id = entry.at("logId").at("keyId").get<std::string>();
  for (const auto& t : trusted_root.at("tlogs")) {
    if (t.at("logId").at("keyId") != log_id) continue;
    CCI_ASSIGN(key, crypto::load_public_key_der(b64(t.at("publicKey").at("rawBytes"))));
    std::string host = t.at("baseUrl").get<std::string>();
    host = host.substr(host.find("://") + 3);
    return sigstore::verify_checkpoint(cp, key, host);
  }
  return Error::make(ErrorCode::kVerificationFailed, "no log with that id", "logId");
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
  for (const std::string& bad : {std::string("x\n5\nAAAA\n\n"), "x\n05\n" + base64_encode(Bytes(32, 1)) + "\n\n\xE2\x80\x94 a AAAAAAA=\n",
                                 "x\n5\n" + base64_encode(Bytes(31, 1)) + "\n\n\xE2\x80\x94 a AAAAAAA=\n", "x\n5\n" + base64_encode(Bytes(32, 1)) + "\n\n- a AAAAAAA=\n",
                                 "x\n5\n" + base64_encode(Bytes(32, 1)) + "\n\n\xE2\x80\x94 a AAAAAAA=", "x\n-5\n" + base64_encode(Bytes(32, 1)) + "\n\n\xE2\x80\x94 a AAAAAAA=\n",
                                 std::string(5000, 'x')}) {
    CAPTURE(bad);
    CHECK_FALSE(sigstore::parse_checkpoint(bad));
  }
}

TEST_CASE("Rekor v1 entries of the keyless bundles: inclusion and checkpoint hold, their mutations fail") {
  const auto dir = test::require_vectors("sigstore");
  const Json manifest = load_json(dir / "manifest.json");
  int accepted = 0, refused = 0;
  for (const auto& c : manifest.at("cases")) {
    if (!c.contains("bundle") || !c["bundle"].is_string()) continue;
    const std::string fc = c.value("failing_check", Json()).is_string() ? c["failing_check"].get<std::string>() : "";
    const bool want_fail = fc == "tlog-inclusion-proof" || fc == "tlog-checkpoint";
    if (c.at("expect") != "accept" && !want_fail) continue;
    CAPTURE(c.at("id").get<std::string>());
    Json bundle;
    try {
      bundle = load_json(dir / c.at("bundle").get<std::string>());
    } catch (const std::exception&) {
      continue;  // the malformed-JSON cases are the bundle parser's
    }
    if (!bundle.contains("verificationMaterial") || !bundle["verificationMaterial"].contains("tlogEntries")) continue;
    const auto& entries = bundle["verificationMaterial"]["tlogEntries"];
    if (entries.empty() || !entries[0].contains("inclusionProof") || !entries[0]["inclusionProof"].contains("checkpoint")) continue;
    const std::string tr = c.value("trusted_root", manifest.value("trusted_root_default", std::string("trusted_root/public-good.json")));
    const Json root = load_json(dir / tr);
    const Status st = check_entry(entries[0], root);
    if (want_fail) {
      CHECK_FALSE(st);
      ++refused;
    } else {
      CHECK_MESSAGE(st, (st ? "" : st.error().message));
      ++accepted;
    }
  }
  CHECK(accepted >= 3);  // the three OMS keyless bundles at least
  CHECK(refused >= 5);
  MESSAGE("entries that verified: " << accepted << ", mutations refused: " << refused);
}

namespace {

// The Rekor key for an entry, by its log id, from the trusted root.
Result<crypto::PublicKey> rekor_key(const Json& entry, const Json& trusted_root) {
  const std::string log_id = entry.at("logId").at("keyId").get<std::string>();
  for (const auto& t : trusted_root.at("tlogs")) {
    if (t.at("logId").at("keyId") == log_id) return crypto::load_public_key_der(b64(t.at("publicKey").at("rawBytes")));
  }
  return Error::make(ErrorCode::kVerificationFailed, "no log with that id", "logId");
}

Status check_set(const Json& entry, const Json& trusted_root) {
  CCI_ASSIGN(key, rekor_key(entry, trusted_root));
  const std::int64_t t = entry.at("integratedTime").is_string() ? std::stoll(entry["integratedTime"].get<std::string>()) : entry["integratedTime"].get<std::int64_t>();
  const std::int64_t i = entry.at("logIndex").is_string() ? std::stoll(entry["logIndex"].get<std::string>()) : entry["logIndex"].get<std::int64_t>();
  return sigstore::verify_set(b64(entry.at("canonicalizedBody")), t, b64(entry.at("logId").at("keyId")), i,
                              b64(entry.at("inclusionPromise").at("signedEntryTimestamp")), key);
}

}  // namespace

TEST_CASE("signed entry timestamps of the keyless bundles verify with the Rekor key, their mutations do not") {
  const auto dir = test::require_vectors("sigstore");
  const Json manifest = load_json(dir / "manifest.json");
  int accepted = 0, refused = 0;
  for (const auto& c : manifest.at("cases")) {
    if (!c.contains("bundle") || !c["bundle"].is_string()) continue;
    const std::string fc = c.value("failing_check", Json()).is_string() ? c["failing_check"].get<std::string>() : "";
    const bool want_fail = fc == "tlog-set";
    if (c.at("expect") != "accept" && !want_fail) continue;
    CAPTURE(c.at("id").get<std::string>());
    Json bundle;
    try {
      bundle = load_json(dir / c.at("bundle").get<std::string>());
    } catch (const std::exception&) {
      continue;
    }
    if (!bundle.contains("verificationMaterial") || !bundle["verificationMaterial"].contains("tlogEntries")) continue;
    const auto& entries = bundle["verificationMaterial"]["tlogEntries"];
    if (entries.empty() || !entries[0].contains("inclusionPromise")) continue;
    const std::string tr = c.value("trusted_root", manifest.value("trusted_root_default", std::string("trusted_root/public-good.json")));
    Status st;
    try {
      st = check_set(entries[0], load_json(dir / tr));
    } catch (const std::exception& e) {
      st = Error::make(ErrorCode::kMalformed, e.what(), "entry");  // a mutated number the test cannot read
    }
    if (want_fail) {
      CHECK_FALSE(st);
      ++refused;
    } else {
      CHECK_MESSAGE(st, (st ? "" : st.error().message));
      ++accepted;
    }
  }
  CHECK(accepted >= 3);
  CHECK(refused >= 3);
  MESSAGE("SETs that verified: " << accepted << ", mutations refused: " << refused);
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
  const auto dir = test::require_vectors("sigstore");
  const Json manifest = load_json(dir / "manifest.json");
  int accepted = 0, refused = 0;
  for (const auto& c : manifest.at("cases")) {
    if (!c.contains("bundle") || !c["bundle"].is_string() || c.value("kind", "") != "oms-model") continue;
    const std::string fc = c.value("failing_check", Json()).is_string() ? c["failing_check"].get<std::string>() : "";
    const bool want_fail = fc == "dsse-signature";
    if (c.at("expect") != "accept" && !want_fail) continue;
    CAPTURE(c.at("id").get<std::string>());
    const Json bundle = load_json(dir / c.at("bundle").get<std::string>());
    const Json& env = bundle.at("dsseEnvelope");
    auto cert = crypto::Certificate::from_der(b64(bundle.at("verificationMaterial").at("certificate").at("rawBytes")));
    REQUIRE(cert);
    auto key = cert->public_key();
    REQUIRE(key);
    crypto::SignOptions o;
    o.digest = crypto::DigestAlg::kSha256;  // ECDSA P-256, as Fulcio issues
    const Bytes pae = sigstore::dsse_pae(env.at("payloadType").get<std::string>(), b64(env.at("payload")));
    const Status st = crypto::verify(*key, pae, b64(env.at("signatures")[0].at("sig")), o);
    if (want_fail) {
      CHECK_FALSE(st);
      ++refused;
    } else {
      CHECK_MESSAGE(st, (st ? "" : st.error().message));
      ++accepted;
    }
  }
  CHECK(accepted >= 3);
  CHECK(refused >= 2);
}

namespace {

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

std::int64_t as_int(const Json& j) { return j.is_string() ? std::stoll(j.get<std::string>()) : j.get<std::int64_t>(); }

}  // namespace

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
  const auto dir = test::require_vectors("sigstore");
  const Json manifest = load_json(dir / "manifest.json");
  int accepted = 0, refused = 0;
  for (const auto& c : manifest.at("cases")) {
    if (!c.contains("bundle") || !c["bundle"].is_string() || !c.contains("identity") || !c.contains("issuer")) continue;
    const std::string fc = c.value("failing_check", Json()).is_string() ? c["failing_check"].get<std::string>() : "";
    const bool want_fail = fc == "identity" || fc == "issuer" || fc == "certificate-chain";
    if (c.at("expect") != "accept" && !want_fail) continue;
    CAPTURE(c.at("id").get<std::string>());
    const Json bundle = load_json(dir / c.at("bundle").get<std::string>());
    auto leaf = leaf_of(bundle);
    REQUIRE(leaf);
    auto root = sigstore::parse_trusted_root(test::slurp(dir / c.value("trusted_root", std::string("trusted_root/public-good.json"))));
    REQUIRE_MESSAGE(root, (root ? "" : root.error().message));
    const std::time_t signed_at = as_int(bundle["verificationMaterial"]["tlogEntries"][0]["integratedTime"]);
    auto issuer = sigstore::verify_fulcio_chain(*leaf, *root, signed_at);
    Status st = status_of(issuer);
    if (st) {
      auto who = sigstore::fulcio_identity(*leaf);
      REQUIRE_MESSAGE(who, (who ? "" : who.error().message));
      st = sigstore::match_identity(*who, c["identity"].get<std::string>(), c["issuer"].get<std::string>());
    }
    if (want_fail) {
      REQUIRE_FALSE(st);
      CHECK(st.error().field == (fc == "certificate-chain" ? "certificate" : fc));
      ++refused;
    } else {
      CHECK_MESSAGE(st, (st ? "" : st.error().message));
      ++accepted;
    }
  }
  CHECK(accepted >= 10);
  CHECK(refused >= 8);
  MESSAGE("signers that verified: " << accepted << ", refused: " << refused);
}

TEST_CASE("SCTs: the keyless bundles' leaves carry an SCT by the trusted root's CT log, a wrong CT key refuses it") {
  const auto dir = test::require_vectors("sigstore");
  const Json manifest = load_json(dir / "manifest.json");
  int accepted = 0, refused = 0;
  for (const auto& c : manifest.at("cases")) {
    if (!c.contains("bundle") || !c["bundle"].is_string() || !c.contains("identity")) continue;
    const std::string fc = c.value("failing_check", Json()).is_string() ? c["failing_check"].get<std::string>() : "";
    const std::string id = c.at("id").get<std::string>();
    const bool want_fail = fc == "sct" || id == "conf-invalid-ct-key_fail";
    if (c.at("expect") != "accept" && !want_fail) continue;
    CAPTURE(id);
    const Json bundle = load_json(dir / c.at("bundle").get<std::string>());
    auto leaf = leaf_of(bundle);
    REQUIRE(leaf);
    auto root = sigstore::parse_trusted_root(test::slurp(dir / c.value("trusted_root", std::string("trusted_root/public-good.json"))));
    REQUIRE(root);
    // The issuer from the case's root, else the public-good one (a root made to test another check).
    auto good = sigstore::parse_trusted_root(test::slurp(dir / "trusted_root/public-good.json"));
    REQUIRE(good);
    const std::time_t signed_at = as_int(bundle["verificationMaterial"]["tlogEntries"][0]["integratedTime"]);
    auto issuer = sigstore::verify_fulcio_chain(*leaf, *root, signed_at);
    if (!issuer) issuer = sigstore::verify_fulcio_chain(*leaf, *good, signed_at);
    REQUIRE_MESSAGE(issuer, (issuer ? "" : issuer.error().message));
    const Status st = sigstore::verify_embedded_sct(*leaf, *issuer, *root);
    if (want_fail) {
      REQUIRE_FALSE(st);
      CHECK(st.error().field == "sct");
      ++refused;
    } else {
      CHECK_MESSAGE(st, (st ? "" : st.error().message));
      ++accepted;
    }
  }
  CHECK(accepted >= 10);
  CHECK(refused >= 1);
  MESSAGE("SCTs that verified: " << accepted << ", refused: " << refused);
}
