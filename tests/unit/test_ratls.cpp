// Attested TLS certificates: claims in deterministic CBOR, strictly decoded; the tagged evidence
// and endorsement extensions; a certificate made on the simulated SEV-SNP platform whose report
// binds the claims and passes the real verifier; and certificates that must be refused.
#include <doctest/doctest.h>

#include "attest/evidence_source.h"
#include "base/hex.h"
#include "client/attested_client.h"
#include "client/verifier.h"
#include "crypto/digest.h"
#include "crypto/x509_issue.h"
#include "ratls/attested_cert.h"
#include "ratls/fresh.h"
#include "sim/snp_sim.h"
#include "support/vectors.h"
#include "verify/snp_verify.h"

using namespace cci;
using namespace cci::ratls;

namespace {

Claims sample_claims(ByteView spki) {
  Claims c;
  c.pubkey_sha256 = crypto::digest(crypto::DigestAlg::kSha256, spki);
  c.manifest_sha256 = Bytes(32, 0xAB);
  c.deploy = "prod-eu-1";
  return c;
}

Bytes hex_bytes(const char* h) {
  Bytes b;
  for (size_t i = 0; h[i] && h[i + 1]; i += 2) b.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h + i, 2), nullptr, 16)));
  return b;
}

}  // namespace

TEST_CASE("claims: deterministic CBOR, round trip, strict decoding") {
  Claims c = sample_claims(as_bytes("spki"));
  c.nonce = Bytes(32, 7);
  c.exporter = Bytes(32, 9);
  auto a = encode_claims(c), b = encode_claims(c);
  REQUIRE(a);
  CHECK(*a == *b);
  CHECK((*a)[0] == 0xA6);                     // a definite map of 6
  CHECK(Bytes(a->begin() + 1, a->begin() + 7) == hex_bytes("656e6f6e6365"));  // "nonce": the shortest key first
  auto d = decode_claims(*a);
  REQUIRE_MESSAGE(d, d.error().message);
  CHECK(d->pubkey_sha256 == c.pubkey_sha256);
  CHECK(d->manifest_sha256 == c.manifest_sha256);
  CHECK(d->deploy == c.deploy);
  CHECK(d->nonce == c.nonce);
  CHECK(d->exporter == c.exporter);
  const Bytes rd = report_data_for_claims(*a);
  CHECK(rd.size() == 64);
  CHECK(Bytes(rd.begin(), rd.begin() + 32) == crypto::digest(crypto::DigestAlg::kSha256, *a));
  CHECK(Bytes(rd.begin() + 32, rd.end()) == Bytes(32, 0));

  // {"cci-purpose": "x", "cci-purpose": "y"}
  CHECK(decode_claims(hex_bytes("a26b6363692d707572706f7365617a6b6363692d707572706f73656179")).error().message.find("twice") != std::string::npos);
  CHECK(decode_claims(hex_bytes("a1636261726178")).error().field == "bar");       // unknown key
  CHECK(decode_claims(hex_bytes("a16b6363692d707572706f73656178")).error().field == "pubkey-hash");  // missing
  CHECK(decode_claims(hex_bytes("bf6b6363692d707572706f73656178ff")).error().field == "claims");    // indefinite map
  Bytes trailing = *a;
  trailing.push_back(0);
  CHECK(decode_claims(trailing).error().message.find("trailing") != std::string::npos);
  CHECK_FALSE(decode_claims(Bytes(5000, 0xA0)));
  CHECK_FALSE(decode_claims(Bytes{0xFF}));
  Claims wrong_size = c;
  wrong_size.manifest_sha256.resize(31);
  CHECK_FALSE(encode_claims(wrong_size));

  // An encrypted model's key source: round trip, only the four names, and fresh claims must repeat it.
  Claims sealed = c;
  sealed.key_source = "file";
  auto e = encode_claims(sealed);
  REQUIRE(e);
  auto back = decode_claims(*e);
  REQUIRE(back);
  CHECK(back->key_source == std::optional<std::string>("file"));
  CHECK_FALSE(decode_claims(*a)->key_source);
  sealed.key_source = "ftp";
  auto odd = encode_claims(sealed);
  REQUIRE(odd);
  CHECK(decode_claims(*odd).error().field == "cci-key-source");
  Claims cert = c;
  cert.nonce.reset();
  cert.exporter.reset();
  cert.key_source = "push";
  Claims fresh = fresh_claims(cert, *c.nonce, *c.exporter);
  CHECK(check_fresh_claims(fresh, cert, *c.nonce, *c.exporter));
  fresh.key_source = "file";
  CHECK(check_fresh_claims(fresh, cert, *c.nonce, *c.exporter).error().field == "cci-key-source");
}

