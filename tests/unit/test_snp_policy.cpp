// The SNP policy layer on decoded genuine reports: secure defaults, every finding returned,
// component-wise TCB minimums, unknown platform-info bits never failing on their own.
#include <doctest/doctest.h>

#include "base/hex.h"
#include "manifest/deployment.h"
#include "policy/policy_keys.h"
#include "policy/snp_policy.h"
#include "support/verified_for_tests.h"
#include "support/vectors.h"

using namespace cci;
using namespace cci::policy;

namespace {

// A genuine report, parsed; its signature is checked by the verify tests.
verify::Verified<snp::Report> load(const std::string& rel) {
  auto dir = test::require_vectors("snp");
  auto in = snp::extract_report(test::slurp(dir / rel));
  REQUIRE(in);
  auto r = snp::parse_report(in->report);
  REQUIRE(r);
  return verify::VerifiedForTests::make(std::move(*r));
}

std::vector<std::string> failed(const verify::CheckList& l) {
  std::vector<std::string> out;
  for (const auto& c : l.items()) {
    if (c.outcome == verify::Outcome::kFail) out.push_back(c.id);
  }
  return out;
}

Json policy_from(const std::string& yaml) {
  auto p = manifest::parse_policy_yaml(yaml, "p.yaml");
  REQUIRE_MESSAGE(p, (p ? "" : p.error().message));
  return *p;
}

// The expectations of a caller who named --insecure-any-measurement (the tests below look at
// other findings).
Expectations any_image() {
  Expectations e;
  e.insecure_any_measurement = true;
  return e;
}

}  // namespace

TEST_CASE("no expected measurement fails the verdict unless any image is accepted by name") {
  auto tav = load("milan/tav_milan_v3_report.bin");
  auto l = evaluate_snp_policy(default_policy(), tav, snp::Product::kMilan, false, Expectations{});
  CHECK(failed(l) == std::vector<std::string>{"policy.measurement"});
  CHECK_FALSE(l.all_passed());
  bool says_what_to_give = false;
  for (const auto& c : l.items()) says_what_to_give |= c.id == "policy.measurement" && c.detail.find("--insecure-any-measurement") != std::string::npos;
  CHECK(says_what_to_give);
  auto accepted = evaluate_snp_policy(default_policy(), tav, snp::Product::kMilan, false, any_image());
  CHECK(accepted.all_passed());
  bool skipped = false;
  for (const auto& c : accepted.items()) skipped |= c.id == "policy.measurement" && c.outcome == verify::Outcome::kSkip;
  CHECK(skipped);
}

TEST_CASE("the default policy refuses debug and VLEK, and accepts an ordinary guest") {
  auto gsg = load("milan/gsg_milan_v2_report.bin");
  CHECK(failed(evaluate_snp_policy(default_policy(), gsg, snp::Product::kMilan, false, any_image())) ==
        std::vector<std::string>{"policy.debug"});
  auto vlek = load("vlek/trustee_milan_v3_vlek_report.bin");
  CHECK(failed(evaluate_snp_policy(default_policy(), vlek, snp::Product::kMilan, true, any_image())) ==
        std::vector<std::string>{"policy.vlek"});
  auto tav = load("milan/tav_milan_v3_report.bin");
  CHECK(evaluate_snp_policy(default_policy(), tav, snp::Product::kMilan, false, any_image()).all_passed());
}

TEST_CASE("every finding is returned, not just the first") {
  auto tav = load("milan/tav_milan_v3_report.bin");
  Json p = policy_from(
      "min_tcb: {bootloader: 5, snp: 25, microcode: 220}\nmin_firmware: \"1.56\"\nmax_vmpl: 0\nmin_guest_svn: 3\n"
      "platform_info_forbidden: [0]\nhost_data: \"" + std::string(64, '0') + "\"\n");
  Expectations ex;
  ex.measurements.push_back(Bytes(48, 0));
  ex.report_data = Bytes(64, 1);
  auto f = failed(evaluate_snp_policy(p, tav, snp::Product::kMilan, false, ex));
  for (const char* id : {"policy.min_tcb", "policy.min_firmware", "policy.guest_svn", "policy.platform_info_forbidden",
                         "policy.host_data", "policy.measurement", "policy.report_data"}) {
    std::string id_text = id;
    CAPTURE(id_text);
    CHECK(std::find(f.begin(), f.end(), id) != f.end());
  }
  CHECK(std::find(f.begin(), f.end(), "policy.vmpl") == f.end());  // VMPL 0
}

