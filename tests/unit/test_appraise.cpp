// The appraisal pipeline (common/appraise) on genuine vectors: one call per verdict for both
// vendors, the outcome (accepted, rejected, missing collateral) decided without looking at check
// names, collateral asked of a CollateralSource (a test double here), flags of another vendor
// refused, and the report decoded by the vendor that recognises it.
#include <doctest/doctest.h>

#include <unistd.h>

#include <ctime>
#include <filesystem>

#include "appraise/appraise.h"
#include "appraise/composite.h"
#include "crypto/digest.h"
#include "evidence/evidence_file.h"
#include "ratls/fresh.h"
#include "sim/nvgpu_sim.h"
#include "base/hex.h"
#include "cli/inputs.h"
#include "support/vectors.h"

using namespace cci;
using namespace cci::appraise;

namespace {

constexpr char kTavMeasurement[] = "5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f98189887920ab2fa0096903a0c23fca1";

Request milan_v3(const std::filesystem::path& snp) {
  Request r;
  r.evidence = test::slurp(snp / "milan/tav_milan_v3_report.bin");
  r.label = "tav_milan_v3_report.bin";
  r.at = *cli::parse_time("2026-06-01");
  r.crl_required = false;
  r.given.cert_chain = {(snp / "ca/kds_cert_chain/ask_ark_milan.pem").string()};
  r.expect.measurements["snp"] = {*from_hex(kTavMeasurement, "m", 48)};
  return r;
}

// Hands out a VCEK from a file and counts what it was asked for.
class FileCollateral final : public CollateralSource {
 public:
  explicit FileCollateral(std::string vek) : vek_(std::move(vek)) {}
  std::optional<crypto::Certificate> snp_vek(const SnpKey& k, const Notes&) override {
    ++vek_asked;
    CHECK(k.product == snp::Product::kMilan);
    auto c = crypto::load_certificate_files({vek_});
    REQUIRE(c);
    return std::move((*c)[0]);
  }
  std::vector<crypto::Certificate> snp_chain(const SnpKey&, const Notes&) override { return {}; }
  std::optional<crypto::Crl> snp_crl(const SnpKey&, const Notes&) override { return std::nullopt; }
  std::optional<Bytes> csv_hrk(const Notes&) override { return std::nullopt; }
  std::optional<std::pair<Bytes, std::string>> csv_hsk_cek(const std::string&, const Notes&) override { return std::nullopt; }
  int vek_asked = 0;

 private:
  std::string vek_;
};

}  // namespace

TEST_CASE("appraise: a genuine SEV-SNP report is accepted with its expected measurement, from collateral a source supplies") {
  auto snp = test::require_vectors("snp");
  Request r = milan_v3(snp);
  NoCollateral none;
  auto missing = appraise::appraise(r, none);
  REQUIRE(missing);
  CHECK(missing->outcome == Outcome::kMissingCollateral);  // no VCEK anywhere
  CHECK_FALSE(missing->findings);
  FileCollateral source((snp / "milan/tav_milan_v3_vcek.pem").string());
  auto v = appraise::appraise(r, source);
  REQUIRE(v);
  CHECK(source.vek_asked == 1);
  CHECK(v->outcome == Outcome::kAccepted);
  CHECK(v->vendor == "amd");
  CHECK(v->tee_name == "SEV-SNP");
  CHECK(v->measurement_hex == kTavMeasurement);
  CHECK(v->report["measurement"] == kTavMeasurement);
  r.expect.measurements["snp"] = {Bytes(48, 0)};
  auto other = appraise::appraise(r, source);
  REQUIRE(other);
  CHECK(other->outcome == Outcome::kRejected);
  CHECK(other->authentic);
  r.expect.measurements.clear();
  auto unpinned = appraise::appraise(r, source);
  REQUIRE(unpinned);
  CHECK(unpinned->outcome == Outcome::kRejected);  // no expected measurement: never accepted by default
  r.expect.insecure_any_measurement = true;
  CHECK(appraise::appraise(r, source)->outcome == Outcome::kAccepted);
}

TEST_CASE("appraise: the Hygon CSV vector is recognised and verified with its HRK and HSK||CEK, SNP flags refused") {
  auto csv = test::require_vectors("csv");
  Request r;
  r.evidence = test::slurp(csv / "csvrs_NZA9T14052605_report_v1_raw.bin");
  r.label = "csv";
  r.given.hrk = (csv / "hygon_hrk.cert").string();
  r.given.hsk_cek = (csv / "csvrs_NZA9T14052605_hsk_cek.cert").string();
  r.expect.measurement_flags = {"1178dadbf826ec7a07444ba358376d81c312cb53d703f9da83b26c1eee2ea052"};
  r.expect.report_data = Bytes(64, 0);
  const std::string user_data = "user data";
  std::copy(user_data.begin(), user_data.end(), r.expect.report_data->begin());
  NoCollateral none;
  auto v = appraise::appraise(r, none);
  REQUIRE_MESSAGE(v, (v ? "" : v.error().message));
  CHECK(v->vendor == "hygon");
  CHECK(v->outcome == Outcome::kAccepted);
  r.given.vek = "any.der";
  auto refused = appraise::appraise(r, none);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::kUsage);
  r.given.vek.clear();
  r.given.hsk_cek.clear();
  auto missing = appraise::appraise(r, none);
  REQUIRE(missing);
  CHECK(missing->outcome == Outcome::kMissingCollateral);
}

