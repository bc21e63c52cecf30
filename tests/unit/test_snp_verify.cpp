// SEV-SNP verification on every vector of shared vectors/snp/manifest.json at its verify_at
// time, plus the byte-flip sweep over the signed region and chain/binding negatives.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "cli/inputs.h"
#include "crypto/x509_issue.h"
#include "verify/snp_verify.h"
#include "support/vectors.h"

using namespace cci;
using namespace cci::verify;
namespace fs = std::filesystem;

namespace {

std::vector<crypto::Certificate> load_certs(const fs::path& p) {
  Bytes data = test::slurp(p);
  if (as_chars(data).find("-----BEGIN") != std::string_view::npos) {
    auto certs = crypto::parse_pem_bundle(data);
    REQUIRE(certs);
    return std::move(*certs);
  }
  auto c = crypto::Certificate::from_der(data);
  REQUIRE(c);
  std::vector<crypto::Certificate> out;
  out.push_back(std::move(*c));
  return out;
}

SnpEvidence evidence_for(const nlohmann::json& v, const fs::path& dir) {
  SnpEvidence ev;
  auto in = snp::extract_report(test::slurp(dir / v["report"].get<std::string>()));
  REQUIRE(in);
  ev.input = std::move(*in);
  auto vek = load_certs(dir / v["vek"].get<std::string>());
  ev.vek = std::move(vek[0]);
  for (size_t i = 1; i < vek.size(); ++i) ev.ca.push_back(std::move(vek[i]));
  for (const auto& c : v["ca"]) {
    for (auto& cert : load_certs(dir / c.get<std::string>())) ev.ca.push_back(std::move(cert));
  }
  if (v.value("version", 0) == 2) ev.product = snp::product_from_name(v["product"].get<std::string>());
  std::string at = v.value("verify_at", "2026-06-01T00:00:00Z");
  ev.at = *cli::parse_time(at);
  ev.crl_required = false;  // no genuine AMD CRL exists in the vectors; see the CRL cases below
  return ev;
}

std::string failures(const SnpVerification& r) {
  std::string s;
  for (const auto& c : r.checks.items()) {
    if (c.outcome == Outcome::kFail) s += c.id + ": " + c.detail + "; ";
  }
  return s;
}

nlohmann::json vector_by_id(const std::string& id) {
  auto dir = test::require_vectors("snp");
  auto m = nlohmann::json::parse(as_chars(test::slurp(dir / "manifest.json")));
  for (const auto& v : m["vectors"]) {
    if (v["id"] == id) return v;
  }
  FAIL("no vector " << id);
  return {};
}

}  // namespace

TEST_CASE("every SNP vector gives its expected result at verify_at") {
  auto dir = test::require_vectors("snp");
  auto m = nlohmann::json::parse(as_chars(test::slurp(dir / "manifest.json")));
  int accepted = 0, rejected = 0;
  for (const auto& v : m["vectors"]) {
    std::string id = v["id"];
    CAPTURE(id);
    auto r = verify_snp(evidence_for(v, dir));
    const bool want = v["expect"] == "accept";
    CHECK_MESSAGE(r.passed == want, failures(r));
    (r.passed ? accepted : rejected)++;
  }
  CHECK(accepted == 12);
  CHECK(rejected == 5);
}

TEST_CASE("flipping any byte of the signed region is never accepted") {
  auto dir = test::require_vectors("snp");
  for (const char* id : {"milan-v3-tav", "turin-v5-tav"}) {
    CAPTURE(id);
    auto v = vector_by_id(id);
    auto ev = evidence_for(v, dir);
    const Bytes original = ev.input.report;
    for (size_t i = 0; i < snp::kSignedSize + 2 * snp::kSigComponentSize; ++i) {
      ev.input.report = original;
      ev.input.report[i] ^= 0x01;
      if (verify_snp(ev).passed) FAIL("byte " << i << " flipped and still accepted");
    }
  }
}