TEST_CASE("TCB minimums use the product layout, Turin's fmc counts") {
  auto turin = load("turin/tav_turin_v5_report.bin");
  CHECK(evaluate_snp_policy(policy_from("min_tcb: {fmc: 1, snp: 4, microcode: 81}\n"), turin, snp::Product::kTurin, false, any_image())
            .all_passed());
  CHECK(failed(evaluate_snp_policy(policy_from("min_tcb: {fmc: 2}\n"), turin, snp::Product::kTurin, false, any_image())) ==
        std::vector<std::string>{"policy.min_tcb"});
  // PLATFORM_INFO 0x65 has bit 6 (IOMMU_WRITE_SAFE), unknown to older verifiers: not a failure.
  CHECK(evaluate_snp_policy(policy_from("platform_info_required: [0, 2, 5]\n"), turin, snp::Product::kTurin, false, any_image())
            .all_passed());
  CHECK(evaluate_snp_policy(policy_from("required_mitigations: [0, 1]\n"), turin, snp::Product::kTurin, false, any_image()).all_passed());
  auto v3 = load("milan/tav_milan_v3_report.bin");
  CHECK(failed(evaluate_snp_policy(policy_from("required_mitigations: [0]\n"), v3, snp::Product::kMilan, false, any_image())) ==
        std::vector<std::string>{"policy.mitigations"});  // v3 reports have no mitigation vector
}

TEST_CASE("the expected measurement and REPORT_DATA are matched exactly") {
  auto tav = load("milan/tav_milan_v3_report.bin");
  Expectations ex;
  ex.measurements = {Bytes(48, 7), tav->measurement};
  ex.report_data = Bytes(64, 0);
  CHECK(evaluate_snp_policy(default_policy(), tav, snp::Product::kMilan, false, ex).all_passed());
}

namespace {

const FieldFlag& flag(const std::string& name) {
  for (const auto& f : field_flags()) {
    if (name == f.flag) return f;
  }
  FAIL("no flag " << name);
  return field_flags().front();
}

// The failed findings, each of which must show the expected value beside the actual one.
std::vector<std::string> failed_with_expected(const verify::CheckList& l) {
  std::vector<std::string> out;
  for (const auto& c : l.items()) {
    if (c.outcome != verify::Outcome::kFail) continue;
    CAPTURE(c.detail);
    CHECK(c.detail.find(", expected ") != std::string::npos);
    CHECK_FALSE(c.expected.empty());
    out.push_back(c.id);
  }
  return out;
}

}  // namespace

TEST_CASE("field flags set one policy key each, in the form the YAML reader writes") {
  Json p = policy_from("min_tcb: {snp: 8}\nhost_data: \"" + std::string(64, '1') + "\"\n");
  REQUIRE(set_policy_field(p, flag("--host-data"), "0x" + std::string(64, 'A')));
  CHECK(p["host_data"] == std::string(64, 'a'));
  CHECK(p["min_tcb"] == Json{{"snp", 8}});  // other keys stay
  REQUIRE(set_policy_field(p, flag("--min-tcb"), "bootloader=3,microcode=0x73"));
  CHECK(p["min_tcb"] == Json{{"bootloader", 3}, {"microcode", 115}});
  REQUIRE(set_policy_field(p, flag("--min-tcb"), "0xDB18000000000004"));
  CHECK_FALSE(p.contains("min_tcb"));  // one minimum, the last given
  CHECK(p["min_tcb_version"] == "db18000000000004");
  REQUIRE(set_policy_field(p, flag("--platform-info"), "37"));
  CHECK(p["platform_info"] == "25");
  REQUIRE(set_policy_field(p, flag("--vmpl"), "0"));
  CHECK(check_policy_json(p));
  // The same keys from YAML pass the same check.
  CHECK(check_policy_json(policy_from("vmpl: 0\nmin_build: 29\nplatform_info: 0x25\nmin_tcb_version: 0xdb18000000000004\n"
                                      "family_id: \"" + std::string(32, '0') + "\"\nchip_id: \"" + std::string(128, 'f') + "\"\n")));

  struct Bad { const char* flag; const char* value; };
  for (auto b : {Bad{"--host-data", "00"}, Bad{"--family-id", "000000000000000000000000000000000"}, Bad{"--vmpl", "4"}, Bad{"--min-build", "256"},
                 Bad{"--min-tcb", "snp=8,snp=9"}, Bad{"--min-tcb", "spl=8"}, Bad{"--min-tcb", "snp=256"}, Bad{"--min-firmware", "1"},
                 Bad{"--platform-info", "0xg"}, Bad{"--min-guest-svn", "-1"}}) {
    CAPTURE(std::string(b.flag) + " " + b.value);
    auto st = set_policy_field(p, flag(b.flag), b.value);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == ErrorCode::kUsage);
    CHECK(st.error().message.rfind(b.flag, 0) == 0);  // the message starts with the flag's name
  }
}