TEST_CASE("appraise: an unknown --vendor, a measurement of the wrong size, and the decoder for each vendor") {
  auto snp = test::require_vectors("snp");
  Request r = milan_v3(snp);
  NoCollateral none;
  r.vendor = "intel";
  CHECK(appraise::appraise(r, none).error().code == ErrorCode::kUsage);
  r.vendor = "auto";
  r.expect.measurement_flags = {"00"};
  auto bad = appraise::appraise(r, none);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().field == "measurement");
  auto d = describe(test::slurp(snp / "milan/tav_milan_v3_report.bin"), std::nullopt);
  REQUIRE(d);
  CHECK(d->vendor == "amd");
  CHECK(d->report["measurement"] == kTavMeasurement);
  auto csv = test::require_vectors("csv");
  auto c = describe(test::slurp(csv / "csvrs_NZA9T14052605_report_v1_raw.bin"), std::nullopt);
  REQUIRE(c);
  CHECK(c->vendor == "hygon");
  CHECK(c->report["chip_id"] == "NZA9T14052605");
}

TEST_CASE("appraise: a cci.evidence.v1 file's TEE picks the appraiser, --vendor must agree, its certificates must parse, GPU flags only for GPU evidence") {
  auto snp = test::require_vectors("snp");
  const Bytes vek = test::slurp(snp / "milan/tav_milan_v3_vcek.pem");
  const Bytes chain = test::slurp(snp / "ca/kds_cert_chain/ask_ark_milan.pem");
  evidence::EvidenceFile f;
  f.tee = "snp";
  f.report = test::slurp(snp / "milan/tav_milan_v3_report.bin");
  f.vek_pem = std::string(vek.begin(), vek.end());
  f.cert_chain_pem = std::string(chain.begin(), chain.end());
  Request r = milan_v3(snp);
  r.given.cert_chain.clear();  // the file carries them
  auto with = [&](const evidence::EvidenceFile& e) {
    const std::string text = evidence::write_evidence_file(e);
    r.evidence.assign(text.begin(), text.end());
    NoCollateral none;
    return appraise::appraise(r, none);
  };
  auto v = with(f);
  REQUIRE_MESSAGE(v, v.error().message);
  CHECK(v->outcome == Outcome::kAccepted);  // the VCEK and chain from the file, nothing asked of a source
  CHECK(v->vendor == "amd");

  r.vendor = "intel";
  auto other_vendor = with(f);
  REQUIRE_FALSE(other_vendor);
  CHECK(other_vendor.error().field == "vendor");
  CHECK(other_vendor.error().message.find("--vendor intel, but this is SEV-SNP evidence") != std::string::npos);
  r.vendor = "hygon";
  CHECK(with(f).error().field == "vendor");
  r.vendor = "amd";
  CHECK(with(f));
  r.vendor = "auto";

  evidence::EvidenceFile bad = f;
  bad.vek_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  auto bad_vek = with(bad);
  REQUIRE_FALSE(bad_vek);
  CHECK(bad_vek.error().field == "vek");
  bad.vek_pem = "no PEM here";
  CHECK(with(bad).error().field == "vek");
  bad = f;
  bad.cert_chain_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  auto bad_chain = with(bad);
  REQUIRE_FALSE(bad_chain);
  CHECK(bad_chain.error().field == "cert_chain");

  r.label = "evidence.json";
  const std::string broken = "{\"schema\": \"cci.evidence.v1\", \"tee\": \"snp\"}";
  r.evidence.assign(broken.begin(), broken.end());
  NoCollateral none;
  auto unreadable = appraise::appraise(r, none);
  REQUIRE_FALSE(unreadable);
  CHECK(unreadable.error().message.rfind("evidence.json: ", 0) == 0);

  for (auto* flag : {&r.given.hrk, &r.given.hsk_cek, &r.given.tdx_collateral, &r.given.azure_hcl}) {
    *flag = "other-vendor.file";
    CHECK(with(f).error().field == "vendor");  // another TEE's collateral beside SEV-SNP evidence
    flag->clear();
  }
  r.given.gpu_driver_rims = {"driver-rim.xml"};
  auto gpu_flags = with(f);
  REQUIRE_FALSE(gpu_flags);
  CHECK(gpu_flags.error().field == "driver-rim");
  r.given.gpu_driver_rims.clear();
  r.given.gpu_ocsp = {"ocsp.der"};
  CHECK(with(f).error().field == "driver-rim");
}

