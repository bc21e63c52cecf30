#include "kbs/jwe.h"

// libjose 11 declares its functions without extern "C".
extern "C" {
#include <jose/jose.h>
}

#include <cstring>
#include <set>

#include "base/hex.h"

namespace cci::kbs {
namespace {

using Json = nlohmann::json;

Error refuse(const std::string& check, const std::string& why) {
  return make_error(ErrorCode::kVerificationFailed, "KBS resource (JWE): " + why, check);
}

struct JanssonDeleter {
  void operator()(json_t* j) const { json_decref(j); }
};
using JsonT = std::unique_ptr<json_t, JanssonDeleter>;

// Overwrites a jansson string member in place before the object is released (a key or a CEK).
void wipe_member(json_t* obj, const char* name) {
  json_t* s = obj ? json_object_get(obj, name) : nullptr;
  if (s && json_is_string(s)) {
    char* p = const_cast<char*>(json_string_value(s));
    crypto::secure_clear(p, json_string_length(s));
  }
}

Result<Bytes> member(const Json& j, const char* name, size_t size) {
  if (!j.contains(name) || !j[name].is_string()) return refuse(name, std::string(name) + " is missing");
  auto b = b64url_decode(j[name].get<std::string>(), name);
  if (!b) return refuse(name, b.error().message);
  if (size && b->size() != size) return refuse(name, std::string(name) + " is " + std::to_string(b->size()) + " bytes, not " + std::to_string(size));
  return b;
}

}  // namespace

Result<Bytes> b64url_decode(std::string_view text, const std::string& what) {
  std::string std_form;
  for (char c : text) {
    if (c == '-') std_form += '+';
    else if (c == '_') std_form += '/';
    else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) std_form += c;
    else return make_error(ErrorCode::kMalformed, what + " is not base64url without padding", what);
  }
  if (std_form.size() % 4 == 1) return make_error(ErrorCode::kMalformed, what + " has an impossible base64url length", what);
  while (std_form.size() % 4 != 0) std_form += '=';
  return base64_decode(std_form, what);
}

std::string b64url_encode(ByteView data) {
  std::string s = base64_encode(data);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return s;
}

Result<TeeKey> TeeKey::generate() {
  CCI_ASSIGN(k, crypto::generate_key(crypto::KeyType::kEcP256));
  CCI_ASSIGN(xy, crypto::ec_public_xy(k.public_key(), 32));  // left-padded: a leading-zero x stays 32 bytes
  return TeeKey(std::move(k), b64url_encode(xy.first), b64url_encode(xy.second));
}

Result<TeeKey> TeeKey::from_private_jwk(const Json& jwk) {
  if (!jwk.is_object() || jwk.value("kty", "") != "EC" || jwk.value("crv", "") != "P-256") {
    return make_error(ErrorCode::kInvalidInput, "not a P-256 private JWK", "jwk");
  }
  CCI_ASSIGN(x, member(jwk, "x", 32));
  CCI_ASSIGN(y, member(jwk, "y", 32));
  CCI_ASSIGN(d, member(jwk, "d", 32));
  crypto::SecretBytes secret(std::move(d));
  CCI_ASSIGN(k, crypto::p256_private_key(secret.view(), x, y));
  return TeeKey(std::move(k), b64url_encode(x), b64url_encode(y));
}

Json TeeKey::public_jwk() const { return Json{{"kty", "EC"}, {"crv", "P-256"}, {"alg", "ECDH-ES+A256KW"}, {"x", x_}, {"y", y_}}; }

