#include "evidence/evidence_file.h"

#include <nlohmann/json.hpp>

#include "base/hex.h"

namespace cci::evidence {
namespace {

using Json = nlohmann::ordered_json;
inline constexpr const char* kSchema = "cci.evidence.v1";

Error bad(const std::string& why, const std::string& field = "evidence") {
  return make_error(ErrorCode::kMalformed, "evidence file: " + why, field);
}

std::optional<Json> parse_json(ByteView data) {
  auto j = Json::parse(data.begin(), data.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

}  // namespace

std::string tee_display_name(const std::string& tee) {
  const std::string plain = tee.rfind("sim-", 0) == 0 ? tee.substr(4) : tee;
  if (plain == "snp") return "SEV-SNP";
  if (plain == "csv") return "CSV";
  if (plain == "tdx") return "Intel TDX";
  return tee;
}

bool looks_like_evidence_file(ByteView data) {
  if (data.empty() || data.size() > (8u << 20)) return false;
  size_t i = 0;
  while (i < data.size() && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t')) ++i;
  if (i == data.size() || data[i] != '{') return false;
  auto j = parse_json(data);
  return j && j->contains("schema") && (*j)["schema"] == kSchema;
}

// Typed and strict: every field is checked for its JSON type before it is read (a wrong type
// is an error naming the field, never an exception), and unknown fields are refused.
Result<EvidenceFile> parse_evidence_file(ByteView data) {
  auto j = parse_json(data);
  if (!j) return bad("not a JSON object");
  for (const auto& [k, v] : j->items()) {
    if (k != "schema" && k != "tee" && k != "simulated" && k != "report" && k != "certificates" && k != "gpu_evidence" && k != "event_log") {
      return bad("field '" + k + "' is unknown", k);
    }
  }
  if (!j->contains("schema") || !(*j)["schema"].is_string() || (*j)["schema"] != kSchema) return bad("schema is not cci.evidence.v1", "schema");
  EvidenceFile e;
  if (!j->contains("tee") || !(*j)["tee"].is_string()) return bad("tee is missing or not a string", "tee");
  e.tee = (*j)["tee"].get<std::string>();
  if (e.tee != "snp" && e.tee != "csv" && e.tee != "tdx" && e.tee != "sim-snp" && e.tee != "sim-csv" && e.tee != "sim-tdx") {
    return bad("tee '" + e.tee + "' is unknown", "tee");
  }
  bool simulated = false;
  if (j->contains("simulated")) {
    if (!(*j)["simulated"].is_boolean()) return bad("simulated must be true or false", "simulated");
    simulated = (*j)["simulated"].get<bool>();
  }
  if (simulated != e.simulated()) return bad("simulated does not agree with tee", "simulated");
  if (!j->contains("report") || !(*j)["report"].is_string()) return bad("report is missing or not a base64 string", "report");
  auto rep = base64_decode((*j)["report"].get<std::string>(), "report");
  if (!rep) return bad(rep.error().message, "report");
  e.report = std::move(*rep);
  if (j->contains("certificates")) {
    const Json& c = (*j)["certificates"];
    if (!c.is_object()) return bad("certificates is not an object", "certificates");
    for (const auto& [k, v] : c.items()) {
      if (!v.is_string()) return bad("certificates." + k + " is not a string", "certificates." + k);
      if (k == "vek") e.vek_pem = v.get<std::string>();
      else if (k == "cert_chain") e.cert_chain_pem = v.get<std::string>();
      else if (k == "hrk") {
        auto h = base64_decode(v.get<std::string>(), "certificates.hrk");
        if (!h) return bad(h.error().message, "certificates.hrk");
        e.hrk = std::move(*h);
      }
      else return bad("certificates." + k + " is unknown", "certificates." + k);
    }
  }
  if (j->contains("gpu_evidence")) {
    if (!(*j)["gpu_evidence"].is_string()) return bad("gpu_evidence is not a base64 string", "gpu_evidence");
    auto g = base64_decode((*j)["gpu_evidence"].get<std::string>(), "gpu_evidence");
    if (!g) return bad(g.error().message, "gpu_evidence");
    if (g->empty()) return bad("gpu_evidence is empty", "gpu_evidence");
    e.gpu_evidence = std::move(*g);
  }
  if (j->contains("event_log")) {
    if (e.tee != "tdx" && e.tee != "sim-tdx") return bad("event_log is for TDX evidence (CSV evidence carries its own)", "event_log");
    if (!(*j)["event_log"].is_string()) return bad("event_log is not a base64 string", "event_log");
    auto l = base64_decode((*j)["event_log"].get<std::string>(), "event_log");
    if (!l) return bad(l.error().message, "event_log");
    e.event_log = std::move(*l);
  }
  return e;
}

std::string write_evidence_file(const EvidenceFile& e) {
  Json j{{"schema", kSchema}, {"tee", e.tee}};
  if (e.simulated()) j["simulated"] = true;
  j["report"] = base64_encode(e.report);
  if (e.vek_pem || e.cert_chain_pem || e.hrk) {
    Json c = Json::object();
    if (e.vek_pem) c["vek"] = *e.vek_pem;
    if (e.cert_chain_pem) c["cert_chain"] = *e.cert_chain_pem;
    if (e.hrk) c["hrk"] = base64_encode(*e.hrk);
    j["certificates"] = c;
  }
  if (e.gpu_evidence) j["gpu_evidence"] = base64_encode(*e.gpu_evidence);
  if (e.event_log) j["event_log"] = base64_encode(*e.event_log);
  return j.dump(2) + "\n";
}

}  // namespace cci::evidence
