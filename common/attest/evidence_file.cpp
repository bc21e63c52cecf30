#include "attest/evidence_file.h"

#include <nlohmann/json.hpp>

#include "base/hex.h"

namespace cci::attest {
namespace {

using Json = nlohmann::ordered_json;
inline constexpr const char* kSchema = "cci.evidence.v1";

Error bad(const std::string& why) { return make_error(ErrorCode::kMalformed, "evidence file: " + why, "evidence"); }

std::optional<Json> parse_json(ByteView data) {
  auto j = Json::parse(data.begin(), data.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

}  // namespace

bool looks_like_evidence_file(ByteView data) {
  if (data.empty() || data.size() > (8u << 20)) return false;
  size_t i = 0;
  while (i < data.size() && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t')) ++i;
  if (i == data.size() || data[i] != '{') return false;
  auto j = parse_json(data);
  return j && j->contains("schema") && (*j)["schema"] == kSchema;
}

Result<EvidenceFile> parse_evidence_file(ByteView data) {
  auto j = parse_json(data);
  if (!j) return bad("not a JSON object");
  if (!j->contains("schema") || (*j)["schema"] != kSchema) return bad("schema is not cci.evidence.v1");
  EvidenceFile e;
  if (!j->contains("tee") || !(*j)["tee"].is_string()) return bad("tee is missing");
  e.tee = (*j)["tee"].get<std::string>();
  if (e.tee != "snp" && e.tee != "csv" && e.tee != "sim-snp" && e.tee != "sim-csv") return bad("tee '" + e.tee + "' is unknown");
  if (j->value("simulated", false) != e.simulated()) return bad("simulated does not agree with tee");
  if (!j->contains("report") || !(*j)["report"].is_string()) return bad("report is missing");
  auto rep = base64_decode((*j)["report"].get<std::string>(), "report");
  if (!rep) return bad(rep.error().message);
  e.report = std::move(*rep);
  if (j->contains("certificates")) {
    const Json& c = (*j)["certificates"];
    if (!c.is_object()) return bad("certificates is not an object");
    for (const auto& [k, v] : c.items()) {
      if (!v.is_string()) return bad("certificates." + k + " is not a string");
      if (k == "vek") e.vek_pem = v.get<std::string>();
      else if (k == "cert_chain") e.cert_chain_pem = v.get<std::string>();
      else if (k == "hrk") {
        auto h = base64_decode(v.get<std::string>(), "certificates.hrk");
        if (!h) return bad(h.error().message);
        e.hrk = std::move(*h);
      }
      else return bad("certificates." + k + " is unknown");
    }
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
  return j.dump(2) + "\n";
}

}  // namespace cci::attest
