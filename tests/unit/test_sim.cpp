// The SEV-SNP simulator against the real verifier: accepted only through an explicitly trusted
// simulated root, never through AMD's pinned fingerprints, and a simulated intermediate never
// rides on the pinned ARK (even after the simulated chain was verified in the same process).
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <functional>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "cli/inputs.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/x509_issue.h"
#include "policy/snp_policy.h"
#include "policy/tdx_policy.h"
#include "sim/csv_sim.h"
#include "sim/snp_sim.h"
#include "sim/tdx_sim.h"
#include "snp/report.h"
#include "snp/vek.h"
#include "support/vectors.h"
#include "verify/csv_verify.h"
#include "verify/snp_verify.h"
#include "verify/tdx_verify.h"
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

// The simulated TDX platform's PCS collateral, the six files read_tdx_collateral reads.
verify::TdxCollateral sim_tdx_collateral(const fs::path& dir) {
  const std::string col = evidence::sim_tdx_collateral_dir(dir.string());
  auto text = [](const fs::path& f) {
    const Bytes b = test::slurp(f);
    return std::string(b.begin(), b.end());
  };
  verify::TdxCollateral k;
  k.tcb_info = test::slurp(col + "/tcb_info.json");
  k.qe_identity = test::slurp(col + "/qe_identity.json");
  k.tcb_info_issuer_chain_pem = text(col + "/tcb_info_issuer_chain.pem");
  k.qe_identity_issuer_chain_pem = text(col + "/qe_identity_issuer_chain.pem");
  k.pck_crl = test::slurp(col + "/pck_crl.der");
  k.root_ca_crl = test::slurp(col + "/root_ca_crl.der");
  return k;
}