TEST_CASE("a signed policy with a value the evaluators cannot read is refused, naming the key") {
  auto refused = [](const Json& p, const std::string& key) {
    auto st = check_policy_json(p);
    REQUIRE_FALSE(st);
    CHECK(st.error().message.rfind("policy." + key + ":", 0) == 0);
  };
  refused(Json{{"max_vmpl", "0"}}, "max_vmpl");
  refused(Json{{"vmpl", 4}}, "vmpl");
  refused(Json{{"min_tcb", {{"snp", -1}}}}, "min_tcb");
  refused(Json{{"min_tcb", {{"spl", 1}}}}, "min_tcb");
  refused(Json{{"platform_info", "0x25"}}, "platform_info");
  refused(Json{{"host_data", std::string(62, '0')}}, "host_data");
  refused(Json{{"min_firmware", 1.55}}, "min_firmware");
  refused(Json{{"platform_info_required", {64}}}, "platform_info_required");
  refused(Json{{"allow_debug", "false"}}, "allow_debug");
  refused(Json{{"allow_debugg", false}}, "allow_debugg");
  CHECK(check_policy_json(default_policy()));
}

TEST_CASE("guest POLICY: SMT refused when the policy forbids it, SINGLE_SOCKET and a minimum ABI required when asked") {
  const snp::Report base = *load("milan/tav_milan_v3_report.bin");
  auto outcome = [](const snp::Report& rep, const std::string& yaml, const std::string& id) {
    const auto l = evaluate_snp_policy(policy_from(yaml), verify::VerifiedForTests::make(snp::Report(rep)), snp::Product::kMilan, false, any_image());
    for (const auto& c : l.items()) {
      if (c.id == id) return std::string(verify::outcome_name(c.outcome));
    }
    return std::string("absent");
  };
  snp::Report r = base;
  r.policy |= std::uint64_t{1} << 16;  // SMT allowed
  CHECK(outcome(r, "allow_smt: false\n", "policy.smt") == "fail");
  CHECK(outcome(r, "allow_smt: true\n", "policy.smt") == "absent");
  r.policy &= ~(std::uint64_t{1} << 16);
  CHECK(outcome(r, "allow_smt: false\n", "policy.smt") == "pass");
  r.policy &= ~(std::uint64_t{1} << 20);  // SINGLE_SOCKET not required by the guest
  CHECK(outcome(r, "require_single_socket: true\n", "policy.single_socket") == "fail");
  r.policy |= std::uint64_t{1} << 20;
  CHECK(outcome(r, "require_single_socket: true\n", "policy.single_socket") == "pass");
  r.policy = (r.policy & ~std::uint64_t{0xffff}) | (1u << 8) | 55u;  // ABI 1.55
  CHECK(outcome(r, "min_abi: \"1.51\"\n", "policy.min_abi") == "pass");
  CHECK(outcome(r, "min_abi: \"1.55\"\n", "policy.min_abi") == "pass");
  CHECK(outcome(r, "min_abi: \"1.56\"\n", "policy.min_abi") == "fail");
  CHECK(outcome(r, "min_abi: \"2.0\"\n", "policy.min_abi") == "fail");
}

