// The SNP policy layer on decoded genuine reports: secure defaults, every finding returned,
// component-wise TCB minimums, unknown platform-info bits never failing on their own.
#include <doctest/doctest.h>

#include "base/hex.h"
#include "manifest/deployment.h"
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
