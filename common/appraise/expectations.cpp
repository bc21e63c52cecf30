#include "appraise/expectations.h"

#include "base/hex.h"
#include "policy/policy_keys.h"

namespace cci::appraise {

namespace {

// A TDX launch entry's RTMR0-3 and MRCONFIGID, kept with its MRTD.
Status add_tdx_reference(const Json& l, const Bytes& mr_td, const std::string& label, Expectations& e) {
  policy::TdxReference r;
  r.mr_td = mr_td;
  if (l.contains("rtmrs")) {
    const Json& a = l["rtmrs"];
    if (!a.is_array() || a.size() != 4) return make_error(ErrorCode::kMalformed, label + ": rtmrs is not four registers", "rtmrs");
    std::array<Bytes, 4> regs;
    for (size_t i = 0; i < 4; ++i) {
      auto b = a[i].is_string() ? from_hex(a[i].get<std::string>(), "rtmrs", 48) : Result<Bytes>(make_error(ErrorCode::kMalformed, "not a string", "rtmrs"));
      if (!b) return make_error(ErrorCode::kMalformed, label + ": rtmrs[" + std::to_string(i) + "]: " + b.error().message, "rtmrs");
      regs[i] = std::move(*b);
    }
    r.rtmrs = std::move(regs);
  }
  if (l.contains("mr_config_id")) {
    auto b = l["mr_config_id"].is_string() ? from_hex(l["mr_config_id"].get<std::string>(), "mr_config_id", 48)
                                           : Result<Bytes>(make_error(ErrorCode::kMalformed, "not a string", "mr_config_id"));
    if (!b) return make_error(ErrorCode::kMalformed, label + ": mr_config_id: " + b.error().message, "mr_config_id");
    r.mr_config_id = std::move(*b);
  }
  e.tdx_references.push_back(std::move(r));
  return {};
}

}  // namespace

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
      if (l["platform"] == "tdx") CCI_TRY(add_tdx_reference(l, *b, label, e));
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
