#include "kbs/client.h"

#include "base/hex.h"
#include "collateral/http.h"
#include "kbs/errors.h"
#include "kbs/jwe.h"
#include "kbs/runtime_data.h"

namespace cci::kbs {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxAnswer = 1u << 20;

// kbs-session-id=VALUE from the Set-Cookie values (attributes dropped).
std::string session_cookie(const std::vector<std::string>& set_cookies) {
  static constexpr std::string_view kName = "kbs-session-id=";
  for (const auto& c : set_cookies) {
    if (c.rfind(kName, 0) != 0) continue;
    return c.substr(0, c.find(';'));
  }
  return "";
}

class Session {
 public:
  explicit Session(const KbsClientOptions& o) : o_(o) {
    http_.timeout_ms = o.timeout_ms;
    http_.max_body = kMaxAnswer;
    http_.allow_plain_http = o.allow_plain_http;
    http_.plain_http_flag = "--insecure-http-kbs";
    http_.pinned_public_key = o.pinned_public_key;
  }

  // One HTTP exchange with the session cookie; a non-200 answer becomes the KBS's error.
  Result<Json> call(const std::string& method, const std::string& path, const std::string& body, KbsError* refused) {
    collateral::HttpRequest r;
    r.method = method;
    r.url = o_.base_url + path;
    r.body = body;
    if (!cookie_.empty()) r.headers.push_back("Cookie: " + cookie_);
    CCI_ASSIGN(res, collateral::http_once(r, http_));
    if (auto c = session_cookie(res.set_cookies); !c.empty()) cookie_ = c;
    const std::string text(res.body.begin(), res.body.end());
    if (res.status != 200) {
      *refused = parse_error_body(static_cast<int>(res.status), text);
      return make_error(refused->policy_deny() ? ErrorCode::kVerificationFailed : ErrorCode::kIo, "KBS " + method + " " + path + ": " + refused->message(),
                        refused->policy_deny() ? "policy-deny" : "kbs");
    }
    auto j = Json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return make_error(ErrorCode::kMalformed, "KBS " + path + ": the answer is not a JSON object", "kbs");
    return j;
  }

  // auth + attest: a session bound to this TEE's evidence and a fresh key.
  Result<TeeKey> handshake(const KbsEvidence& evidence) {
    cookie_.clear();
    KbsError refused;
    const Json request{{"version", "0.4.0"}, {"tee", o_.tee}, {"extra-params", {{"supported-hash-algorithms", {"sha384"}}}}};
    note("KBS: auth (tee " + o_.tee + ")");
    CCI_ASSIGN(challenge, call("POST", "/kbs/v0/auth", request.dump(), &refused));
    if (!challenge.contains("nonce") || !challenge["nonce"].is_string()) return make_error(ErrorCode::kMalformed, "KBS challenge without a nonce", "nonce");
    if (cookie_.empty()) return make_error(ErrorCode::kMalformed, "KBS auth answer without a kbs-session-id cookie", "cookie");
    const std::string nonce = challenge["nonce"].get<std::string>();  // verbatim: never decoded and re-encoded
    CCI_ASSIGN(key, TeeKey::generate());
    const Json pub = key.public_jwk();
    CCI_ASSIGN(digest, runtime_data_digest(nonce, pub, ""));
    CCI_ASSIGN(report_data, report_data_for(o_.tee, digest));
    CCI_ASSIGN(primary, evidence(report_data));
    const Json attestation{{"init-data", nullptr},
                           {"runtime-data", {{"nonce", nonce}, {"tee-pubkey", pub}}},
                           {"tee-evidence", {{"primary_evidence", primary}, {"additional_evidence", ""}}}};
    note("KBS: attest");
    CCI_ASSIGN(token, call("POST", "/kbs/v0/attest", attestation.dump(), &refused));
    if (!token.contains("token") || !token["token"].is_string()) return make_error(ErrorCode::kMalformed, "KBS attest answer without a token", "token");
    return key;
  }

  Result<crypto::SecretBytes> resource(const std::string& path, const TeeKey& key, KbsError* refused) {
    note("KBS: resource " + path);
    CCI_ASSIGN(jwe, call("GET", "/kbs/v0/resource/" + path, "", refused));
    return decrypt_resource(jwe.dump(), key);
  }

 private:
  void note(const std::string& m) const {
    if (o_.note) o_.note(m);
  }
  const KbsClientOptions& o_;
  collateral::HttpOptions http_;
  std::string cookie_;
};

}  // namespace

Json sample_evidence(ByteView report_data) { return Json{{"svn", "1"}, {"report_data", base64_encode(report_data)}}; }

Result<crypto::SecretBytes> fetch_resource(const KbsClientOptions& o, const std::string& resource, const KbsEvidence& evidence) {
  Session s(o);
  for (int attempt = 1;; ++attempt) {
    CCI_ASSIGN(key, s.handshake(evidence));
    KbsError refused;
    auto got = s.resource(resource, key, &refused);
    if (got || refused.policy_deny() || !refused.reattest() || attempt >= 2) return got;
    if (o.note) o.note("KBS: session gone (" + refused.variant + "): attesting again");
  }
}

}  // namespace cci::kbs