TEST_CASE("the unsigned tail must be zero, s and n-s, expired collateral, chain substitutions") {
  auto dir = test::require_vectors("snp");
  auto ev = evidence_for(vector_by_id("milan-v3-tav"), dir);
  REQUIRE(verify_snp(ev).passed);
  SUBCASE("non-zero unsigned tail is a structure error") {
    ev.input.report[0x400] = 1;
    auto r = verify_snp(ev);
    CHECK_FALSE(r.passed);
    CHECK(failures(r).find("snp.report_structure") != std::string::npos);
  }
  SUBCASE("expired collateral") {
    ev.at = *cli::parse_time("2040-01-01");
    auto r = verify_snp(ev);
    CHECK_FALSE(r.passed);
    CHECK(failures(r).find("snp.chain") != std::string::npos);
  }
  SUBCASE("an attacker-supplied ARK is not the pinned one") {
    ev.ca.erase(ev.ca.begin());  // drop the genuine ARK; another product's root cannot stand in
    for (auto& c : load_certs(dir / "ca/ark_genoa.pem")) ev.ca.push_back(std::move(c));
    auto r = verify_snp(ev);
    CHECK_FALSE(r.passed);
    CHECK(failures(r).find("snp.ark_pinned") != std::string::npos);
  }
  SUBCASE("v2 without a product is refused") {
    auto ev2 = evidence_for(vector_by_id("milan-v2-gsg"), dir);
    ev2.product.reset();
    auto r = verify_snp(ev2);
    CHECK_FALSE(r.passed);
    CHECK(failures(r).find("snp.product") != std::string::npos);
  }
  SUBCASE("a product that contradicts the signed CPUID is refused") {
    ev.product = snp::Product::kGenoa;
    CHECK_FALSE(verify_snp(ev).passed);
  }
  SUBCASE("the reverse: a Genoa report with the Milan chain") {
    auto g = evidence_for(vector_by_id("genoa-v3-tav"), dir);
    g.ca.clear();
    for (const char* f : {"ca/ark_milan.pem", "ca/ask_milan.pem"}) {
      for (auto& c : load_certs(dir / f)) g.ca.push_back(std::move(c));
    }
    auto r = verify_snp(g);
    CHECK_FALSE(r.passed);
    CHECK(failures(r).find("snp.ark_pinned") != std::string::npos);
  }
  SUBCASE("a REPORTED_TCB that does not match the leaf is named (and breaks the signature)") {
    ev.input.report[0x180 + 6] ^= 0x01;  // snpSPL in the Milan layout (bl, tee, 4 reserved, snp, ucode)
    auto r = verify_snp(ev);
    CHECK_FALSE(r.passed);
    CAPTURE(failures(r));
    CHECK(failures(r).find("snp.vek_tcb: snpSPL") != std::string::npos);
    CHECK(failures(r).find("snp.report_signature") != std::string::npos);
  }
  SUBCASE("oversized and truncated reports are structure errors") {
    for (size_t n : {snp::kReportSize + 1, snp::kReportSize - 1, size_t{0}}) {
      CAPTURE(n);
      ev.input.report.resize(n, 0);
      auto r = verify_snp(ev);
      CHECK_FALSE(r.passed);
      CHECK(failures(r).find("snp.report_structure") != std::string::npos);
    }
  }
  SUBCASE("masked chip ID") {
    std::fill(ev.input.report.begin() + 0x1A0, ev.input.report.begin() + 0x1E0, 0);
    CHECK_FALSE(verify_snp(ev).passed);
  }
}

