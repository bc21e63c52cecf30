// Hygon's binary certificates (openanolis/csv-rs src/certs, the SEV-style certificate layouts of AMD SEV API 55766 appendix C): the 832-byte "CA cert" format of the HRK and
// HSK, and the 2084-byte "CSV cert" format of the CEK, PEK, OCA and PDH. SM2 coordinates and
// signature values sit in 72-byte little-endian fields of which only the low 32 bytes are used:
// the parser requires the upper 40 to be zero. Parsing checks structure only; signatures are
// checked by verify_hygon_signature.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keys.h"

namespace cci::csv {

inline constexpr size_t kCaCertSize = 832;
inline constexpr size_t kCaCertSignedSize = 0x240;
inline constexpr size_t kCsvCertSize = 2084;
inline constexpr size_t kCsvCertSignedSize = 0x414;
inline constexpr size_t kEccFieldSize = 72;  // LE, low 32 bytes used
inline constexpr std::uint32_t kCurveSm2 = 3;

// Key usages (csv-rs src/certs/mod.rs) and algorithms.
enum KeyUsage : std::uint32_t {
  kUsageHrk = 0x0000,
  kUsageHsk = 0x0013,
  kUsageInvalid = 0x1000,
  kUsageOca = 0x1001,
  kUsagePek = 0x1002,
  kUsagePdh = 0x1003,
  kUsageCek = 0x1004,
};
inline constexpr std::uint32_t kAlgoSm2Sa = 4;
inline constexpr std::uint32_t kAlgoSm2Dh = 5;

// An SM2 public key as Hygon stores it, with the owner's user ID (the SM2 distinguishing
// ID of every signature that key makes).
struct HygonPublicKey {
  std::uint32_t curve_id = 0;
  std::array<std::uint8_t, 32> x_be{}, y_be{};
  std::string user_id;  // user_id[0..uid_size]
  Result<crypto::PublicKey> key() const;  // checks curve_id and that the point is on the curve
};

struct HygonSignature {
  std::uint32_t usage = 0, algo = 0;         // CSV certs only (CA certs: unset)
  std::array<std::uint8_t, 32> r_le{}, s_le{};
  bool empty() const;  // a CSV-cert slot whose usage or algorithm is not a signing one
};

struct CaCert {  // HRK, HSK
  Bytes raw;     // 832 bytes
  std::uint32_t version = 0;
  std::array<std::uint8_t, 16> key_id{}, certifying_id{};
  std::uint32_t key_usage = 0;
  HygonPublicKey pub;
  HygonSignature sig;
  ByteView signed_bytes() const { return ByteView(raw).first(kCaCertSignedSize); }
};

struct CsvCert {  // CEK, PEK, OCA, PDH
  Bytes raw;      // 2084 bytes
  std::uint32_t version = 0;
  std::uint8_t api_major = 0, api_minor = 0;
  std::uint32_t pubkey_usage = 0, pubkey_algo = 0;
  HygonPublicKey pub;
  std::array<std::uint8_t, 16> sid{};  // CEK: the HSK's key ID
  HygonSignature sig1, sig2;
  ByteView signed_bytes() const { return ByteView(raw).first(kCsvCertSignedSize); }
};

// cci's simulator (cci-run sim) writes this into the signed reserved bytes of its HRK, so that
// a simulated root can never pass for Hygon's, even when a user trusts it by fingerprint.
inline constexpr char kSimulatedHrkMarker[] = "cci SIMULATED";
inline constexpr size_t kSimulatedHrkMarkerOffset = 0x1D4;
bool has_simulated_marker(ByteView hrk_cert);

// `what` names the certificate in errors ("HRK", "HSK", "CEK", "PEK").
Result<CaCert> parse_ca_cert(ByteView data, const std::string& what);
Result<CsvCert> parse_csv_cert(ByteView data, const std::string& what);

// SM2 with SM3 over `msg`, ID = the signer's user ID (never OpenSSL's default ID).
Status verify_hygon_signature(const HygonPublicKey& signer, ByteView msg, const HygonSignature& sig);

const char* usage_name(std::uint32_t usage);  // "HSK", "PEK", ... or "unknown"

}  // namespace cci::csv
