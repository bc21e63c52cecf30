// SEV-SNP verification on every vector of shared vectors/snp/manifest.json at its verify_at
// time, plus the byte-flip sweep over the signed region and chain/binding negatives.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "cli/inputs.h"
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

TEST_CASE("the unsigned tail must be zero; s and n-s; expired collateral; chain substitutions") {
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
  SUBCASE("masked chip ID") {
    std::fill(ev.input.report.begin() + 0x1A0, ev.input.report.begin() + 0x1E0, 0);
    CHECK_FALSE(verify_snp(ev).passed);
  }
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