TEST_CASE("each binding between report and certificate fails on its own check: CHIP_ID and hwID, SIGNING_KEY and the leaf's kind, Azure's runtime claims") {
  // Each change below also breaks the report signature; the check that names the binding must
  // fail too, so that removing it could not pass unnoticed.
  auto dir = test::require_vectors("snp");
  auto failed = [](const SnpVerification& r, const std::string& id) {
    for (const auto& c : r.checks.items()) {
      if (c.id == id && c.outcome == Outcome::kFail) return c.detail;
    }
    return std::string();
  };
  for (const char* id : {"milan-v3-tav", "turin-v5-tav"}) {
    CAPTURE(id);
    auto ev = evidence_for(vector_by_id(id), dir);
    REQUIRE(verify_snp(ev).passed);
    const Bytes original = ev.input.report;
    ev.input.report[0x1A0 + 3] ^= 0x01;  // CHIP_ID
    auto r = verify_snp(ev);
    CHECK_FALSE(r.passed);
    CHECK(failed(r, "snp.vek_hwid").find("expected CHIP_ID") != std::string::npos);
    ev.input.report = original;
    std::fill(ev.input.report.begin() + 0x1A0, ev.input.report.begin() + 0x1A0 + 64, std::uint8_t{0});
    r = verify_snp(ev);
    CHECK(failed(r, "snp.vek_hwid").find("CHIP_ID is masked") != std::string::npos);
    ev.input.report = original;
    ev.input.report[0x048] = static_cast<std::uint8_t>((original[0x048] & ~0x1c) | (1 << 2));  // SIGNING_KEY: VLEK
    r = verify_snp(ev);
    CHECK(failed(r, "snp.signing_key").find("leaf certificate CN is SEV-VCEK") != std::string::npos);
    ev.input.report[0x048] = static_cast<std::uint8_t>((original[0x048] & ~0x1c) | (7 << 2));  // SIGNING_KEY: none
    r = verify_snp(ev);
    CHECK(failed(r, "snp.signing_key").find("not signed") != std::string::npos);
  }
  // Turin's hwID is 8 bytes: CHIP_ID must be zero past them.
  auto turin = evidence_for(vector_by_id("turin-v5-tav"), dir);
  turin.input.report[0x1A0 + 40] = 0x01;
  CHECK(failed(verify_snp(turin), "snp.vek_hwid").find("expected CHIP_ID") != std::string::npos);
  // Azure: REPORT_DATA binds the HCL report's runtime claims.
  auto az = evidence_for(vector_by_id("azure-hcl-milan-v2"), dir);
  REQUIRE(az.input.format == snp::InputFormat::kAzureHcl);
  REQUIRE(verify_snp(az).passed);
  az.input.azure_runtime_claims.push_back(' ');
  auto r = verify_snp(az);
  CHECK_FALSE(r.passed);
  CHECK(failed(r, "azure.runtime_claims").find("does not bind") != std::string::npos);
}

TEST_CASE("the ECDSA-malleated signature (r, n-s) verifies but dedupe keys use only signed bytes") {
  // n of P-384, big-endian.
  auto dir = test::require_vectors("snp");
  auto ev = evidence_for(vector_by_id("milan-v3-tav"), dir);
  auto n = *from_hex(
      "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973", "n");
  Bytes s_be(ev.input.report.begin() + 0x2E8, ev.input.report.begin() + 0x2E8 + 48);
  std::reverse(s_be.begin(), s_be.end());
  // n - s (big-endian subtraction)
  Bytes out(48);
  int borrow = 0;
  for (int i = 47; i >= 0; --i) {
    int d = n[static_cast<size_t>(i)] - s_be[static_cast<size_t>(i)] - borrow;
    borrow = d < 0;
    out[static_cast<size_t>(i)] = static_cast<std::uint8_t>(d + (borrow ? 256 : 0));
  }
  std::reverse(out.begin(), out.end());
  std::copy(out.begin(), out.end(), ev.input.report.begin() + 0x2E8);
  auto r = verify_snp(ev);
  CHECK(r.passed);  // ECDSA allows it: never key replay caches on the signature bytes
  CHECK(r.report->signed_bytes().size() == snp::kSignedSize);
}

TEST_CASE("without a CRL the revocation check fails unless the caller opted out") {
  auto dir = test::require_vectors("snp");
  auto ev = evidence_for(vector_by_id("milan-v3-tav"), dir);
  auto skipped = verify_snp(ev);
  CHECK(skipped.passed);
  bool saw_skip = false;
  for (const auto& c : skipped.checks.items()) saw_skip |= c.id == "snp.crl" && c.outcome == Outcome::kSkip;
  CHECK(saw_skip);
  ev.crl_required = true;
  auto r = verify_snp(ev);
  CHECK_FALSE(r.passed);
  CHECK(failures(r).rfind("snp.crl: no CRL for ARK-Milan", 0) == 0);
  CHECK(failures(r).find(';') == failures(r).size() - 2);  // the only failure: every other check still ran and passed
}

namespace {

// A small RSA-PSS PKI shaped like AMD's: root and intermediate, and CRLs from the root.
struct TestPki {
  explicit TestPki(const std::string& root_cn = "ARK-Test") : root(make(root_key, nullptr, root_key, root_cn, 0x10000, true)) {}
  crypto::PrivateKey root_key = *crypto::generate_rsa_key(2048);
  crypto::PrivateKey ica_key = *crypto::generate_rsa_key(2048);
  crypto::Certificate root;
  crypto::Certificate ica = make(ica_key, &root, root_key, "SEV-Test", 0x10001, true);

