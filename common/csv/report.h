// The Hygon CSV attestation report (openanolis/csv-rs src/api/guest; Linux drivers/virt/coco/csv-guest): V1 (TeeInfoV1 0x150 + signer 0x8A4 =
// 2548 bytes) and V2 (TeeInfoV2 0x490 + signer = 0xD34 bytes, CSV3 with RTMRs), alone or in
// the 4096-byte page the firmware writes (the rest of the page must be zero).
//
// V1 fields [0x000, 0x0BC) are XOR-masked with the unsigned `anonce` (u32 at 0x0BC); so are
// the PEK certificate and chip ID in raw firmware output, but not in the "restored" form that
// csv-rs/trustee pass on. The parser decodes the masked fields for reading; the signature
// is always checked over the raw, still-masked bytes (signed_bytes). V2 has no masking.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "csv/cert.h"

namespace cci::csv {

inline constexpr size_t kV1ReportSize = 0x9F4;  // 2548
inline constexpr size_t kV2ReportSize = 0xD34;  // 3380
inline constexpr size_t kReportPageSize = 4096;

enum class ReportVersion { kV1, kV2 };
enum class PekEncoding {
  kMasked,    // raw firmware output: PEK and chip ID XOR-masked with anonce (binds anonce)
  kRestored,  // unmasked by the attester (csv-rs/trustee): anonce is bound by nothing
  kPlain,     // V2: no masking at all
};
const char* pek_encoding_name(PekEncoding e);  // "masked", "restored", "plain"

struct Report {
  ReportVersion version = ReportVersion::kV1;
  PekEncoding pek_encoding = PekEncoding::kMasked;
  Bytes raw;  // the report as received, without the page's zero tail
  // Decoded (unmasked) fields.
  std::array<std::uint8_t, 32> user_pubkey_digest{};
  std::array<std::uint8_t, 16> vm_id{}, vm_version{};
  std::array<std::uint8_t, 64> report_data{};
  std::array<std::uint8_t, 16> mnonce{};
  std::array<std::uint8_t, 32> measure{};
  std::uint32_t policy = 0, sig_usage = 0, sig_algo = 0;
  std::uint32_t anonce = 0;  // V1
  std::uint32_t build = 0;   // V2: firmware build
  std::uint16_t rtmr_version = 0;
  std::array<std::array<std::uint8_t, 32>, 5> rtmr{};  // V2
  HygonSignature sig;
  CsvCert pek;
  std::string chip_id;  // ASCII serial, NUL padding removed
  std::array<std::uint8_t, 32> mac{};

  ByteView signed_bytes() const;  // V1: raw [0x000, 0x0B4); V2: raw [0x000, 0x400)
  ByteView hmac_input() const;    // V1: raw [0x150, 0x9D4) (PEK, chip ID, reserved)
  bool debug_allowed() const { return (policy & 1u) == 0; }  // NODBG clear
};

// `version` comes from an evidence wrapper's magic/flags when there is one; without it the
// layout is recognised by its signer fields (V1: masked usage 0x1002 / algo 4; V2: plain).
Result<Report> parse_report(ByteView data, std::optional<ReportVersion> version = std::nullopt);

}  // namespace cci::csv
