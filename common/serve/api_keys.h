// API keys for cci-run serve. The key file stores only hashes, one user per line:
//     # comment
//     USER_ID sha256:HEX64
// USER_ID: 1-64 of [A-Za-z0-9._-]. A key is "cci-" followed by 64 hex digits (32 random bytes);
// clients send it as "Authorization: Bearer KEY". Lookup hashes the presented key and compares it
// with every entry in constant time, so timing says nothing about which entry came close.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "base/secure_alloc.h"

namespace cci::serve {

struct ApiKeyEntry {
  std::string user;
  Bytes sha256;  // 32 bytes
};

class ApiKeys {
 public:
  static Result<ApiKeys> parse(std::string_view text, const std::string& source);
  static Result<ApiKeys> load(const std::string& path);

  // The user whose key hashes to `key_sha256`, if any (constant time over all entries).
  std::optional<std::string> user_for_hash(ByteView key_sha256) const;
  const std::vector<ApiKeyEntry>& entries() const { return entries_; }
  std::string serialize() const;
  // Adds a user with a fresh random key; returns the key (shown once, never stored).
  Result<SecureString> add_user(const std::string& user);
  // Removes the user's key; an unknown user is a usage error.
  Status remove_user(const std::string& user);

 private:
  std::vector<ApiKeyEntry> entries_;
};

bool valid_user_id(std::string_view id);
Bytes hash_api_key(std::string_view key);
// The key in "Authorization: Bearer KEY", if the header has that form.
std::optional<std::string_view> bearer_token(std::string_view authorization);

}  // namespace cci::serve
