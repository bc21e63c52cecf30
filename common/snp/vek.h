// The AMD extensions of VCEK and VLEK certificates (AMD KDS spec #57230 §3; shared
// AMD VCEK specification 57230, "VCEK Certificate Extensions"), decoded strictly from their raw extnValue bytes. Pure parsing: the
// certificate itself is checked by common/verify.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::snp {

inline constexpr char kOidStructVersion[] = "1.3.6.1.4.1.3704.1.1";
inline constexpr char kOidProductName[] = "1.3.6.1.4.1.3704.1.2";
inline constexpr char kOidBlSpl[] = "1.3.6.1.4.1.3704.1.3.1";
inline constexpr char kOidTeeSpl[] = "1.3.6.1.4.1.3704.1.3.2";
inline constexpr char kOidSnpSpl[] = "1.3.6.1.4.1.3704.1.3.3";
inline constexpr char kOidUcodeSpl[] = "1.3.6.1.4.1.3704.1.3.8";
inline constexpr char kOidFmcSpl[] = "1.3.6.1.4.1.3704.1.3.9";
inline constexpr char kOidHwId[] = "1.3.6.1.4.1.3704.1.4";
inline constexpr char kOidCspId[] = "1.3.6.1.4.1.3704.1.5";

struct VekExtensions {
  std::optional<std::uint8_t> struct_version;
  std::string product_name;                  // e.g. "Milan-B0", "Genoa", "Turin"
  std::optional<std::uint8_t> bl, tee, snp, ucode, fmc;
  std::optional<Bytes> hw_id;                // VCEK: 64 bytes (Turin: 8)
  std::optional<std::string> csp_id;         // VLEK: the cloud provider
};

// Looks up one extension's raw extnValue by dotted OID (nullopt when absent).
using ExtensionLookup = std::function<Result<std::optional<Bytes>>(const std::string& oid)>;

// Decodes the extensions: INTEGERs must be minimal DER and fit a byte, strings IA5; hwID
// is taken raw (as KDS issues it) or from a DER OCTET STRING wrapper. Errors are kMalformed
// and name the extension.
Result<VekExtensions> parse_vek_extensions(const ExtensionLookup& ext);

}  // namespace cci::snp