  static crypto::Certificate make(const crypto::PrivateKey& subject, const crypto::Certificate* issuer, const crypto::PrivateKey& issuer_key,
                                  const std::string& cn, std::uint64_t serial, bool ca) {
    crypto::CertificateSpec spec;
    spec.subject = {{"OU", "Engineering"}, {"CN", cn}};
    spec.serial = serial;
    spec.not_before = 1600000000;
    spec.not_after = 2500000000;
    spec.ca = ca;
    spec.key_usage = "critical,keyCertSign,cRLSign";
    auto c = crypto::issue_certificate(spec, subject.public_key(), issuer_key, issuer, crypto::IssueSignature::kRsaPssSha384);
    REQUIRE_MESSAGE(c, c.error().message);
    return std::move(*c);
  }
  crypto::Crl crl(std::vector<std::uint64_t> revoked, std::time_t this_update, std::optional<std::time_t> next_update,
                  const crypto::PrivateKey* signer = nullptr) const {
    crypto::CrlSpec spec{this_update, next_update, std::move(revoked)};
    auto c = crypto::issue_crl(spec, signer ? *signer : root_key, root, crypto::IssueSignature::kRsaPssSha384);
    REQUIRE_MESSAGE(c, c.error().message);
    return std::move(*c);
  }
};

std::string crl_verdict(const TestPki& pki, std::optional<crypto::Crl> crl, std::time_t at) {
  CheckList out;
  bool ok = check_snp_crl(out, crl, true, pki.root, pki.ica, at);
  REQUIRE(out.items().size() == 1);
  CHECK(out.items()[0].id == "snp.crl");
  return (ok ? "pass: " : "fail: ") + out.items()[0].detail;
}

}  // namespace

TEST_CASE("CRL: signed by the root, current, intermediate not listed") {
  TestPki pki;
  const std::time_t t0 = 1700000000, day = 86400;
  CHECK(crl_verdict(pki, pki.crl({0x10005}, t0, t0 + 7 * day), t0 + day).rfind("pass: SEV-Test not revoked", 0) == 0);
  SUBCASE("the intermediate's serial is listed") {
    CHECK(crl_verdict(pki, pki.crl({0x10005, 0x10001}, t0, t0 + 7 * day), t0 + day) == "fail: SEV-Test is revoked by ARK-Test");
  }
  SUBCASE("stale: at is after nextUpdate (a replayed old list)") {
    CHECK(crl_verdict(pki, pki.crl({}, t0, t0 + 7 * day), t0 + 8 * day).find("fail: CRL is stale") == 0);
  }
  SUBCASE("not yet valid") { CHECK(crl_verdict(pki, pki.crl({}, t0, t0 + 7 * day), t0 - 1).find("fail: CRL thisUpdate") == 0); }
  SUBCASE("no nextUpdate") { CHECK(crl_verdict(pki, pki.crl({}, t0, std::nullopt), t0 + 1).find("fail: CRL has no nextUpdate") == 0); }
  SUBCASE("signed by another key under the root's name") {
    auto other = *crypto::generate_rsa_key(2048);
    CHECK(crl_verdict(pki, pki.crl({}, t0, t0 + day, &other), t0 + 1) == "fail: CRL signature does not verify with ARK-Test");
  }
  SUBCASE("issued by someone else") {
    TestPki stranger("ARK-Other");
    CHECK(crl_verdict(pki, stranger.crl({}, t0, t0 + day), t0 + 1).find("fail: CRL issuer") == 0);
  }
  SUBCASE("a bit flipped anywhere in the CRL never passes") {
    Bytes der = pki.crl({0x10005}, t0, t0 + 7 * day).der();
    for (size_t i = 0; i < der.size(); ++i) {
      Bytes bad = der;
      bad[i] ^= 0x20;
      auto parsed = crypto::Crl::parse(bad);
      if (!parsed) continue;
      if (crl_verdict(pki, std::move(*parsed), t0 + day).rfind("pass", 0) == 0) FAIL("byte " << i << " flipped and the CRL still passes");
    }
  }
}