Result<crypto::SecretBytes> decrypt_resource(std::string_view text, const TeeKey& key) {
  const Json jwe = Json::parse(text.begin(), text.end(), nullptr, false);
  if (!jwe.is_object()) return refuse("jwe", "not a JSON object");
  // Members: the flattened serialisation trustee writes, nothing else.
  for (const auto& [name, value] : jwe.items()) {
    if ((name == "header" || name == "unprotected") && value.is_object() && value.contains("epk")) {
      return refuse("epk-location", "the ephemeral key is in the unprotected '" + name + "', where the AAD does not cover it");
    }
    static const std::set<std::string> allowed = {"protected", "encrypted_key", "iv", "ciphertext", "tag"};
    if (!allowed.count(name)) return refuse("jwe", "member '" + name + "' is not accepted (trustee sends protected, encrypted_key, iv, ciphertext, tag)");
  }
  if (!jwe.contains("protected") || !jwe["protected"].is_string()) return refuse("protected", "protected header is missing");
  CCI_ASSIGN(header_bytes, member(jwe, "protected", 0));
  const Json h = Json::parse(header_bytes.begin(), header_bytes.end(), nullptr, false);
  if (!h.is_object()) return refuse("protected", "the protected header is not a JSON object");
  if (h.value("alg", "") != "ECDH-ES+A256KW") return refuse("alg", "alg " + h.value("alg", std::string("(none)")) + " is not ECDH-ES+A256KW");
  if (h.value("enc", "") != "A256GCM") return refuse("enc", "enc " + h.value("enc", std::string("(none)")) + " is not A256GCM");
  if (h.contains("zip")) return refuse("zip", "compressed plaintext (zip) is not accepted");
  if (h.contains("crit")) return refuse("crit", "critical header parameters are not accepted");
  for (const auto& [name, _] : h.items()) {
    if (name != "alg" && name != "enc" && name != "epk") return refuse("protected", "protected header member '" + name + "' is not accepted");
  }
  if (!h.contains("epk") || !h["epk"].is_object()) return refuse("epk-location", "the ephemeral key is not in the protected header");
  const Json& epk = h["epk"];
  if (epk.value("kty", "") != "EC" || epk.value("crv", "") != "P-256") return refuse("epk", "the ephemeral key is not EC P-256");
  auto ex = member(epk, "x", 32);
  auto ey = member(epk, "y", 32);
  if (!ex || !ey) return refuse("epk", "the ephemeral key's coordinates must be 32 bytes each");
  if (!crypto::ec_public_key_from_xy(crypto::KeyType::kEcP256, *ex, *ey)) return refuse("epk-point", "the ephemeral key is not a point on P-256");
  CCI_TRY(member(jwe, "encrypted_key", 40));
  CCI_TRY(member(jwe, "iv", 12));
  CCI_TRY(member(jwe, "tag", 16));
  CCI_TRY(member(jwe, "ciphertext", 0));

  // Checked: libjose unwraps the CEK and decrypts.
  const std::string jwe_text(text);
  JsonT j(json_loadb(jwe_text.data(), jwe_text.size(), 0, nullptr));
  if (!j) return refuse("jwe", "libjose cannot read the JWE");
  CCI_ASSIGN(d, crypto::ec_private_scalar(key.key(), 32));
  const Json pub = key.public_jwk();
  std::string d64 = b64url_encode(d.view());
  JsonT jwk(json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x", pub["x"].get<std::string>().c_str(), "y",
                      pub["y"].get<std::string>().c_str(), "d", d64.c_str()));
  crypto::secure_clear(d64.data(), d64.size());
  if (!jwk) return make_error(ErrorCode::kInternal, "cannot build the JWK for libjose", "jwk");
  JsonT cek(jose_jwe_dec_jwk(nullptr, j.get(), nullptr, jwk.get()));
  wipe_member(jwk.get(), "d");
  if (!cek) return refuse("key-unwrap", "the content key does not unwrap with this session's key (another recipient, or altered)");
  size_t len = 0;
  void* plain = jose_jwe_dec_cek(nullptr, j.get(), cek.get(), &len);
  wipe_member(cek.get(), "k");
  if (!plain) return refuse("gcm-tag", "the ciphertext does not authenticate (A256GCM tag)");
  Bytes out(static_cast<std::uint8_t*>(plain), static_cast<std::uint8_t*>(plain) + len);
  crypto::secure_clear(plain, len);
  std::free(plain);
  return crypto::SecretBytes(std::move(out));
}

}  // namespace cci::kbs