TEST_CASE("go-sev-guest-style fields on a genuine report: exact values pass, others fail showing both sides") {
  auto tav = load("milan/tav_milan_v3_report.bin");
  Expectations ex;
  ex.measurements.push_back(tav->measurement);
  ex.report_data = tav->report_data;
  Json p = default_policy();
  const std::vector<std::pair<std::string, std::string>> right = {
      {"--host-data", to_hex(tav->host_data)},       {"--family-id", to_hex(tav->family_id)},
      {"--image-id", to_hex(tav->image_id)},         {"--id-key-digest", to_hex(tav->id_key_digest)},
      {"--author-key-digest", to_hex(tav->author_key_digest)}, {"--chip-id", to_hex(tav->chip_id)},
      {"--min-tcb", "0x" + to_hex_u64(tav->reported_tcb)}, {"--min-build", std::to_string(tav->current_build)},
      {"--min-guest-svn", std::to_string(tav->guest_svn)}, {"--platform-info", "0x" + to_hex_u64(tav->platform_info)},
      {"--vmpl", std::to_string(tav->vmpl)}};
  for (const auto& [f, v] : right) REQUIRE(set_policy_field(p, flag(f), v));
  CHECK(evaluate_snp_policy(p, tav, snp::Product::kMilan, false, ex).all_passed());

  auto flip = [](std::string hex) {
    hex.back() = hex.back() == '0' ? '1' : '0';
    return hex;
  };
  const std::vector<std::pair<std::string, std::string>> wrong = {
      {"--host-data", flip(to_hex(tav->host_data))},   {"--family-id", flip(to_hex(tav->family_id))},
      {"--image-id", flip(to_hex(tav->image_id))},     {"--id-key-digest", flip(to_hex(tav->id_key_digest))},
      {"--author-key-digest", flip(to_hex(tav->author_key_digest))}, {"--chip-id", flip(to_hex(tav->chip_id))},
      {"--min-tcb", "snp=" + std::to_string(snp::decode_tcb(tav->reported_tcb, snp::Product::kMilan).snp + 1)},
      {"--min-build", std::to_string(tav->current_build + 1)}, {"--min-guest-svn", std::to_string(tav->guest_svn + 1)},
      {"--platform-info", "0x" + to_hex_u64(tav->platform_info ^ 1)}, {"--vmpl", std::to_string((tav->vmpl + 1) % 4)}};
  p = default_policy();
  for (const auto& [f, v] : wrong) REQUIRE(set_policy_field(p, flag(f), v));
  ex.measurements = {Bytes(48, 0)};
  ex.report_data = Bytes(64, 1);
  auto f = failed_with_expected(evaluate_snp_policy(p, tav, snp::Product::kMilan, false, ex));
  CHECK(f == std::vector<std::string>{"policy.vmpl", "policy.guest_svn", "policy.min_tcb", "policy.min_build", "policy.platform_info",
                                      "policy.host_data", "policy.family_id", "policy.image_id", "policy.chip_id", "policy.id_key_digest",
                                      "policy.author_key_digest", "policy.measurement", "policy.report_data"});
  // The policy file's older findings show both sides too.
  failed_with_expected(evaluate_snp_policy(policy_from("min_firmware: \"9.0\"\nmin_abi: \"9.0\"\nmax_vmpl: 0\n"
                                                       "platform_info_forbidden: [0]\nrequire_single_socket: true\n"),
                                           tav, snp::Product::kMilan, false, any_image()));
}

TEST_CASE("the TDX policy keys: parsed from YAML, checked as JSON, refused when they name what no policy may accept") {
  Json p = policy_from("tdx_accept_tcb_status: [SWHardeningNeeded, OutOfDate]\nmin_tcb_evaluation_number: 17\n");
  CHECK(p["tdx_accept_tcb_status"] == Json::array({"SWHardeningNeeded", "OutOfDate"}));
  CHECK(p["min_tcb_evaluation_number"] == 17);
  CHECK(check_policy_json(p));
  CHECK_FALSE(manifest::parse_policy_yaml("tdx_accept_tcb_status: [Revoked]\n", "p.yaml"));
  CHECK_FALSE(manifest::parse_policy_yaml("tdx_accept_tcb_status: [UpToDate2]\n", "p.yaml"));
  CHECK_FALSE(manifest::parse_policy_yaml("min_tcb_evaluation_number: -1\n", "p.yaml"));
  Json bad = p;
  bad["tdx_accept_tcb_status"] = Json::array({"Revoked"});
  CHECK_FALSE(check_policy_json(bad));
  // On an SEV-SNP report the TDX keys are not applicable: listed as SKIP, never as passed.
  auto tav = load("milan/tav_milan_v3_report.bin");
  auto l = evaluate_snp_policy(p, tav, snp::Product::kMilan, false, any_image());
  int skipped = 0;
  for (const auto& c : l.items()) skipped += (c.id == "policy.min_tcb_evaluation_number" || c.id == "policy.tdx_accept_tcb_status") && c.outcome == verify::Outcome::kSkip;
  CHECK(skipped == 2);
}
