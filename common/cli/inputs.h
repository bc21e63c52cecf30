// Inputs shared by several tools: signing keys (PEM file or PKCS#11 URI, passphrase
// from a file or CCI_KEY_PASSWORD, never from argv), public keys, certificate bundles, times.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace cci::cli {

inline constexpr size_t kMaxKeyFileBytes = 1 << 20;

// Passphrase from `pass_file` (first line) or CCI_KEY_PASSWORD; nullopt if neither.
Result<std::optional<std::string>> read_passphrase(const std::string& pass_file);

// `spec` is a PEM file path or an RFC 7512 "pkcs11:" URI.
Result<crypto::PrivateKey> load_signing_key(const std::string& spec, const std::string& pass_file,
                                            const std::string& pkcs11_module);

Result<crypto::PublicKey> load_public_key_file(const std::string& path);
// All certificates of the given files (PEM bundles or single DER certificates), in order.
Result<std::vector<crypto::Certificate>> load_certificates(const std::vector<std::string>& paths);

// An unsigned integer in decimal or with a 0x / 0o / 0b prefix (Python's int(s, 0)), at most
// `max`. `what` names the flag in the error.
Result<std::uint64_t> parse_uint(const std::string& text, const std::string& what, std::uint64_t max = UINT64_MAX);

// "now", Unix seconds ("1735689600" or "@1735689600"), or RFC 3339 UTC
// ("2025-01-01T00:00:00Z", "2025-01-01").
Result<std::time_t> parse_time(const std::string& text);
std::string format_time(std::time_t t);  // RFC 3339 UTC

}  // namespace cci::cli