namespace {

// Minimal CBOR writers for hand-made claims (RFC 8949 section 3: heads of major types 2, 3, 4, 5).
Bytes cbor_head(std::uint8_t major, size_t n) {
  if (n < 24) return {static_cast<std::uint8_t>(major << 5 | n)};
  if (n < 256) return {static_cast<std::uint8_t>(major << 5 | 24), static_cast<std::uint8_t>(n)};
  return {static_cast<std::uint8_t>(major << 5 | 25), static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
}
Bytes cbor_bytes(const Bytes& b) {
  Bytes out = cbor_head(2, b.size());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}
Bytes cbor_text(const std::string& s) {
  Bytes out = cbor_head(3, s.size());
  out.insert(out.end(), s.begin(), s.end());
  return out;
}
Bytes cbor_map(const std::vector<std::pair<Bytes, Bytes>>& entries) {
  Bytes out = cbor_head(5, entries.size());
  for (const auto& [k, v] : entries) {
    out.insert(out.end(), k.begin(), k.end());
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}
Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

TEST_CASE("claims: each claim of the wrong CBOR type, length or shape is refused naming it") {
  const Bytes pubkey_hash = cbor_bytes(concat({{0x82, 0x01}, cbor_bytes(Bytes(32, 1))}));  // bstr .cbor [1, h'..32 bytes']
  // A valid base; each case replaces (or adds) one claim.
  auto claims_with = [&](const std::string& key, const Bytes& value) {
    std::vector<std::pair<Bytes, Bytes>> m{{cbor_text("pubkey-hash"), pubkey_hash}, {cbor_text("cci-purpose"), cbor_text("tls-server")},
                                           {cbor_text("cci-manifest"), cbor_bytes(Bytes(32, 2))}};
    bool replaced = false;
    for (auto& [k, v] : m) {
      if (k == cbor_text(key)) {
        v = value;
        replaced = true;
      }
    }
    if (!replaced) m.emplace_back(cbor_text(key), value);
    return cbor_map(m);
  };
  REQUIRE(decode_claims(claims_with("cci-deploy", cbor_text("prod"))));
  REQUIRE(decode_claims(claims_with("nonce", cbor_bytes(Bytes(64, 3)))));
  const Bytes indefinite_32 = concat({{0x5f}, cbor_bytes(Bytes(32, 2)), {0xff}});  // the same 32 bytes as one indefinite-length chunk
  const std::vector<std::pair<std::string, Bytes>> cases = {
      {"pubkey-hash", cbor_text("abc")},
      {"pubkey-hash", cbor_bytes(concat({{0x81, 0x01}}))},                                      // [1]
      {"pubkey-hash", cbor_bytes(concat({{0x82, 0x02}, cbor_bytes(Bytes(32, 1))}))},            // algorithm 2
      {"pubkey-hash", cbor_bytes(concat({{0x82, 0x01}, cbor_bytes(Bytes(31, 1))}))},            // 31 bytes
      {"pubkey-hash", cbor_bytes(concat({{0x82, 0x01}, cbor_text(std::string(32, 'a'))}))},     // text, not bytes
      {"cci-manifest", cbor_text(std::string(32, 'a'))},
      {"cci-manifest", cbor_bytes(Bytes(31, 2))},
      {"cci-manifest", indefinite_32},
      {"cci-purpose", cbor_bytes(Bytes(3, 'x'))},
      {"cci-purpose", cbor_text(std::string(257, 'x'))},
      {"cci-deploy", Bytes{0x01}},  // an integer
      {"cci-key-source", cbor_bytes(Bytes(4, 'p'))},
      {"nonce", cbor_bytes({})},
      {"nonce", cbor_bytes(Bytes(65, 3))},
      {"nonce", cbor_text("abc")},
      {"cci-exporter", cbor_bytes(Bytes(31, 4))},
      {"cci-gpu", cbor_bytes(Bytes(33, 5))},
  };
  for (const auto& [key, value] : cases) {
    const std::string shown = key + " = " + to_hex(value).substr(0, 40);
    CAPTURE(shown);
    auto d = decode_claims(claims_with(key, value));
    REQUIRE_FALSE(d);
    CHECK(d.error().field == key);
  }
  // A key that is not text.
  auto int_key = cbor_map({{cbor_text("pubkey-hash"), pubkey_hash}, {Bytes{0x01}, cbor_text("x")}});
  CHECK(decode_claims(int_key).error().field == "claims");
}

TEST_CASE("tagged evidence and endorsements: round trip, unknown tags and shapes refused") {
  TaggedEvidence e{kTagCsv, Bytes(100, 1), Bytes(10, 2)};
  auto enc = encode_tagged_evidence(e);
  REQUIRE(enc);
  CHECK(Bytes(enc->begin(), enc->begin() + 5) == hex_bytes("da001a7506"));  // tag(0x1a7506), 4-byte form
  auto dec = decode_tagged_evidence(*enc);
  REQUIRE(dec);
  CHECK(dec->tag == kTagCsv);
  CHECK(dec->evidence == e.evidence);
  CHECK(dec->claims == e.claims);
  CHECK(decode_tagged_evidence(hex_bytes("d9ea618241004100")).error().field == "tag");  // tag 60001 (an Intel TEE report, not a quote)
  auto tdx = decode_tagged_evidence(hex_bytes("d9ea608241014102"));                      // tag 60000: an Intel TEE quote (TDX)
  REQUIRE(tdx);
  CHECK(tdx->tag == kTagIntelTeeQuote);
  CHECK(tdx->evidence == Bytes{1});
  CHECK_FALSE(decode_tagged_evidence(hex_bytes("da001a750483410041004100")));
  CHECK_FALSE(decode_tagged_evidence(hex_bytes("8241004100")));  // untagged
  // A tag around something other than a definite array of byte strings.
  CHECK(decode_tagged_evidence(hex_bytes("da001a75044100")).error().field == "tagged evidence");              // a tagged byte string
  CHECK(decode_tagged_evidence(hex_bytes("da001a75049f41004100ff")).error().field == "tagged evidence");      // an indefinite array
  CHECK(decode_tagged_evidence(hex_bytes("da001a7504824100617a")).error().field == "tagged evidence");        // text as the second item
  CHECK(decode_endorsements(hex_bytes("da001a75048161ff")).error().field == "endorsements");                  // text as an item
  CHECK(decode_endorsements(hex_bytes("d9ea618141ff")).error().field == "tag");                               // tag 60001: no TEE cci knows
  auto en = encode_endorsements({kTagSnp, {Bytes(3, 1), Bytes(4, 2)}});
  REQUIRE(en);
  auto den = decode_endorsements(*en);
  REQUIRE(den);
  CHECK(den->items.size() == 2);
}

namespace {

struct SimCert {
  test::TempDir tmp;
  crypto::PrivateKey key = *crypto::generate_key(crypto::KeyType::kEcP384);
  Bytes claims;
  attest::Evidence evidence;
  std::optional<Endorsements> endorsements;
  SimCert() {
    REQUIRE(sim::init_snp_sim(tmp.str(), sim::default_snp_platform(snp::Product::kGenoa)));
    auto c = encode_claims(sample_claims(key.public_key().spki_der()));
    REQUIRE(c);
    claims = *c;
    attest::SourceOptions so;
    so.tee = "sim-snp";
    so.sim_dir = tmp.str();
    auto src = attest::select_evidence_source(so);
    REQUIRE(src);
    auto ev = (*src)->get_evidence(report_data_for_claims(claims));
    REQUIRE_MESSAGE(ev, ev.error().message);
    evidence = std::move(*ev);
    auto vek = crypto::Certificate::from_pem(as_bytes(*evidence.file.vek_pem));
    auto chain = crypto::parse_pem_bundle(as_bytes(*evidence.file.cert_chain_pem));
    REQUIRE(vek);
    REQUIRE(chain);
    endorsements = Endorsements{kTagSnp, {vek->der(), (*chain)[0].der(), (*chain)[1].der()}};
  }
  AttestedCertSpec spec() const {
    AttestedCertSpec s;
    s.dns_names = {"localhost"};
    s.not_before = std::time(nullptr) - 60;
    s.not_after = s.not_before + 3600;
    return s;
  }
  crypto::Certificate make(const Bytes& claims_bytes) const {
    auto cert = make_attested_certificate(key, {kTagSnp, evidence.file.report, claims_bytes}, endorsements, spec());
    REQUIRE_MESSAGE(cert, cert.error().message);
    return std::move(*cert);
  }
};

}  // namespace

TEST_CASE("attested certificate on the simulated SEV-SNP platform: claims bound by the report, chain verified") {
  SimCert s;
  const crypto::Certificate cert = s.make(s.claims);
  auto a = read_attested_certificate(cert, std::time(nullptr));
  REQUIRE_MESSAGE(a, a.error().message);
  CHECK(a->claims.deploy == "prod-eu-1");
  REQUIRE(a->endorsements);
  // The platform checks: the report binds these claims, and its chain verifies (to the simulated root).
  verify::SnpEvidence ev;
  ev.input.report = a->evidence.evidence;
  ev.vek = *crypto::Certificate::from_der(a->endorsements->items[0]);
  ev.ca.push_back(*crypto::Certificate::from_der(a->endorsements->items[1]));
  ev.ca.push_back(*crypto::Certificate::from_der(a->endorsements->items[2]));
  ev.at = std::time(nullptr);
  ev.crl_required = false;
  ev.simulated_roots.push_back(crypto::Certificate::from_der(a->endorsements->items[2])->fingerprint_sha256());
  auto v = verify::verify_snp(ev);
  CHECK(v.passed);
  CHECK(v.simulated);
  REQUIRE(v.report);
  CHECK(v.report->report_data == report_data_for_claims(a->evidence.claims));
  CHECK(cert.subject_common_name() == "cci-run");
}

TEST_CASE("attested certificate: another key's claims, a CA, long or expired validity, a second extension are refused") {
  SimCert s;
  SUBCASE("claims for another key") {
    auto other = crypto::generate_key(crypto::KeyType::kEcP384);
    auto c = encode_claims(sample_claims(other->public_key().spki_der()));
    REQUIRE(c);
    auto r = read_attested_certificate(s.make(*c), std::time(nullptr));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kVerificationFailed);
    CHECK(r.error().field == "pubkey-hash");
  }
  SUBCASE("expired, or valid for more than a day") {
    CHECK(read_attested_certificate(s.make(s.claims), std::time(nullptr) + 7200).error().field == "validity");
    AttestedCertSpec sp = s.spec();
    sp.not_after = sp.not_before + 3 * 24 * 3600;
    auto long_cert = make_attested_certificate(s.key, {kTagSnp, s.evidence.file.report, s.claims}, std::nullopt, sp);
    REQUIRE(long_cert);
    CHECK(read_attested_certificate(*long_cert, std::time(nullptr)).error().field == "validity");
  }
  SUBCASE("a CA certificate, or one carrying the evidence twice, or none") {
    auto ev = encode_tagged_evidence({kTagSnp, s.evidence.file.report, s.claims});
    REQUIRE(ev);
    crypto::CertificateSpec cs;
    cs.subject = {{"CN", "x"}};
    cs.not_before = std::time(nullptr) - 60;
    cs.not_after = cs.not_before + 3600;
    cs.ca = true;
    cs.extensions = {{kOidTaggedEvidence, *ev, false}};
    auto ca = crypto::issue_certificate(cs, s.key.public_key(), s.key, nullptr, crypto::IssueSignature::kEcdsaSha384);
    REQUIRE(ca);
    CHECK(read_attested_certificate(*ca, std::time(nullptr)).error().field == "basicConstraints");
    cs.ca = false;
    cs.extensions.push_back({kOidTaggedEvidence, *ev, false});
    auto twice = crypto::issue_certificate(cs, s.key.public_key(), s.key, nullptr, crypto::IssueSignature::kEcdsaSha384);
    REQUIRE(twice);
    CHECK_FALSE(read_attested_certificate(*twice, std::time(nullptr)));
    cs.extensions.clear();
    auto none = crypto::issue_certificate(cs, s.key.public_key(), s.key, nullptr, crypto::IssueSignature::kEcdsaSha384);
    REQUIRE(none);
    CHECK(read_attested_certificate(*none, std::time(nullptr)).error().field == "evidence");
  }
  SUBCASE("endorsements for another TEE than the evidence") {
    const Endorsements csv{kTagCsv, s.endorsements->items};
    auto cert = make_attested_certificate(s.key, {kTagSnp, s.evidence.file.report, s.claims}, csv, s.spec());
    REQUIRE(cert);
    CHECK(read_attested_certificate(*cert, std::time(nullptr)).error().field == "endorsements");
  }
  SUBCASE("signed by another key") {
    auto other = crypto::generate_key(crypto::KeyType::kEcP384);
    auto ev = encode_tagged_evidence({kTagSnp, s.evidence.file.report, s.claims});
    crypto::CertificateSpec cs;
    cs.subject = {{"CN", "x"}};
    cs.not_before = std::time(nullptr) - 60;
    cs.not_after = cs.not_before + 3600;
    cs.extensions = {{kOidTaggedEvidence, *ev, false}};
    auto forged = crypto::issue_certificate(cs, s.key.public_key(), *other, nullptr, crypto::IssueSignature::kEcdsaSha384);
    REQUIRE(forged);
    CHECK(read_attested_certificate(*forged, std::time(nullptr)).error().field == "signature");
  }
}

TEST_CASE("claims: cci-gpu round trips in fresh claims only, and the GPU nonce binds the client's nonce and the exporter") {
  Claims c = sample_claims(Bytes(91, 7));
  c.gpu_sha256 = Bytes(32, 0x5A);
  {
    auto not_fresh = encode_claims(c);
    REQUIRE(not_fresh);
    auto refused = decode_claims(*not_fresh);  // no nonce and exporter: not fresh claims
    REQUIRE_FALSE(refused);
    CHECK(refused.error().field == "cci-gpu");
  }
  c.nonce = Bytes(32, 1);
  c.exporter = Bytes(32, 2);
  auto enc = encode_claims(c);
  REQUIRE(enc);
  auto dec = decode_claims(*enc);
  REQUIRE(dec);
  CHECK(dec->gpu_sha256 == c.gpu_sha256);
  c.gpu_sha256 = Bytes(31, 0);
  CHECK_FALSE(encode_claims(c));
  CHECK(gpu_nonce(Bytes(32, 1), Bytes(32, 2)).size() == 32);
  CHECK(gpu_nonce(Bytes(32, 1), Bytes(32, 2)) == gpu_nonce(Bytes(32, 1), Bytes(32, 2)));
  CHECK(gpu_nonce(Bytes(32, 1), Bytes(32, 2)) != gpu_nonce(Bytes(32, 2), Bytes(32, 1)));
  // The fresh claims a server sends must repeat the certificate's; cci-gpu is the server's addition.
  Claims cert = sample_claims(Bytes(91, 7));
  Claims fresh = fresh_claims(cert, Bytes(32, 1), Bytes(32, 2));
  fresh.gpu_sha256 = Bytes(32, 9);
  CHECK(check_fresh_claims(fresh, cert, Bytes(32, 1), Bytes(32, 2)));
}

TEST_CASE("claims: a CBOR header that declares more items than the bytes hold is refused before anything is allocated") {
  // An array of 2^32 - 1 items in nine bytes (libcbor would allocate 32 GiB for it), a map of
  // 2^31 pairs, a byte string longer than the input, and the fuzzer's input that ran out of memory.
  const Bytes huge_array = {0x9a, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04};
  const Bytes huge_map = {0xba, 0x80, 0x00, 0x00, 0x00, 0x01, 0x02};
  const Bytes long_bytes = {0x5a, 0x00, 0x01, 0x00, 0x00, 0x41};
  const Bytes fuzzed = {0x9a, 0xa1, 0x63, 0x63, 0x69, 0x2d, 0x70, 0x75, 0x72, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x70, 0x6f, 0x73, 0x6f, 0x65, 0x61, 0x78};
  for (const Bytes* b : {&huge_array, &huge_map, &long_bytes, &fuzzed}) {
    auto c = decode_claims(*b);
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("a length or count exceeds the data") != std::string::npos);  // refused by the walk, not by libcbor
    CHECK_FALSE(decode_tagged_evidence(*b));
    CHECK_FALSE(decode_endorsements(*b));
  }
  // Well-formed claims still decode (nested arrays, an indefinite-length map is refused later).
  Claims c = sample_claims(Bytes(91, 7));
  auto enc = encode_claims(c);
  REQUIRE(enc);
  CHECK(decode_claims(*enc));
}

TEST_CASE("a fresh-evidence answer: the certificate's TEE, its claims with our nonce and exporter, and GPU evidence exactly when named") {
  const Bytes nonce(32, 0x11), exporter(32, 0x22);
  ratls::AttestedCertificate cert;
  cert.claims = sample_claims(as_bytes("spki"));
  cert.evidence = {kTagSnp, Bytes(1184, 0x5a), Bytes()};
  const std::string gpu_text = "[{\"arch\":\"HOPPER\"}]";
  const Bytes gpu(gpu_text.begin(), gpu_text.end());
  // An answer as a server writes it: tagged evidence whose claims are `claims`, and optionally GPU evidence.
  auto answer = [&](std::uint64_t tag, const Claims& claims, const std::optional<Bytes>& gpu_evidence) {
    auto c = encode_claims(claims);
    REQUIRE(c);
    auto ev = encode_tagged_evidence({tag, Bytes(1184, 0x5a), *c});
    REQUIRE(ev);
    nlohmann::json j{{"evidence", base64_encode(*ev)}};
    if (gpu_evidence) j["gpu_evidence"] = base64_encode(*gpu_evidence);
    const std::string text = j.dump();
    return Bytes(text.begin(), text.end());
  };
  const Claims fresh = fresh_claims(cert.claims, nonce, exporter);
  Claims fresh_gpu = fresh;
  fresh_gpu.gpu_sha256 = crypto::digest(crypto::DigestAlg::kSha256, gpu);

  auto plain = client::read_fresh_answer(answer(kTagSnp, fresh, std::nullopt), cert, nonce, exporter);
  REQUIRE_MESSAGE(plain, (plain ? "" : plain.error().message));
  CHECK_FALSE(plain->gpu);
  auto with_gpu = client::read_fresh_answer(answer(kTagSnp, fresh_gpu, gpu), cert, nonce, exporter);
  REQUIRE(with_gpu);
  CHECK(with_gpu->gpu == std::optional<Bytes>(gpu));
  CHECK(with_gpu->gpu_nonce == gpu_nonce(nonce, exporter));

  // GPU evidence named by the claims but withheld: never appraised as a CPU-only server.
  auto withheld = client::read_fresh_answer(answer(kTagSnp, fresh_gpu, std::nullopt), cert, nonce, exporter);
  REQUIRE_FALSE(withheld);
  CHECK(withheld.error().field == "cci-gpu");
  // Other GPU evidence than the claims name, or GPU evidence the claims do not name.
  Bytes other = gpu;
  other.back() = ' ';
  CHECK(client::read_fresh_answer(answer(kTagSnp, fresh_gpu, other), cert, nonce, exporter).error().field == "cci-gpu");
  CHECK(client::read_fresh_answer(answer(kTagSnp, fresh, gpu), cert, nonce, exporter).error().field == "cci-gpu");
  // Evidence of another TEE than the certificate's.
  auto tdx = client::read_fresh_answer(answer(kTagIntelTeeQuote, fresh, std::nullopt), cert, nonce, exporter);
  REQUIRE_FALSE(tdx);
  CHECK(tdx.error().message.find("another TEE type") != std::string::npos);
  // Claims for another connection or nonce (ratls::check_fresh_claims, on the answer as read).
  CHECK(client::read_fresh_answer(answer(kTagSnp, fresh, std::nullopt), cert, nonce, Bytes(32, 0x23)).error().field == "cci-exporter");
  CHECK(client::read_fresh_answer(answer(kTagSnp, fresh, std::nullopt), cert, Bytes(32, 0x12), exporter).error().field == "nonce");
  // GPU evidence that is not base64 text.
  {
    const Bytes a = answer(kTagSnp, fresh_gpu, std::nullopt);
    nlohmann::json j = nlohmann::json::parse(a.begin(), a.end());
    j["gpu_evidence"] = 7;
    const std::string text = j.dump();
    auto not_text = client::read_fresh_answer(as_bytes(text), cert, nonce, exporter);
    REQUIRE_FALSE(not_text);
    CHECK(not_text.error().message.find("gpu_evidence is not base64 text") != std::string::npos);
  }
  // Not the answer's shape.
  for (const std::string& body : {std::string("[]"), std::string("{\"evidence\": 7}"), std::string("{\"evidence\": \"%%\"}"), std::string("not json")}) {
    CAPTURE(body);
    CHECK_FALSE(client::read_fresh_answer(as_bytes(body), cert, nonce, exporter));
  }
}

TEST_CASE("a replica verifier takes only a certificate made for a TLS server, before it sends anything") {
  // A CVM's attested certificate for another purpose (a KBS client's, say) presented by a server:
  // refused on cci-purpose before any request goes out on the connection (it has none here).
  SimCert s;
  for (const std::string purpose : {"kbs", "tls-client", ""}) {
    CAPTURE(purpose);
    Claims c = sample_claims(s.key.public_key().spki_der());
    c.purpose = purpose;
    auto claims = encode_claims(c);
    REQUIRE(claims);
    client::Connection conn;
    conn.cert = s.make(*claims);
    conn.pin = "sha256//test";
    client::ReplicaVerifier verifier({});
    auto v = verifier.check(conn, client::Endpoint{});
    REQUIRE_FALSE(v);
    CHECK(v.error().field == "cci-purpose");
    CHECK(verifier.verifications() == 1);
    CHECK(verifier.keys() == 0);
  }
}

TEST_CASE("the served manifest must be the one the certificate's claims name, and then verify under the release signer") {
  const std::string text = "{\"not\": \"a signed manifest\"}";
  const Bytes served(text.begin(), text.end());
  Claims c = sample_claims(as_bytes("spki"));
  manifest::ReleaseSigner signer;
  signer.key_pem = test::slurp(test::require_vectors("measure/oms/keys") / "signing-key-pub.pem");
  // Another manifest than the claims name (cci-manifest is SHA-256 of the exact bytes).
  c.manifest_sha256 = crypto::digest(crypto::DigestAlg::kSha256, as_bytes("another manifest"));
  auto other = client::claimed_release(c, served, signer, std::time(nullptr), "the server's manifest");
  REQUIRE_FALSE(other);
  CHECK(other.error().field == "cci-manifest");
  CHECK(other.error().message.rfind("the server's manifest is not the manifest the certificate's claims name", 0) == 0);
  // The claimed bytes, which then fail their own signature check: the error says whose they are.
  c.manifest_sha256 = crypto::digest(crypto::DigestAlg::kSha256, served);
  auto unsigned_manifest = client::claimed_release(c, served, signer, std::time(nullptr), "the server's manifest");
  REQUIRE_FALSE(unsigned_manifest);
  CHECK(unsigned_manifest.error().field != "cci-manifest");
  CHECK(unsigned_manifest.error().message.rfind("the server's manifest: ", 0) == 0);
}
