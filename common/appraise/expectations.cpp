#include "appraise/expectations.h"

#include "base/hex.h"
#include "policy/policy_keys.h"

namespace cci::appraise {

Status apply_deployment(const manifest::VerifiedManifest& m, const std::string& label, Expectations& e) {
  const Json& p = m.predicate;
  if (p.contains("policy")) {
    // Signed, but still input: a value the evaluators cannot read is an error here, not a crash there.
    if (auto st = policy::check_policy_json(p["policy"]); !st) {
      return make_error(ErrorCode::kMalformed, label + ": " + st.error().message, st.error().field);
    }
    e.policy = p["policy"];
  }
  e.policy_source = "deployment manifest " + label;
  if (!p.contains("images") || !p["images"].is_array()) return {};
  for (const auto& img : p["images"]) {
    if (!img.is_object() || !img.contains("launch_measurements") || !img["launch_measurements"].is_array()) continue;
    for (const auto& l : img["launch_measurements"]) {
      if (!l.is_object() || !l.contains("platform") || !l["platform"].is_string() || !l.contains("measurement") || !l["measurement"].is_string()) continue;
      auto b = from_hex(l["measurement"].get<std::string>(), "measurement");
      if (!b) return make_error(ErrorCode::kMalformed, label + ": " + b.error().message, "measurement");
      e.measurements[l["platform"].get<std::string>()].push_back(std::move(*b));
    }
  }
  return {};
}

Status apply_release(const manifest::Release& r, const std::string& label, Expectations& e) {
  if (r.deployment) return apply_deployment(*r.deployment, label, e);
  e.policy_source = "built-in default (the model bundle " + label + " names no VM)";
  return {};
}

}  // namespace cci::appraise