// The detail of the failed check with this id, or "" when it did not fail.
std::string failed_detail(const verify::CheckList& l, const std::string& id) {
  for (const auto& c : l.items()) {
    if (c.id == id && c.outcome == verify::Outcome::kFail) return c.detail;
  }
  return std::string();
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
  REQUIRE_MESSAGE(ev, ev.error().message);
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

TEST_CASE("simulated TDX platform: trusted only by name, its collateral checked like Intel's, never Intel's") {
  const fs::path dir = fs::temp_directory_path() / ("cci-sim-tdx-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  sim::TdxPlatform p;
  p.guest.mr_td.assign(48, 0xcd);
  REQUIRE(sim::init_tdx_sim(dir.string(), p));
  const verify::TdxCollateral k = sim_tdx_collateral(dir);
  auto root = crypto::Certificate::from_pem(test::slurp(evidence::sim_tdx_root_file(dir.string())));
  REQUIRE(root);
  CHECK(root->fingerprint_sha256() != verify::pinned_intel_sgx_root_fingerprint());

  for (unsigned version : {4u, 5u}) {
    CAPTURE(version);
    sim::TdxQuoteRequest req;
    req.report_data.assign(64, 0x42);
    req.version = version;
    auto quote = sim::tdx_sim_quote(dir.string(), req);
    REQUIRE_MESSAGE(quote, quote.error().message);
    auto parsed = tdx::parse_quote(*quote);
    REQUIRE(parsed);
    CHECK(parsed->version == version);
    CHECK(parsed->body_type == (version == 4 ? tdx::BodyType::kTd10 : tdx::BodyType::kTd15));
    CHECK(Bytes(parsed->body.mr_td.begin(), parsed->body.mr_td.end()) == p.guest.mr_td);
    CHECK(parsed->body.report_data[63] == 0x42);
    CHECK_FALSE(parsed->body.debug());

    verify::TdxEvidence ev;
    ev.quote = *quote;
    ev.at = std::time(nullptr);
    ev.collateral = &k;
    auto untrusted = verify::verify_tdx_quote(ev);
    CHECK_FALSE(untrusted.passed);
    CHECK_FALSE(untrusted.simulated);
    ev.simulated_roots.push_back(root->clone());
    auto trusted = verify::verify_tdx_quote(ev);
    for (const auto& c : trusted.checks.items()) CHECK_MESSAGE(c.outcome != verify::Outcome::kFail, (c.id + ": " + c.detail));
    CHECK(trusted.passed);
    CHECK(trusted.simulated);
    REQUIRE(trusted.tcb);
    CHECK(trusted.tcb->status == "UpToDate");
    CHECK(trusted.tcb->evaluation_data_number == p.tcb_evaluation_number);
  }
  SUBCASE("a debug TD says so in TD_ATTRIBUTES") {
    sim::TdxQuoteRequest req;
    req.debug = true;
    auto quote = sim::tdx_sim_quote(dir.string(), req);
    REQUIRE(quote);
    CHECK(tdx::parse_quote(*quote)->body.debug());
  }
  SUBCASE("the simulator's collateral never vouches for a genuine quote, even with its root trusted") {
    const Bytes genuine = test::slurp(test::require_vectors("tdx") / "quotes/dcapqvl_b0c06f_v4_sample.dat");
    verify::TdxEvidence ev;
    ev.quote = genuine;
    ev.at = std::time(nullptr);
    ev.collateral = &k;
    ev.simulated_roots.push_back(root->clone());
    auto v = verify::verify_tdx_quote(ev);
    CHECK_FALSE(v.passed);
    CHECK_FALSE(v.simulated);
  }
  SUBCASE("a PCK certificate listed by the PCK CRL, or a PCK CA listed by the root CA CRL, is refused") {
    auto pem_of = [&](const char* f) { return test::slurp(dir / "intel" / f); };
    auto ca = crypto::Certificate::from_pem(pem_of("pck_ca.pem"));
    auto ca_key = crypto::load_private_key_pem(pem_of("pck_ca.key"), std::nullopt);
    auto root_key = crypto::load_private_key_pem(pem_of("root.key"), std::nullopt);
    REQUIRE(ca);
    REQUIRE(ca_key);
    REQUIRE(root_key);
    sim::TdxQuoteRequest req;
    auto quote = sim::tdx_sim_quote(dir.string(), req);
    REQUIRE(quote);
    const std::time_t now = std::time(nullptr);
    auto verdict = [&](const verify::TdxCollateral& collateral) {
      verify::TdxEvidence ev;
      ev.quote = *quote;
      ev.at = now;
      ev.collateral = &collateral;
      ev.simulated_roots.push_back(root->clone());
      return verify::verify_tdx_quote(ev);
    };
    REQUIRE(verdict(k).passed);
    // The simulator's serials: the PCK certificate 0x5100, the PCK Platform CA 2.
    auto pck_crl = crypto::issue_crl({now - 60, now + 86400, {7, 0x5100}}, *ca_key, *ca, crypto::IssueSignature::kEcdsaSha256);
    REQUIRE(pck_crl);
    verify::TdxCollateral revoked_pck = k;
    revoked_pck.pck_crl = pck_crl->der();
    const auto v1 = verdict(revoked_pck);
    CHECK_FALSE(v1.passed);
    CHECK(failed_detail(v1.checks, "tdx.pck_revocation").find("PCK certificate is revoked") != std::string::npos);
    auto root_crl = crypto::issue_crl({now - 60, now + 86400, {2}}, *root_key, *root, crypto::IssueSignature::kEcdsaSha256);
    REQUIRE(root_crl);
    verify::TdxCollateral revoked_ca = k;
    revoked_ca.root_ca_crl = root_crl->der();
    const auto v2 = verdict(revoked_ca);
    CHECK_FALSE(v2.passed);
    CHECK(failed_detail(v2.checks, "tdx.pck_revocation").find("PCK CA is revoked") != std::string::npos);
  }
  SUBCASE("bad requests and keys others can read are refused") {
    sim::TdxQuoteRequest req;
    req.report_data.assign(63, 0);
    CHECK(sim::tdx_sim_quote(dir.string(), req).error().field == "report_data");
    req.report_data.assign(64, 0);
    req.version = 3;
    CHECK(sim::tdx_sim_quote(dir.string(), req).error().field == "version");
    req.version = 4;
    fs::permissions(dir / "intel/attestation.key", fs::perms::group_read, fs::perm_options::add);
    CHECK_FALSE(sim::tdx_sim_quote(dir.string(), req));
    CHECK(sim::init_tdx_sim(dir.string(), p).error().code == ErrorCode::kInvalidInput);  // never overwritten
  }
  fs::remove_all(dir);
}

TEST_CASE("simulated TDX platform: a QE or TDX module that is not the one TCB Info and QE Identity name is refused, and so is an Azure HCL report the quote does not bind") {
  const fs::path dir = fs::temp_directory_path() / ("cci-sim-tdx-id-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  REQUIRE(sim::init_tdx_sim(dir.string(), sim::TdxPlatform{}));
  const verify::TdxCollateral k = sim_tdx_collateral(dir);
  auto root = crypto::Certificate::from_pem(test::slurp(evidence::sim_tdx_root_file(dir.string())));
  auto tcb_key = crypto::load_private_key_pem(test::slurp(dir / "intel/tcb_signing.key"), std::nullopt);
  REQUIRE(root);
  REQUIRE(tcb_key);
  // The PCS body {"KEY": VALUE, "signature": r||s hex} with VALUE edited and signed again by the
  // simulated TCB Signing key, so that only the edited field differs.
  auto resigned = [&](const Bytes& body, const char* key, const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = nlohmann::json::parse(body.begin(), body.end());
    edit(j[key]);
    const std::string value = j[key].dump();
    crypto::SignOptions o;
    o.digest = crypto::DigestAlg::kSha256;
    auto der = crypto::sign(*tcb_key, as_bytes(value), o);
    REQUIRE(der);
    auto rs = crypto::ecdsa_der_to_le_rs(*der, 32);
    REQUIRE(rs);
    Bytes sig(rs->first.rbegin(), rs->first.rend());
    sig.insert(sig.end(), rs->second.rbegin(), rs->second.rend());
    const std::string out = std::string("{\"") + key + "\":" + value + ",\"signature\":\"" + to_hex(sig) + "\"}";
    return Bytes(out.begin(), out.end());
  };
  sim::TdxQuoteRequest req;
  const std::string hcl = "{\"keys\":[],\"vm-configuration\":{}}";  // stands for Azure's HCL runtime data
  req.report_data = crypto::digest(crypto::DigestAlg::kSha256, as_bytes(hcl));
  req.report_data.resize(64, 0);
  auto quote = sim::tdx_sim_quote(dir.string(), req);
  REQUIRE(quote);
  auto verdict = [&](const verify::TdxCollateral& collateral, std::optional<ByteView> hcl_data = std::nullopt) {
    verify::TdxEvidence ev;
    ev.quote = *quote;
    ev.at = std::time(nullptr);
    ev.collateral = &collateral;
    ev.simulated_roots.push_back(root->clone());
    ev.azure_hcl_runtime_data = hcl_data;
    return verify::verify_tdx_quote(ev);
  };
  {
    const auto ok = verdict(k, as_bytes(hcl));
    for (const auto& c : ok.checks.items()) CHECK_MESSAGE(c.outcome != verify::Outcome::kFail, (c.id + ": " + c.detail));
    REQUIRE(ok.passed);
  }
  struct Case {
    const char* what;
    bool qe;  // QE Identity, else TCB Info
    std::function<void(nlohmann::json&)> edit;
    const char* check;
    const char* says;
  };
  const Case cases[] = {
      {"another QE signer", true, [](nlohmann::json& v) { v["mrsigner"] = std::string(64, '0'); }, "tdx.qe_identity_match", "MRSIGNER"},
      {"another QE product", true, [](nlohmann::json& v) { v["isvprodid"] = v["isvprodid"].get<int>() + 1; }, "tdx.qe_identity_match", "ISVPRODID"},
      {"a QE below every level", true, [](nlohmann::json& v) { for (auto& l : v["tcbLevels"]) l["tcb"]["isvsvn"] = 200; }, "tdx.qe_identity_match",
       "below every QE TCB level"},
      {"no identity for the module's major version", false, [](nlohmann::json& v) { for (auto& m : v["tdxModuleIdentities"]) m["id"] = "TDX_7F"; },
       "tdx.module_identity", "no TDX module identity TDX_01"},
      {"another module signer", false, [](nlohmann::json& v) { for (auto& m : v["tdxModuleIdentities"]) m["mrsigner"] = std::string(96, '1'); },
       "tdx.module_identity", "MRSIGNERSEAM"},
      {"a module below every level", false,
       [](nlohmann::json& v) {
         for (auto& m : v["tdxModuleIdentities"]) {
           for (auto& l : m["tcbLevels"]) l["tcb"]["isvsvn"] = 200;
         }
       },
       "tdx.module_identity", "below every level"},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.what));
    verify::TdxCollateral edited = k;
    if (c.qe) edited.qe_identity = resigned(k.qe_identity, "enclaveIdentity", c.edit);
    else edited.tcb_info = resigned(k.tcb_info, "tcbInfo", c.edit);
    const auto v = verdict(edited);
    CHECK_FALSE(v.passed);
    CHECK(failed_detail(v.checks, c.check).find(c.says) != std::string::npos);
  }
  // The policy over a quote whose TCB level Intel rates OutOfDate: refused unless the policy
  // accepts that status by name; Revoked never, even when listed; REPORT_DATA compared exactly.
  {
    verify::TdxCollateral out_of_date = k;
    out_of_date.tcb_info = resigned(k.tcb_info, "tcbInfo", [](nlohmann::json& v) {
      for (auto& l : v["tcbLevels"]) l["tcbStatus"] = "OutOfDate";
    });
    const auto v = verdict(out_of_date);
    REQUIRE(v.passed);
    REQUIRE(v.verified);
    REQUIRE(v.tcb);
    CHECK(v.tcb->status == "OutOfDate");
    policy::TdxExpectations ex;
    ex.insecure_any_measurement = true;
    auto outcome = [](const verify::CheckList& l, const std::string& id) {
      for (const auto& c : l.items()) {
        if (c.id == id) return std::string(verify::outcome_name(c.outcome));
      }
      return std::string();
    };
    nlohmann::json p = policy::default_policy();
    CHECK(outcome(policy::evaluate_tdx_policy(p, *v.verified, *v.tcb, ex), "policy.tcb_status") == "fail");
    p["tdx_accept_tcb_status"] = nlohmann::json::array({"OutOfDate"});
    CHECK(outcome(policy::evaluate_tdx_policy(p, *v.verified, *v.tcb, ex), "policy.tcb_status") == "pass");
    verify::TdxTcbVerdict revoked = *v.tcb;
    revoked.status = "Revoked";
    p["tdx_accept_tcb_status"] = nlohmann::json::array({"OutOfDate", "Revoked"});  // the YAML reader refuses this; the evaluator too
    CHECK(outcome(policy::evaluate_tdx_policy(p, *v.verified, revoked, ex), "policy.tcb_status") == "fail");
    ex.report_data = req.report_data;
    CHECK(outcome(policy::evaluate_tdx_policy(p, *v.verified, *v.tcb, ex), "policy.report_data") == "pass");
    ex.report_data->back() ^= 1;
    CHECK(outcome(policy::evaluate_tdx_policy(p, *v.verified, *v.tcb, ex), "policy.report_data") == "fail");
    // A CC event log that does not replay (truncated, malformed) is a failed finding, not a skipped one.
    ex.replayed = Result<std::array<tdx::Hash48, 4>>(make_error(ErrorCode::kMalformed, "the log ends inside an event", "event_log"));
    CHECK(outcome(policy::evaluate_tdx_policy(p, *v.verified, *v.tcb, ex), "policy.event_log") == "fail");
  }
  const std::string other = "{\"keys\":[{\"kid\":\"another VM\"}],\"vm-configuration\":{}}";
  const auto v = verdict(k, as_bytes(other));
  CHECK_FALSE(v.passed);
  CHECK(failed_detail(v.checks, "tdx.azure_hcl_binding").find("not this TD's") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("simulated SEV-SNP platform: a VCEK without a hwID, and a VLEK that carries one, are refused on snp.vek_hwid") {
  // Certificates the simulated AMD keys sign, as a KDS that got the profile wrong would issue
  // them: a VCEK that binds no chip, a VLEK (issued through an ASVK) that claims one.
  SimFixture sim;
  const std::string amd = evidence::sim_amd_dir(sim.dir.string());
  auto key = [&](const char* name) {
    auto k = crypto::load_private_key_pem(test::slurp(amd + "/" + name), std::nullopt);
    REQUIRE_MESSAGE(k, k.error().message);
    return std::move(*k);
  };
  const crypto::PrivateKey ark_key = key("ark.key"), ask_key = key("ask.key"), vcek_key = key("vcek.key");
  const crypto::Certificate ark = std::move(sim.certs(evidence::sim_snp_ark_file(sim.dir.string()))[0]);
  std::vector<crypto::Certificate> chain = sim.certs(evidence::sim_snp_chain_file(sim.dir.string()));
  const auto ask_at = std::find_if(chain.begin(), chain.end(), [](const crypto::Certificate& c) { return c.subject_common_name() == "SEV-Milan"; });
  REQUIRE(ask_at != chain.end());
  const crypto::Certificate ask = std::move(*ask_at);
  const crypto::Certificate vcek = std::move(sim.certs(evidence::sim_snp_vcek_file(sim.dir.string()))[0]);
  const std::time_t now = std::time(nullptr);
  auto spec = [&](const std::string& cn, bool ca) {
    crypto::CertificateSpec s;
    s.subject = {{"OU", "cci SIMULATED TEE (not AMD)"}, {"O", "cci simulator"}, {"CN", cn}};
    s.serial = 0x20000 + cn.size();
    s.not_before = now - 3600;
    s.not_after = now + 86400;
    s.ca = ca;
    if (ca) {
      s.path_len = 0;
      s.key_usage = "critical,keyCertSign";
    }
    return s;
  };
  // The simulated VCEK's own extensions, all but hwID; then what the case adds.
  auto extensions = [&](std::vector<crypto::RawExtension> extra) {
    std::vector<crypto::RawExtension> out;
    for (const char* oid : {snp::kOidStructVersion, snp::kOidProductName, snp::kOidBlSpl, snp::kOidTeeSpl, snp::kOidSnpSpl, snp::kOidUcodeSpl}) {
      auto v = vcek.extension_value(oid);
      REQUIRE(v);
      REQUIRE(*v);
      out.push_back({oid, **v, false});
    }
    for (auto& e : extra) out.push_back(std::move(e));
    return out;
  };
  auto hw_id = vcek.extension_value(snp::kOidHwId);
  REQUIRE((hw_id && *hw_id));
  auto ev = sim.evidence();
  ev.simulated_roots.push_back(ark.fingerprint_sha256());
  REQUIRE(verify::verify_snp(ev).passed);

  SUBCASE("a VCEK without a hwID binds no chip") {
    auto s = spec("SEV-VCEK", false);
    s.extensions = extensions({});
    auto no_hwid = crypto::issue_certificate(s, vcek_key.public_key(), ask_key, &ask, crypto::IssueSignature::kRsaPssSha384);
    REQUIRE_MESSAGE(no_hwid, no_hwid.error().message);
    ev.vek = std::move(*no_hwid);
    auto r = verify::verify_snp(ev);
    CHECK_FALSE(r.passed);
    CHECK(failed_detail(r.checks, "snp.vek_hwid") == "the VCEK has no hwID extension");
  }
  SUBCASE("a VLEK is not bound to a chip, so it must not carry a hwID") {
    auto asvk = crypto::issue_certificate(spec("SEV-VLEK-Milan", true), ask_key.public_key(), ark_key, &ark, crypto::IssueSignature::kRsaPssSha384);
    REQUIRE_MESSAGE(asvk, asvk.error().message);
    const std::string csp = "cci-test-csp";
    Bytes csp_der{0x16, static_cast<std::uint8_t>(csp.size())};
    for (char c : csp) csp_der.push_back(static_cast<std::uint8_t>(c));
    auto vlek = [&](bool with_hwid) {
      auto s = spec("SEV-VLEK", false);
      std::vector<crypto::RawExtension> extra{{snp::kOidCspId, csp_der, false}};
      if (with_hwid) extra.push_back({snp::kOidHwId, **hw_id, false});
      s.extensions = extensions(extra);
      auto c = crypto::issue_certificate(s, vcek_key.public_key(), ask_key, &*asvk, crypto::IssueSignature::kRsaPssSha384);
      REQUIRE_MESSAGE(c, c.error().message);
      return std::move(*c);
    };
    // The report says SIGNING_KEY = VLEK (bits 4:2 of 0x48 = 1), signed again by the same key.
    Bytes& report = ev.input.report;
    report[0x048] = static_cast<std::uint8_t>((report[0x048] & ~0x1c) | (1 << 2));
    crypto::SignOptions o;
    o.digest = crypto::DigestAlg::kSha384;
    auto der = crypto::sign(vcek_key, ByteView(report).first(snp::kSignedSize), o);
    REQUIRE(der);
    auto rs = crypto::ecdsa_der_to_le_rs(*der, 48);
    REQUIRE(rs);
    std::fill(report.begin() + 0x2A0, report.begin() + 0x2A0 + 144, std::uint8_t{0});
    std::copy(rs->first.begin(), rs->first.end(), report.begin() + 0x2A0);
    std::copy(rs->second.begin(), rs->second.end(), report.begin() + 0x2E8);
    ev.ca.clear();
    ev.ca.push_back(asvk->clone());
    ev.ca.push_back(ark.clone());
    ev.vek = vlek(false);
    auto plain = verify::verify_snp(ev);
    CHECK_MESSAGE(plain.passed, fails(plain));  // the chain and report verify as a VLEK's
    ev.vek = vlek(true);
    auto r = verify::verify_snp(ev);
    CHECK_FALSE(r.passed);
    CHECK(failed_detail(r.checks, "snp.vek_hwid") == "a VLEK must not carry a hardware ID");
  }
}

TEST_CASE("simulated platforms: a platform.json number that is not an integer of its field's range is refused, never converted") {
  // nlohmann's get<std::uint8_t>() converts a double with a cast: 1e30 there would be undefined behaviour.
  test::TempDir tmp;
  auto edit = [](const std::string& file, const std::function<void(nlohmann::json&)>& change) {
    const Bytes b = test::slurp(file);
    nlohmann::json j = nlohmann::json::parse(b.begin(), b.end());
    change(j);
    test::write_text(file, j.dump());
  };
  const std::string snp = tmp.str("snp"), tdx = tmp.str("tdx"), csv = tmp.str("csv");
  REQUIRE(sim::init_snp_sim(snp, sim::default_snp_platform(snp::Product::kMilan)));
  REQUIRE(sim::snp_sim_report(snp, {}));
  const std::string snp_json = evidence::sim_amd_dir(snp) + "/platform.json";
  for (const nlohmann::json& bad : {nlohmann::json(1e30), nlohmann::json(256), nlohmann::json(-1), nlohmann::json(1.5), nlohmann::json("7")}) {
    CAPTURE(bad.dump());
    edit(snp_json, [&](nlohmann::json& j) { j["tcb"]["bootloader"] = bad; });
    auto r = sim::snp_sim_report(snp, {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("bootloader is not an integer in 0..255") != std::string::npos);
  }
  edit(snp_json, [](nlohmann::json& j) { j["tcb"]["bootloader"] = 3; j["firmware"]["build"] = 2.047e20; });
  CHECK(sim::snp_sim_report(snp, {}).error().message.find("build is not an integer in 0..255") != std::string::npos);

  sim::TdxPlatform p;
  p.guest.mr_td.assign(48, 0xcd);
  REQUIRE(sim::init_tdx_sim(tdx, p));
  REQUIRE(sim::tdx_sim_quote(tdx, {}));
  edit(evidence::sim_intel_dir(tdx) + "/platform.json", [](nlohmann::json& j) { j["pce_svn"] = 1.7e23; });
  auto q = sim::tdx_sim_quote(tdx, {});
  REQUIRE_FALSE(q);
  CHECK(q.error().message.find("pce_svn is not an integer in 0..65535") != std::string::npos);

  REQUIRE(sim::init_csv_sim(csv, {}));
  REQUIRE(sim::csv_sim_report(csv, {}));
  edit(evidence::sim_hygon_dir(csv) + "/platform.json", [](nlohmann::json& j) {
    REQUIRE(j.contains("guest"));  // init_csv_sim records the guest
    j["guest"]["policy"] = 4.5e9;
  });
  auto c = sim::csv_sim_report(csv, {});
  REQUIRE_FALSE(c);
  CHECK(c.error().message.find("bad guest") != std::string::npos);
}
