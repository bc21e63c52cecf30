#include "kbs/artifacts.h"

#include <array>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "base/hex.h"

namespace cci::kbs {
namespace {

using Json = nlohmann::json;

std::string rego_set(const std::set<std::string>& values) {
  std::string out = "{";
  for (const auto& v : values) out += (out.size() > 1 ? ", " : "") + Json(v).dump();
  return out + "}";
}

// A hex field of the signed policy as bytes, or nullopt when absent.
Result<std::optional<Bytes>> policy_bytes(const Json& policy, const char* key, size_t len) {
  if (!policy.is_object() || !policy.contains(key)) return std::optional<Bytes>();
  if (!policy[key].is_string()) return make_error(ErrorCode::kMalformed, std::string("policy.") + key + " is not a hex string", key);
  std::string text = policy[key].get<std::string>();
  if (text.rfind("0x", 0) == 0) text = text.substr(2);
  CCI_ASSIGN(b, from_hex(text, key, len));
  return std::optional<Bytes>(std::move(b));
}

// A TDX launch as trustee's TDX verifier reports it (quote.body.*, lowercase hex): MRTD always,
// RTMR0-3 and MRCONFIGID when the deployment records them.
struct TdxLaunch {
  std::string mr_td;
  std::vector<std::string> rtmrs;
  std::optional<std::string> mr_config_id;
  bool operator<(const TdxLaunch& o) const { return std::tie(mr_td, rtmrs, mr_config_id) < std::tie(o.mr_td, o.rtmrs, o.mr_config_id); }
};

Result<TdxLaunch> tdx_launch(const Json& m) {
  TdxLaunch l;
  CCI_ASSIGN(mrtd, from_hex(m["measurement"].get<std::string>(), "measurement", 48));
  l.mr_td = to_hex(mrtd);
  if (m.contains("rtmrs")) {
    if (!m["rtmrs"].is_array() || m["rtmrs"].size() != 4) return make_error(ErrorCode::kMalformed, "a tdx launch's rtmrs are not four registers", "rtmrs");
    for (const auto& r : m["rtmrs"]) {
      if (!r.is_string()) return make_error(ErrorCode::kMalformed, "a tdx launch's rtmrs are not hex strings", "rtmrs");
      CCI_ASSIGN(reg, from_hex(r.get<std::string>(), "rtmrs", 48));
      l.rtmrs.push_back(to_hex(reg));
    }
  }
  if (m.contains("mr_config_id")) {
    if (!m["mr_config_id"].is_string()) return make_error(ErrorCode::kMalformed, "a tdx launch's mr_config_id is not a hex string", "mr_config_id");
    CCI_ASSIGN(id, from_hex(m["mr_config_id"].get<std::string>(), "mr_config_id", 48));
    l.mr_config_id = to_hex(id);
  }
  return l;
}

}  // namespace

Result<KbsArtifacts> kbs_artifacts(const Json& predicate, const std::string& label) {
  std::set<std::string> snp, csv;
  std::set<TdxLaunch> tdx;
  if (predicate.contains("images") && predicate["images"].is_array()) {
    for (const auto& image : predicate["images"]) {
      if (!image.is_object() || !image.contains("launch_measurements") || !image["launch_measurements"].is_array()) continue;
      for (const auto& m : image["launch_measurements"]) {
        if (!m.is_object() || !m.contains("platform") || !m.contains("measurement") || !m["measurement"].is_string()) continue;
        const std::string platform = m["platform"].is_string() ? m["platform"].get<std::string>() : "";
        if (platform == "snp") {
          CCI_ASSIGN(bytes, from_hex(m["measurement"].get<std::string>(), "measurement", 48));
          snp.insert(base64_encode(bytes));
        } else if (platform == "csv") {
          CCI_ASSIGN(bytes, from_hex(m["measurement"].get<std::string>(), "measurement", 32));
          csv.insert(to_hex(bytes));
        } else if (platform == "tdx") {
          CCI_ASSIGN(l, tdx_launch(m));
          tdx.insert(std::move(l));
        }
      }
    }
  }
  if (snp.empty() && csv.empty() && tdx.empty()) {
    return make_error(ErrorCode::kInvalidInput, "the deployment lists no SEV-SNP, CSV or TDX launch measurement: a KBS could release the key to no VM", "images");
  }
  const Json policy = predicate.contains("policy") ? predicate["policy"] : Json::object();
  KbsArtifacts a;
  a.snp_measurements = snp.size();
  a.csv_measurements = csv.size();
  a.tdx_measurements = tdx.size();
  Json rv = Json::object();
  if (!snp.empty()) rv["snp_launch_measurement"] = snp;
  if (!csv.empty()) rv["csv_launch_measurement"] = csv;
  if (!tdx.empty()) {
    // The names of trustee's default attestation policy for TDX (data.reference["tdx.mr_td"]),
    // and each RTMR and MRCONFIGID the deployment records, as sets.
    std::set<std::string> mr_td, mr_config_id;
    std::array<std::set<std::string>, 4> rtmr;
    for (const auto& l : tdx) {
      mr_td.insert(l.mr_td);
      for (size_t i = 0; i < l.rtmrs.size(); ++i) rtmr[i].insert(l.rtmrs[i]);
      if (l.mr_config_id) mr_config_id.insert(*l.mr_config_id);
    }
    rv["tdx.mr_td"] = mr_td;
    for (size_t i = 0; i < rtmr.size(); ++i) {
      if (!rtmr[i].empty()) rv["tdx.rtmr_" + std::to_string(i)] = rtmr[i];
    }
    if (!mr_config_id.empty()) rv["tdx.mr_config_id"] = mr_config_id;
  }
  a.reference_values = rv.dump(2) + "\n";
  const std::string payload = rv.dump();
  a.rvps_message = Json{{"version", "0.1.0"}, {"type", "sample"}, {"payload", base64_encode(ByteView(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()))}}.dump(2) + "\n";

  std::string r = "# Trustee KBS resource policy for the cci deployment " + label + " (written by cci-measure kbs-artifacts).\n"
                  "# The model key is released only to evidence whose EAR token shows one of the deployment's launch\n"
                  "# measurements with its policy: install with `kbs-client config set-resource-policy --policy-file`.\n"
                  "package policy\n\nimport rego.v1\n\ndefault allow := false\n\n";
  if (!snp.empty()) {
    r += "snp_measurements := " + rego_set(snp) + "\n\nallow if {\n\tsome submod in input.submods\n\tsnp := submod[\"ear.veraison.annotated-evidence\"].snp\n"
         "\tsnp.measurement in snp_measurements\n";
    if (!policy.value("allow_debug", false)) r += "\tsnp.policy_debug_allowed == \"0\"\n";
    if (!policy.value("allow_migration_agent", false)) r += "\tsnp.policy_migrate_ma == \"0\"\n";
    if (policy.contains("min_tcb") && policy["min_tcb"].is_object()) {
      for (const auto& [field, claim] : std::vector<std::pair<std::string, std::string>>{
               {"bootloader", "reported_tcb_bootloader"}, {"tee", "reported_tcb_tee"}, {"snp", "reported_tcb_snp"}, {"microcode", "reported_tcb_microcode"}}) {
        if (policy["min_tcb"].contains(field) && policy["min_tcb"][field].is_number_unsigned()) {
          r += "\tto_number(snp." + claim + ") >= " + std::to_string(policy["min_tcb"][field].get<std::uint64_t>()) + "\n";
        }
      }
    }
    CCI_ASSIGN(host_data, policy_bytes(policy, "host_data", 32));
    if (host_data) r += "\tsnp.init_data == " + Json(base64_encode(*host_data)).dump() + "\n";
    r += "}\n\n";
  }
  if (!tdx.empty()) {
    // One rule per launch, so an MRTD never passes with another launch's RTMRs or MRCONFIGID.
    for (const auto& l : tdx) {
      r += "allow if {\n\tsome submod in input.submods\n\ttdx := submod[\"ear.veraison.annotated-evidence\"].tdx\n"
           "\ttdx.quote.body.mr_td == " + Json(l.mr_td).dump() + "\n";
      for (size_t i = 0; i < l.rtmrs.size(); ++i) r += "\ttdx.quote.body.rtmr_" + std::to_string(i) + " == " + Json(l.rtmrs[i]).dump() + "\n";
      if (l.mr_config_id) r += "\ttdx.quote.body.mr_config_id == " + Json(*l.mr_config_id).dump() + "\n";
      if (!policy.value("allow_debug", false)) r += "\ttdx.td_attributes.debug == false\n";
      r += "}\n\n";
    }
  }
  if (!csv.empty()) {
    r += "csv_measurements := " + rego_set(csv) + "\n\nallow if {\n\tsome submod in input.submods\n\tcsv := submod[\"ear.veraison.annotated-evidence\"].csv\n"
         "\tcsv.measure in csv_measurements\n";
    if (!policy.value("allow_debug", false)) r += "\tcsv.policy.nodbg == true\n";
    r += "}\n";
    a.csv_attestation_policy =
        "# EAR trust claims for Hygon CSV evidence (trustee's default attestation policy has none), for the cci\n"
        "# deployment " + label + " (written by cci-measure kbs-artifacts). The claim names are those of trustee's CSV\n"
        "# verifier (deps/verifier/src/csv): measure (hex), policy.nodbg, version. Merge into the attestation\n"
        "# service's policy; the reference values come from reference-values.json through the RVPS.\n"
        "package policy\n\nimport rego.v1\n\ndefault executables := 33\n\ndefault hardware := 97\n\ndefault configuration := 36\n\n"
        "# 3: only recognised executables were loaded (the launch measurement is a signed deployment's).\n"
        "executables := 3 if {\n\tinput.csv.measure in data.reference.csv_launch_measurement\n}\n\n"
        "# 2: genuine hardware (the verifier checked the HRK-HSK-CEK-PEK chain and the report signature).\n"
        "hardware := 2 if {\n\tinput.csv.version in {\"1\", \"2\"}\n}\n\n"
        "# 2: a known and approved configuration.\n"
        "configuration := 2 if {\n\tinput.csv.policy.nodbg == true\n}\n";
  }
  a.resource_policy = std::move(r);
  return a;
}

}  // namespace cci::kbs
