#include "kbs/runtime_data.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "base/hex.h"
#include "crypto/digest.h"
#include "crypto/random.h"

namespace cci::kbs {
namespace {

// ECMAScript JSON.stringify string form (RFC 8785 section 3.2.2.2): the two-character escapes
// \b \t \n \f \r \" \\, other controls as \u00xx (lowercase hex), everything else as UTF-8.
void put_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// UTF-16 code unit order of two UTF-8 keys (RFC 8785 section 3.2.3). Keys here are ASCII, for
// which it equals byte order; other keys are compared by code units to stay exact.
std::u16string utf16(const std::string& s) {
  std::u16string out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    char32_t cp = c;
    size_t n = 1;
    if (c >= 0xf0) n = 4, cp = c & 0x07;
    else if (c >= 0xe0) n = 3, cp = c & 0x0f;
    else if (c >= 0xc0) n = 2, cp = c & 0x1f;
    for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out += static_cast<char16_t>(0xd800 + (cp >> 10));
      out += static_cast<char16_t>(0xdc00 + (cp & 0x3ff));
    } else {
      out += static_cast<char16_t>(cp);
    }
    i += n;
  }
  return out;
}

Status put(std::string& out, const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: out += "null"; return {};
    case Json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return {};
    case Json::value_t::number_integer: out += std::to_string(v.get<std::int64_t>()); return {};
    case Json::value_t::number_unsigned: out += std::to_string(v.get<std::uint64_t>()); return {};
    case Json::value_t::string: put_string(out, v.get<std::string>()); return {};
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ',';
        first = false;
        CCI_TRY(put(out, e));
      }
      out += ']';
      return {};
    }
    case Json::value_t::object: {
      std::vector<std::pair<std::u16string, std::string>> keys;
      for (const auto& [k, _] : v.items()) keys.emplace_back(utf16(k), k);
      std::sort(keys.begin(), keys.end());
      out += '{';
      bool first = true;
      for (const auto& [_, k] : keys) {
        if (!first) out += ',';
        first = false;
        put_string(out, k);
        out += ':';
        CCI_TRY(put(out, v.at(k)));
      }
      out += '}';
      return {};
    }
    default: return make_error(ErrorCode::kInvalidInput, "JCS: only objects, arrays, strings, integers, booleans and null", "jcs");
  }
}

Result<Bytes> sha384_of(const Json& v) {
  CCI_ASSIGN(text, jcs(v));
  return crypto::digest(crypto::DigestAlg::kSha384, as_bytes(text));
}

}  // namespace

Result<std::string> jcs(const Json& v) {
  std::string out;
  CCI_TRY(put(out, v));
  return out;
}

Json tee_pubkey_json(const std::string& x_b64url, const std::string& y_b64url) {
  return Json{{"kty", "EC"}, {"crv", "P-256"}, {"alg", "ECDH-ES+A256KW"}, {"x", x_b64url}, {"y", y_b64url}};
}

Result<Bytes> runtime_data_digest(const std::string& nonce, const Json& tee_pubkey, const std::string& additional_evidence) {
  return sha384_of(Json{{"additional-evidence", additional_evidence}, {"nonce", nonce}, {"tee-pubkey", tee_pubkey}});
}

Result<Bytes> device_runtime_data_digest(const std::string& nonce, const Json& tee_pubkey) {
  return sha384_of(Json{{"nonce", nonce}, {"tee-pubkey", tee_pubkey}});
}

Result<Bytes> report_data_for(const std::string& tee, ByteView digest) {
  if (digest.size() != 48) return make_error(ErrorCode::kInternal, "runtime-data digest must be SHA-384", "digest");
  Bytes out(digest.begin(), digest.end());
  if (tee == "snp" || tee == "csv" || tee == "tdx") {
    out.resize(64, 0);
    return out;
  }
  if (tee == "sample") return out;
  return make_error(ErrorCode::kUsage, "no REPORT_DATA rule for TEE '" + tee + "' (snp, csv, tdx, sample)", "tee");
}

Status check_sample_attestation(const Json& a, const std::string& challenge_nonce) {
  auto fail = [](const std::string& why, const char* field) { return make_error(ErrorCode::kVerificationFailed, why, field); };
  if (!a.is_object() || !a.contains("runtime-data") || !a["runtime-data"].is_object()) return fail("no runtime-data", "runtime-data");
  const Json& rd = a["runtime-data"];
  if (!rd.contains("nonce") || !rd["nonce"].is_string() || rd["nonce"].get<std::string>() != challenge_nonce) {
    return fail("the runtime data's nonce is not the challenge's", "nonce");
  }
  if (!rd.contains("tee-pubkey") || !rd["tee-pubkey"].is_object()) return fail("no tee-pubkey", "tee-pubkey");
  const Json& k = rd["tee-pubkey"];
  for (const char* m : {"kty", "crv", "alg", "x", "y"}) {
    if (!k.contains(m) || !k[m].is_string()) return fail(std::string("tee-pubkey.") + m + " is missing", "tee-pubkey");
  }
  Json typed{{"kty", k["kty"]}, {"crv", k["crv"]}, {"alg", k["alg"]}, {"x", k["x"]}, {"y", k["y"]}};  // as the KBS re-serialises it
  std::string additional;
  if (a.contains("tee-evidence") && a["tee-evidence"].is_object() && a["tee-evidence"].contains("additional_evidence") &&
      a["tee-evidence"]["additional_evidence"].is_string()) {
    additional = a["tee-evidence"]["additional_evidence"].get<std::string>();
  }
  CCI_ASSIGN(digest, runtime_data_digest(challenge_nonce, typed, additional));
  if (!a.contains("tee-evidence") || !a["tee-evidence"].is_object() || !a["tee-evidence"].contains("primary_evidence") ||
      !a["tee-evidence"]["primary_evidence"].is_object() || !a["tee-evidence"]["primary_evidence"].contains("report_data") ||
      !a["tee-evidence"]["primary_evidence"]["report_data"].is_string()) {
    return fail("no sample evidence report_data", "report_data");
  }
  auto rdata = base64_decode(a["tee-evidence"]["primary_evidence"]["report_data"].get<std::string>(), "report_data");
  if (!rdata) return fail("report_data is not base64", "report_data");
  if (!crypto::ct_equal(*rdata, digest)) return fail("REPORT_DATA is different from SHA-384(JCS(runtime data))", "binding");
  return {};
}

}  // namespace cci::kbs
