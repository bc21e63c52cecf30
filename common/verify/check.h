// One line of "the checks performed": every verifier returns all of them, in order.
#pragma once

#include <string>
#include <vector>

namespace cci::verify {

enum class Outcome { kPass, kFail, kSkip };
const char* outcome_name(Outcome o);  // "pass" | "fail" | "skip"

struct Check {
  std::string id;      // stable identifier, e.g. "snp.report_signature"
  Outcome outcome = Outcome::kSkip;
  std::string detail;  // what was compared, or why it failed / was skipped
  bool missing_collateral = false;  // failed only because a certificate or CRL was not at hand
  // For comparisons with an expected value (policy findings): both sides, as printed.
  std::string actual, expected;
};

class CheckList {
 public:
  bool add(std::string id, bool passed, std::string detail) {
    checks_.push_back({std::move(id), passed ? Outcome::kPass : Outcome::kFail, std::move(detail), false, {}, {}});
    return passed;
  }
  // A comparison: "WHAT ACTUAL as expected" when equal as printed, else "WHAT ACTUAL, expected
  // EXPECTED" (so every failed comparison shows both sides); `expected` may say "at least 3".
  bool compare(std::string id, bool passed, const std::string& what, std::string actual, std::string expected) {
    std::string detail = what + " " + actual;
    if (actual == expected) detail += " as expected";
    else detail += (passed ? " (expected " : ", expected ") + expected + (passed ? ")" : "");
    checks_.push_back({std::move(id), passed ? Outcome::kPass : Outcome::kFail, std::move(detail), false, std::move(actual),
                       std::move(expected)});
    return passed;
  }
  void skip(std::string id, std::string why) { checks_.push_back({std::move(id), Outcome::kSkip, std::move(why), false, {}, {}}); }
  // A failure for want of collateral (a VEK, a CRL, a root or an intermediate nobody supplied):
  // the evidence could not be evaluated, which is not the same as evidence that failed.
  bool missing(std::string id, std::string detail) {
    checks_.push_back({std::move(id), Outcome::kFail, std::move(detail), true, {}, {}});
    return false;
  }
  // True when something failed and every failure is only missing collateral.
  bool only_missing_collateral() const {
    bool any = false;
    for (const auto& c : checks_) {
      if (c.outcome != Outcome::kFail) continue;
      if (!c.missing_collateral) return false;
      any = true;
    }
    return any;
  }
  bool all_passed() const {
    for (const auto& c : checks_) {
      if (c.outcome == Outcome::kFail) return false;
    }
    return !checks_.empty();
  }
  const std::vector<Check>& items() const { return checks_; }
  void push(const Check& c) { checks_.push_back(c); }
  void append(const CheckList& more) { checks_.insert(checks_.end(), more.checks_.begin(), more.checks_.end()); }

 private:
  std::vector<Check> checks_;
};

}  // namespace cci::verify
