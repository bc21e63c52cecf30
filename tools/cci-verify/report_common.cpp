#include "report_common.h"

#include "base/file_io.h"
#include "base/hex.h"
#include "cli/inputs.h"
#include "manifest/deployment.h"

namespace cci::tools::verify {
namespace {

// The launch measurements a deployment manifest lists for `platform`, and its policy.
Status apply_deployment(const manifest::VerifiedManifest& m, const std::string& label, const std::string& platform, PolicySetup& s) {
  if (m.predicate.contains("policy") && m.predicate["policy"].is_object()) s.policy = m.predicate["policy"];
  s.source = "deployment manifest " + label;
  if (!m.predicate.contains("images") || !m.predicate["images"].is_array()) return {};
  for (const auto& img : m.predicate["images"]) {
    if (!img.contains("launch_measurements") || !img["launch_measurements"].is_array()) continue;
    for (const auto& l : img["launch_measurements"]) {
      if (!l.is_object() || !l.contains("platform") || l["platform"] != platform || !l.contains("measurement") || !l["measurement"].is_string()) continue;
      auto b = from_hex(l["measurement"].get<std::string>(), "measurement");
      if (!b) return make_error(ErrorCode::kMalformed, label + ": " + b.error().message, "measurement");
      s.measurements.push_back(std::move(*b));
    }
  }
  return {};
}

Status add_manifest_expectations(const ReportOptions& o, const std::string& platform, PolicySetup& s) {
  if (o.release) {
    if (o.release->deployment) return apply_deployment(*o.release->deployment, o.release_label, platform, s);
    s.source = "built-in default (the model bundle " + o.release_label + " names no VM)";
    return {};
  }
  if (o.manifest.empty()) return {};
  if (o.manifest_key.empty()) return make_error(ErrorCode::kUsage, "--manifest needs --manifest-key PUB");
  auto key = cli::load_public_key_file(o.manifest_key);
  if (!key) return key.error();
  auto data = read_file(o.manifest, manifest::kMaxManifestBytes);
  if (!data) return data.error();
  auto m = manifest::verify_deployment_manifest(*data, *key);
  if (!m) return make_error(m.error().code, o.manifest + ": " + m.error().message, m.error().field);
  return apply_deployment(*m, o.manifest, platform, s);
}

Status add_report_data(const ReportOptions& o, PolicySetup& s) {
  if (!o.report_data.empty() && !o.nonce.empty()) return make_error(ErrorCode::kUsage, "give --report-data or --nonce, not both");
  if (!o.report_data.empty()) {
    auto b = from_hex(o.report_data, "--report-data", 64);
    if (!b) return make_error(ErrorCode::kUsage, b.error().message, "report-data");
    s.report_data = std::move(*b);
  }
  if (!o.nonce.empty()) {
    auto b = from_hex(o.nonce, "--nonce");
    if (!b || b->empty() || b->size() > 64) return make_error(ErrorCode::kUsage, "--nonce must be 1 to 64 bytes of hex", "nonce");
    b->resize(64, 0);  // REPORT_DATA = nonce, zero-padded
    s.report_data = std::move(*b);
  }
  return {};
}

cli::Json checks_json(const ::cci::verify::CheckList& list) {
  cli::Json out = cli::Json::array();
  for (const auto& c : list.items()) out.push_back({{"id", c.id}, {"status", ::cci::verify::outcome_name(c.outcome)}, {"detail", c.detail}});
  return out;
}

}  // namespace

std::string hex_u(std::uint64_t v) { return "0x" + to_hex_u64(v); }

Result<PolicySetup> policy_setup(const ReportOptions& o, const std::string& platform) {
  PolicySetup s;
  CCI_TRY(add_manifest_expectations(o, platform, s));
  if (!o.policy_file.empty()) {
    auto text = read_file(o.policy_file, manifest::kMaxDeploymentYamlBytes);
    if (!text) return text.error();
    auto p = manifest::parse_policy_yaml(as_chars(*text), o.policy_file);
    if (!p) return p.error();
    s.policy = std::move(*p);
    s.source = "policy file " + o.policy_file;
  }
  if (o.insecure_allow_debug) s.policy["allow_debug"] = true;
  if (o.allow_vlek) s.policy["allow_vlek"] = true;
  const size_t size = platform == "snp" ? 48 : 32;
  for (const auto& m : o.measurements) {
    auto b = from_hex(m, "--measurement", size);
    if (!b) return make_error(ErrorCode::kUsage, b.error().message + " (" + platform + " measurements are " + std::to_string(size) + " bytes)", "measurement");
    s.measurements.push_back(std::move(*b));
  }
  CCI_TRY(add_report_data(o, s));
  return s;
}

int print_verdict(const ReportOptions& o, const Verdict& v, const cli::Context& ctx) {
  const bool policy_ok = v.findings && v.findings->all_passed();
  const bool accepted = v.authentic && policy_ok;
  const bool only_missing = !v.authentic && v.missing;
  const int rc = accepted ? 0 : only_missing ? cli::to_int(cli::ExitCode::kCannotEvaluate) : 1;
  const std::string schema = "cci.verify.report.v1";
  if (ctx.options().json) {
    cli::Json body{{"result", accepted ? "pass" : "fail"}};
    if (!accepted) body["reason"] = v.authentic ? "POLICY_VIOLATION" : only_missing ? "MISSING_COLLATERAL" : "VERIFICATION_FAILED";
    body["file"] = o.file;
    body["simulated"] = v.simulated;
    body["vendor"] = v.vendor;
    body["format"] = v.format;
    body["checks"] = checks_json(*v.checks);
    body["policy"] = {{"source", v.policy_source},
                      {"applied", v.findings != nullptr},
                      {"findings", v.findings ? checks_json(*v.findings) : cli::Json::array()}};
    if (!v.report.is_null()) {
      body["report"] = v.report;
      if (v.simulated) body["report"]["simulated"] = true;
    }
    for (const auto& [k, val] : o.extra.items()) body[k] = val;
    ctx.out_json(schema, rc, body);
    return rc;
  }
  auto print = [&ctx](const ::cci::verify::CheckList& list) {
    for (const auto& c : list.items()) {
      std::string word = c.outcome == ::cci::verify::Outcome::kSkip ? "SKIP" : ctx.paint_ok(c.outcome == ::cci::verify::Outcome::kPass);
      ctx.out(word + "  " + c.id + ": " + c.detail);
    }
  };
  print(*v.checks);
  if (v.findings) {
    ctx.info("policy: " + v.policy_source);
    print(*v.findings);
  }
  if (v.simulated) ctx.warn("SIMULATED evidence (cci-run sim, trusted by --trust-sim-root): no hardware protects this VM");
  if (accepted && v.simulated) {
    ctx.out("verified SIMULATED: " + o.file + " is a SIMULATED " + v.what + ", NOT hardware (measurement " + v.measurement_hex + ")");
  } else if (accepted) {
    ctx.out("verified: " + o.file + " is a " + v.what + " (measurement " + v.measurement_hex + ")");
  }
  if (accepted) {
    for (const auto& line : o.extra_lines) ctx.out(line);
  } else if (v.authentic) {
    ctx.error(o.file + " is a " + v.what + ", but it does not meet the policy (" + v.policy_source + ")");
  } else if (only_missing) {
    ctx.error(o.file + ": cannot evaluate without the missing collateral (see the failed checks)");
  } else {
    ctx.error(o.file + " is not a verified " + (v.vendor == "amd" ? "SEV-SNP" : "Hygon CSV") + " report");
  }
  return rc;
}

}  // namespace cci::tools::verify
