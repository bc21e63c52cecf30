#include "serve/api_keys.h"

#include <sstream>

#include "base/file_io.h"
#include "base/hex.h"
#include "crypto/digest.h"
#include "crypto/random.h"

namespace cci::serve {

bool valid_user_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char ch : id) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

Bytes hash_api_key(std::string_view key) { return crypto::digest(crypto::DigestAlg::kSha256, as_bytes(key)); }

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size() || authorization.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  return authorization.substr(kScheme.size());
}

Result<ApiKeys> ApiKeys::parse(std::string_view text, const std::string& source) {
  ApiKeys keys;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    const std::string where = source + ":" + std::to_string(line_no);
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return make_error(ErrorCode::kMalformed, where + ": expected 'USER_ID sha256:HEX'", "api-keys");
    const std::string_view user = line.substr(0, sp), hash = line.substr(sp + 1);
    if (!valid_user_id(user)) return make_error(ErrorCode::kMalformed, where + ": user id must be 1-64 of [A-Za-z0-9._-]", "api-keys");
    if (hash.substr(0, 7) != "sha256:") return make_error(ErrorCode::kMalformed, where + ": the key hash must start with 'sha256:'", "api-keys");
    auto digest = from_hex(hash.substr(7), "key hash", 32);
    if (!digest) return make_error(ErrorCode::kMalformed, where + ": the key hash must be 64 hex digits", "api-keys");
    for (const auto& e : keys.entries_) {
      if (e.user == user) return make_error(ErrorCode::kMalformed, where + ": user '" + std::string(user) + "' appears twice", "api-keys");
      if (e.sha256 == *digest) return make_error(ErrorCode::kMalformed, where + ": this key hash is already given to '" + e.user + "'", "api-keys");
    }
    keys.entries_.push_back({std::string(user), std::move(*digest)});
  }
  return keys;
}

Result<ApiKeys> ApiKeys::load(const std::string& path) {
  auto text = read_file(path, 16u << 20);
  if (!text) return text.error();
  return parse(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), path);
}

std::optional<std::string> ApiKeys::user_for_hash(ByteView key_sha256) const {
  std::optional<std::string> found;
  for (const auto& e : entries_) {
    if (crypto::ct_equal(e.sha256, key_sha256)) found = e.user;  // no early exit
  }
  return found;
}

std::string ApiKeys::serialize() const {
  std::string out = "# cci-run serve API keys: USER_ID sha256:SHA256(key). Keys themselves are never stored.\n";
  for (const auto& e : entries_) out += e.user + " sha256:" + to_hex(e.sha256) + "\n";
  return out;
}

Result<SecureString> ApiKeys::add_user(const std::string& user) {
  if (!valid_user_id(user)) return make_error(ErrorCode::kUsage, "user id must be 1-64 of [A-Za-z0-9._-]", "user");
  for (const auto& e : entries_) {
    if (e.user == user) return make_error(ErrorCode::kUsage, "user '" + user + "' already has a key (remove the line to replace it)", "user");
  }
  auto raw = crypto::random_bytes(32);
  if (!raw) return raw.error();
  const std::string hex = to_hex(*raw);
  crypto::secure_clear(raw->data(), raw->size());
  SecureString key = "cci-";
  key += hex;
  entries_.push_back({user, hash_api_key(key)});
  return key;
}

Status ApiKeys::remove_user(const std::string& user) {
  const auto before = entries_.size();
  std::erase_if(entries_, [&](const ApiKeyEntry& e) { return e.user == user; });
  if (entries_.size() == before) return make_error(ErrorCode::kUsage, "no user '" + user + "' in the key file", "user");
  return {};
}

}  // namespace cci::serve
