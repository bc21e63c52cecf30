#include "sigstore/trusted_root.h"

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "base/text.h"

namespace cci::sigstore {
namespace {

using Json = nlohmann::json;

Error bad(const std::string& what, const std::string& why) {
  return Error::make(ErrorCode::kMalformed, "trusted root: " + what + " " + why, "trusted-root");
}

Result<std::string> str(const Json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return bad(where + "." + key, "is missing or not a string");
  return j[key].get<std::string>();
}

Result<TimeWindow> window(const Json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("validFor") || !j["validFor"].is_object()) return bad(where + ".validFor", "is missing");
  const Json& v = j["validFor"];
  TimeWindow w;
  CCI_ASSIGN(start, str(v, "start", where + ".validFor"));
  auto s = parse_rfc3339_utc(start);
  if (!s) return bad(where + ".validFor.start", "is not an RFC 3339 time");
  w.start = *s;
  if (v.contains("end") && !v["end"].is_null()) {  // null: open-ended, as protobuf JSON may write it
    CCI_ASSIGN(end, str(v, "end", where + ".validFor"));
    auto e = parse_rfc3339_utc(end);
    if (!e) return bad(where + ".validFor.end", "is not an RFC 3339 time");
    w.end = *e;
  }
  return w;
}

Result<std::vector<LogKey>> logs(const Json& root, const char* key) {
  std::vector<LogKey> out;
  if (!root.contains(key)) return out;
  if (!root[key].is_array()) return bad(key, "is not a list");
  size_t i = 0;
  for (const auto& t : root[key]) {
    const std::string where = std::string(key) + "[" + std::to_string(i++) + "]";
    CCI_ASSIGN(url, str(t, "baseUrl", where));
    if (!t.contains("publicKey") || !t["publicKey"].is_object()) return bad(where + ".publicKey", "is missing");
    // Keys in PKCS#1 form (keyDetails PKCS1_RSA_*: a bare RSAPublicKey, used by CT logs of
    // 2021-2022) are not read: such a log is left out, which can only make verification stricter.
    if (t["publicKey"].contains("keyDetails") && t["publicKey"]["keyDetails"].is_string() &&
        t["publicKey"]["keyDetails"].get<std::string>().rfind("PKCS1_", 0) == 0) {
      continue;
    }
    CCI_ASSIGN(raw, str(t["publicKey"], "rawBytes", where + ".publicKey"));
    CCI_ASSIGN(der, base64_decode(raw, where + ".publicKey.rawBytes"));
    auto k = crypto::load_public_key_der(der);
    if (!k) return bad(where + ".publicKey.rawBytes", "is not a public key: " + k.error().message);
    CCI_ASSIGN(w, window(t["publicKey"], where + ".publicKey"));
    if (!t.contains("logId") || !t["logId"].is_object()) return bad(where + ".logId", "is missing");
    CCI_ASSIGN(id_b64, str(t["logId"], "keyId", where + ".logId"));
    CCI_ASSIGN(id, base64_decode(id_b64, where + ".logId.keyId"));
    out.push_back(LogKey{url, std::move(id), std::move(*k), w});
  }
  return out;
}

Result<std::vector<CertAuthority>> authorities(const Json& root, const char* key) {
  std::vector<CertAuthority> out;
  if (!root.contains(key)) return out;
  if (!root[key].is_array()) return bad(key, "is not a list");
  size_t i = 0;
  for (const auto& a : root[key]) {
    const std::string where = std::string(key) + "[" + std::to_string(i++) + "]";
    CertAuthority ca;
    if (a.contains("uri") && a["uri"].is_string()) ca.uri = a["uri"].get<std::string>();
    if (!a.contains("certChain") || !a["certChain"].is_object() || !a["certChain"].contains("certificates") || !a["certChain"]["certificates"].is_array() ||
        a["certChain"]["certificates"].empty()) {
      return bad(where + ".certChain.certificates", "is missing or empty");
    }
    for (const auto& c : a["certChain"]["certificates"]) {
      CCI_ASSIGN(raw, str(c, "rawBytes", where + ".certChain.certificates[]"));
      CCI_ASSIGN(der, base64_decode(raw, where + ".certChain"));
      auto cert = crypto::Certificate::from_der(der);
      if (!cert) return bad(where + ".certChain", "holds something that is not a certificate: " + cert.error().message);
      ca.chain.push_back(std::move(*cert));
    }
    CCI_SET(ca.valid, window(a, where));
    out.push_back(std::move(ca));
  }
  return out;
}

}  // namespace

Result<TrustedRoot> parse_trusted_root(ByteView json) {
  if (json.size() > kMaxTrustedRootBytes) return bad("file", "is larger than " + std::to_string(kMaxTrustedRootBytes / 1024) + " KiB");
  const Json root = Json::parse(json.begin(), json.end(), nullptr, false);
  if (root.is_discarded() || !root.is_object()) return bad("file", "is not a JSON object");
  CCI_ASSIGN(media, str(root, "mediaType", "(top)"));
  if (media.rfind("application/vnd.dev.sigstore.trustedroot", 0) != 0) return bad("mediaType", "'" + media + "' is not a Sigstore trusted root");
  TrustedRoot t;
  CCI_SET(t.tlogs, logs(root, "tlogs"));
  CCI_SET(t.ctlogs, logs(root, "ctlogs"));
  CCI_SET(t.cas, authorities(root, "certificateAuthorities"));
  CCI_SET(t.tsas, authorities(root, "timestampAuthorities"));
  return t;
}

const LogKey* find_log(const std::vector<LogKey>& logs, ByteView log_id) {
  for (const auto& l : logs) {
    if (l.log_id.size() == log_id.size() && std::equal(l.log_id.begin(), l.log_id.end(), log_id.begin())) return &l;
  }
  return nullptr;
}

}  // namespace cci::sigstore
