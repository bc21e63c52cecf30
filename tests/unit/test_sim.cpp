// The SEV-SNP simulator against the real verifier: accepted only through an explicitly trusted
// simulated root, never through AMD's pinned fingerprints, and a simulated intermediate never
// rides on the pinned ARK (even after the simulated chain was verified in the same process).
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>

#include "cli/inputs.h"
#include "crypto/digest.h"
#include "sim/csv_sim.h"
#include "sim/snp_sim.h"
#include "support/vectors.h"
#include "verify/csv_verify.h"
#include "verify/snp_verify.h"
#include "evidence/sim_layout.h"

using namespace cci;
namespace fs = std::filesystem;

namespace {

struct SimFixture {
  fs::path dir = fs::temp_directory_path() / ("cci-sim-" + std::to_string(::getpid()));
  SimFixture() {
    fs::remove_all(dir);
    auto st = sim::init_snp_sim(dir.string(), sim::default_snp_platform(snp::Product::kMilan));
    REQUIRE_MESSAGE(st, st.error().message);
  }
  ~SimFixture() { fs::remove_all(dir); }
  std::vector<crypto::Certificate> certs(const std::string& file) const {
    auto c = cli::load_certificates({file});
    REQUIRE(c);
    return std::move(*c);
  }
  verify::SnpEvidence evidence() const {
    sim::SnpReportRequest req;
    req.report_data.assign(64, 0x42);
    auto report = sim::snp_sim_report(dir.string(), req);
    REQUIRE_MESSAGE(report, report.error().message);
    verify::SnpEvidence ev;
    ev.input.report = *report;
    ev.vek = std::move(certs(evidence::sim_snp_vcek_file(dir.string()))[0]);
    ev.ca = certs(evidence::sim_snp_chain_file(dir.string()));
    ev.at = std::time(nullptr);
    ev.crl_required = false;
    return ev;
  }
};

std::string fails(const verify::SnpVerification& v) {
  std::string s;
  for (const auto& c : v.checks.items()) {
    if (c.outcome == verify::Outcome::kFail) s += c.id + "; ";
  }
  return s;
}

}  // namespace

TEST_CASE("simulated SNP platform: trusted only by name, never as AMD") {
  SimFixture sim;
  auto ev = sim.evidence();
  const Bytes sim_ark = sim.certs(evidence::sim_snp_ark_file(sim.dir.string()))[0].fingerprint_sha256();
  for (auto p : {snp::Product::kMilan, snp::Product::kGenoa, snp::Product::kTurin}) CHECK(sim_ark != verify::pinned_ark_fingerprint(p));
  CHECK(sim_ark.size() == verify::pinned_hrk_fingerprint().size());
  CHECK(sim_ark != verify::pinned_hrk_fingerprint());

  auto untrusted = verify::verify_snp(ev);
  CHECK_FALSE(untrusted.passed);
  CHECK(fails(untrusted) == "snp.ark_pinned; ");

  ev.simulated_roots.push_back(sim_ark);
  auto trusted = verify::verify_snp(ev);
  CHECK_MESSAGE(trusted.passed, fails(trusted));
  CHECK(trusted.simulated);

  SUBCASE("a simulated ASK and VCEK offered under AMD's genuine ARK are rejected, even after the sim chain was cached") {
    auto dir = test::require_vectors("snp");
    auto amd = sim.evidence();  // verify_snp above has cached (sim ARK, sim ASK) in this process
    amd.ca.clear();
    for (auto& c : sim.certs(evidence::sim_snp_chain_file(sim.dir.string()))) {
      if (c.subject_common_name() == "SEV-Milan") amd.ca.push_back(std::move(c));  // simulated ASK
    }
    for (auto& c : sim.certs((dir / "ca/ark_milan.pem").string())) amd.ca.push_back(std::move(c));  // AMD's real ARK
    auto v = verify::verify_snp(amd);
    CHECK_FALSE(v.passed);
    CHECK_FALSE(v.simulated);
    CHECK(fails(v) == "snp.intermediate; ");  // its issuer is the simulated ARK, whatever the CN says
  }
  SUBCASE("a root that does not call itself SIMULATED cannot enter through the simulated list") {
    auto dir = test::require_vectors("snp");
    auto other = sim.evidence();
    other.ca = sim.certs((dir / "ca/kds_cert_chain/ask_ark_genoa.pem").string());
    other.simulated_roots = {other.ca[1].fingerprint_sha256()};
    CHECK_FALSE(verify::verify_snp(other).passed);
  }
}

TEST_CASE("simulated CSV platform: trusted only by name and marker, never as Hygon") {
  const fs::path dir = fs::temp_directory_path() / ("cci-sim-csv-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  REQUIRE(sim::init_csv_sim(dir.string(), {}));
  sim::CsvReportRequest req;
  req.report_data.assign(64, 7);
  auto page = sim::csv_sim_report(dir.string(), req);
  REQUIRE_MESSAGE(page, page.error().message);
  verify::CsvInputs in;
  auto ev = csv::extract_evidence(*page);
  REQUIRE(ev);
  in.evidence = std::move(*ev);
  in.hrk = test::slurp(evidence::sim_csv_hrk_file(dir.string()));
  in.hsk_cek = test::slurp(evidence::sim_csv_hsk_cek_file(dir.string()));
  in.hsk_cek_source = "the test";
  const Bytes fp = crypto::digest(crypto::DigestAlg::kSha256, *in.hrk);
  CHECK(fp != verify::pinned_hrk_fingerprint());
  for (auto p : {snp::Product::kMilan, snp::Product::kGenoa, snp::Product::kTurin}) CHECK(fp != verify::pinned_ark_fingerprint(p));
  CHECK(csv::has_simulated_marker(*in.hrk));
  auto untrusted = verify::verify_csv(in);
  CHECK_FALSE(untrusted.passed);
  CHECK_FALSE(untrusted.simulated);
  in.simulated_roots.push_back(fp);
  auto trusted = verify::verify_csv(in);
  CHECK(trusted.passed);
  CHECK(trusted.simulated);
  SUBCASE("a root without the simulator's marker cannot enter through the simulated list") {
    auto vec = test::require_vectors("csv");
    in.hrk = test::slurp(vec / "derived/hygon_hrk.flip_qx.cert");
    in.simulated_roots = {crypto::digest(crypto::DigestAlg::kSha256, *in.hrk)};
    auto v = verify::verify_csv(in);
    CHECK_FALSE(v.passed);
    CHECK_FALSE(v.simulated);
  }
  fs::remove_all(dir);
}
