// Files of a simulated platform: private keys readable by the owner only, public files
// readable by all, all written atomically (internal to cci_sim).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keys.h"
#include "crypto/x509_issue.h"

namespace cci::sim::detail {

// Creates DIR (if needed) and DIR/SUB, which must not exist yet; returns DIR/SUB.
Result<std::string> create_platform_dir(const std::string& dir, const std::string& sub);
Status write_private_key(const std::string& file, const crypto::PrivateKey& key);
Status write_public(const std::string& file, ByteView data);
// The spec every simulated certificate starts from: `subject`, `serial`, CA or not, valid from a
// day ago for 25 years; the simulator adds its vendor's key usage, path length and extensions.
crypto::CertificateSpec sim_certificate_spec(std::vector<std::pair<std::string, std::string>> subject, std::uint64_t serial, bool ca);
// Loads a key written by write_private_key, refusing files others can read or write.
Result<crypto::PrivateKey> read_private_key(const std::string& file);
// A platform.json member that must be a JSON integer in 0..max: a double (1e30), a negative or
// larger number, another type or a missing member is an error naming `where` (never converted).
Result<std::uint64_t> platform_uint(const nlohmann::json& j, const char* key, std::uint64_t max, const std::string& where);

}  // namespace cci::sim::detail