namespace {

// A CPU verdict as an appraiser gives it: authentic, one finding that passed, and the CPU
// policy's not-applicable line for a GPU key.
Verdict accepted_cpu() {
  Verdict v;
  v.vendor = "amd";
  v.authentic = true;
  v.checks.add("snp.report_signature", true, "signed");
  v.findings = verify::CheckList();
  v.findings->add("policy.measurement", true, "listed");
  v.findings->skip("policy.gpu_count", "gpu_count applies to NVIDIA GPU evidence: not to an SEV-SNP report");
  v.outcome = Outcome::kAccepted;
  v.what = "SIMULATED Milan SEV-SNP report";
  return v;
}

std::string outcome_text(Outcome o) { return o == Outcome::kAccepted ? "accepted" : o == Outcome::kRejected ? "rejected" : "missing"; }

size_t count_id(const verify::CheckList& l, const std::string& id) {
  size_t n = 0;
  for (const auto& c : l.items()) n += c.id == id;
  return n;
}

}  // namespace

TEST_CASE("CPU + GPU: fresh GPU evidence is appraised with the derived nonce, replayed evidence and altered bytes are refused") {
  const auto dir = std::filesystem::temp_directory_path() / ("cci-gpu-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  REQUIRE(sim::init_nvgpu_sim(dir.string(), {}));
  const Bytes nonce(32, 0x11), exporter(32, 0x22), other_nonce(32, 0x33);
  const Bytes gpu_nonce = ratls::gpu_nonce(nonce, exporter);
  CHECK(gpu_nonce != ratls::gpu_nonce(other_nonce, exporter));
  CHECK(gpu_nonce != ratls::gpu_nonce(nonce, other_nonce));
  auto fresh_gpu = sim::nvgpu_sim_evidence(dir.string(), gpu_nonce, 1);
  auto replayed = sim::nvgpu_sim_evidence(dir.string(), ratls::gpu_nonce(other_nonce, exporter), 1);
  REQUIRE(fresh_gpu);
  REQUIRE(replayed);

  // The binding: the claims name exactly the bytes sent.
  ratls::Claims claims;
  claims.nonce = nonce;
  claims.exporter = exporter;
  CHECK_FALSE(ratls::check_gpu_binding(claims, *fresh_gpu));  // no cci-gpu claim
  claims.gpu_sha256 = crypto::digest(crypto::DigestAlg::kSha256, *fresh_gpu);
  CHECK(ratls::check_gpu_binding(claims, *fresh_gpu));
  Bytes altered = *fresh_gpu;
  altered[altered.size() / 2] ^= 1;
  CHECK_FALSE(ratls::check_gpu_binding(claims, altered));
  CHECK_FALSE(ratls::check_gpu_binding(claims, *replayed));

  Request cpu;
  cpu.label = "https://127.0.0.1:1";
  cpu.at = std::time(nullptr);
  cpu.crl_required = false;
  cpu.trust_sim_roots = {dir.string()};
  cpu.expect.measurement_flags = {std::string(96, 'a')};  // the CPU's: dropped for the GPU
  cpu.given.vek = "vcek.pem";                              // likewise
  FileCollateral none("");
  auto appraise_gpu = [&](const Bytes& ev) {
    auto v = appraise::appraise(fresh_gpu_request(cpu, ev, gpu_nonce), none);
    REQUIRE_MESSAGE(v, (v ? "" : v.error().message));
    return *v;
  };
  const Verdict good = appraise_gpu(*fresh_gpu);
  CHECK(good.outcome == Outcome::kAccepted);
  // GPU evidence appraised on its own: a CPU flag is refused, never silently ignored.
  Request direct = fresh_gpu_request(cpu, *fresh_gpu, gpu_nonce);
  REQUIRE(appraise::appraise(direct, none));
  direct.expect.measurement_flags = {std::string(96, 'a')};
  CHECK(appraise::appraise(direct, none).error().field == "measurement");
  direct.expect.measurement_flags.clear();
  direct.given.vek = "vcek.pem";
  CHECK(appraise::appraise(direct, none).error().field == "vendor");
  direct.given.vek.clear();
  // --report-data for a GPU: its nonce in the first half, zeros after; anything there is refused, not half-checked.
  REQUIRE(direct.expect.report_data);
  CHECK(*direct.expect.report_data == [&] { Bytes rd = gpu_nonce; rd.resize(64, 0); return rd; }());
  (*direct.expect.report_data)[40] = 1;
  CHECK(appraise::appraise(direct, none).error().field == "nonce");
  CHECK(good.simulated);
  CHECK(good.what.find("SIMULATED NVIDIA GPU evidence") != std::string::npos);

  // Evidence a server kept from another request (another nonce): the GPU's request nonce is not ours.
  const Verdict replay = appraise_gpu(*replayed);
  CHECK(replay.outcome == Outcome::kRejected);
  bool nonce_failed = false;
  for (const auto& c : replay.checks.items()) nonce_failed = nonce_failed || (c.id == "nvgpu.request_nonce" && c.outcome == verify::Outcome::kFail);
  CHECK(nonce_failed);

  const Json policy = Json{{"gpu_count", 1}};
  SUBCASE("composed: accepted only when both are, the GPU keys judged on the GPU evidence") {
    const Verdict both = compose_with_gpus(accepted_cpu(), good, policy);
    CHECK(outcome_text(both.outcome) == "accepted");
    CHECK(both.what == "SIMULATED Milan SEV-SNP report; " + good.what);
    CHECK(both.simulated);
    REQUIRE(both.findings);
    CHECK(count_id(*both.findings, "policy.gpu_count") == count_id(*good.findings, "policy.gpu_count"));
    CHECK(count_id(both.checks, "nvgpu.request_nonce") == 1);
    CHECK(outcome_text(compose_with_gpus(accepted_cpu(), replay, policy).outcome) == "rejected");
    // The CPU report's findings stay (found on a verified report); none from the unverified GPU's.
    const Verdict rejected = compose_with_gpus(accepted_cpu(), replay, policy);
    CHECK_FALSE(rejected.authentic);
    REQUIRE(rejected.findings);
    CHECK(count_id(*rejected.findings, "policy.gpu_mode") == 0);
    CHECK(count_id(*rejected.findings, "policy.gpu_count") == 0);
  }
  SUBCASE("composed: a CPU side that cannot be evaluated, or is rejected, decides") {
    Verdict missing = accepted_cpu();
    missing.authentic = false;
    missing.findings.reset();
    missing.outcome = Outcome::kMissingCollateral;
    CHECK(outcome_text(compose_with_gpus(missing, good, policy).outcome) == "missing");
    CHECK(outcome_text(compose_with_gpus(missing, replay, policy).outcome) == "rejected");
    Verdict rejected = accepted_cpu();
    rejected.findings->add("policy.min_tcb", false, "too old");
    rejected.outcome = Outcome::kRejected;
    CHECK(outcome_text(compose_with_gpus(rejected, good, policy).outcome) == "rejected");
  }
  SUBCASE("without GPU evidence: a policy that expects GPUs fails, one that does not leaves the CPU verdict") {
    const Verdict none_sent = compose_with_gpus(accepted_cpu(), std::nullopt, policy);
    CHECK(outcome_text(none_sent.outcome) == "rejected");
    REQUIRE(none_sent.findings);
    CHECK(count_id(*none_sent.findings, "policy.gpu_count") == 1);
    CHECK(outcome_text(compose_with_gpus(accepted_cpu(), std::nullopt, Json::object()).outcome) == "accepted");
    // A GPU key named on the command line failed on the CPU report: without GPU evidence it stays failed.
    Verdict named = accepted_cpu();
    named.findings->add("policy.gpu_min_driver_version", false, "gpu_min_driver_version was given on the command line, but it applies to NVIDIA GPU evidence only");
    named.outcome = Outcome::kRejected;
    const Verdict kept = compose_with_gpus(named, std::nullopt, Json{{"gpu_min_driver_version", "550"}});
    CHECK(outcome_text(kept.outcome) == "rejected");
    CHECK(count_id(*kept.findings, "policy.gpu_min_driver_version") == 1);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("nvidia RIM ids: built from a report's unverified fields, so never a path") {
  CHECK(collateral::valid_rim_id("NV_GPU_DRIVER_GH100_550.90.07"));
  CHECK(collateral::valid_rim_id("NV_GPU_VBIOS_1010_0200_882_96009F0001"));
  for (const char* bad : {"", "../x", "NV/GPU", ".hidden", "a b", "NV_GPU\n", "x%2e%2e"}) {
    CHECK_FALSE(collateral::valid_rim_id(bad));
  }
  collateral::RimCache cache("/nonexistent");
  CHECK_FALSE(cache.store("../../etc/x", as_bytes(std::string("<x/>"))));
  CHECK_FALSE(cache.rim("a/b"));
  collateral::RimFetchOptions o;
  o.base_url = "http://127.0.0.1:9";
  auto f = collateral::fetch_rim("../up", cache, o, [](ByteView) { return Status{}; });
  REQUIRE(f.error);
  CHECK(f.error->message.find("has characters no RIM id has") != std::string::npos);
}
