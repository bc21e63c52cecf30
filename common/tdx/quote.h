// Intel TDX quotes, versions 4 and 5, with ECDSA-256-with-P-256 attestation keys (Intel TDX DCAP
// Quote Generation Library and Quote Verification Library API, "Quote Format"; Intel TDX Module
// 1.5 ABI, "TDREPORT_STRUCT"). Pure parsing, bounded by the declared lengths:
//   header (48 bytes): version u16, attestation key type u16, TEE type u32, QE SVN u16, PCE SVN
//     u16, QE vendor ID (16), user data (20)
//   v4: the TD report body (TD 1.0, 584 bytes) at 48
//   v5: a body descriptor (type u16: 2 = TD 1.0, 3 = TD 1.5; size u32) at 48, the body at 54
//     (TD 1.5 = TD 1.0 + TEE_TCB_SVN2 (16) + MRSERVICETD (48) = 648 bytes)
//   the signed bytes are the header and the body; then a u32 signature-data length and the
//   signature data: the quote's ECDSA signature (r||s, 64), the attestation key (x||y, 64), the
//   certification data (type u16 = 6: QE report certification data; size u32): the QE's SGX report
//   body (384), its ECDSA signature (64), QE authentication data (u16 length, bytes), and the
//   inner certification data (type u16 = 5: the PCK certificate chain in PEM; size u32).
// Every declared size must fit exactly inside the one around it; bytes after the signature data
// are counted and ignored (quotes travel in fixed-size buffers). A quote whose header names
// another version, TEE, key type, QE vendor or certification type is refused naming the field.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::tdx {

inline constexpr std::uint32_t kTeeTypeTdx = 0x81;
inline constexpr std::uint16_t kAttKeyEcdsaP256 = 2;
inline constexpr std::uint16_t kCertDataQeReport = 6;
inline constexpr std::uint16_t kCertDataPckChain = 5;
inline constexpr size_t kHeaderSize = 48;
inline constexpr size_t kTd10BodySize = 584;
inline constexpr size_t kTd15BodySize = 648;
inline constexpr size_t kQeReportSize = 384;
// Intel's QE vendor ID (939A7233-F79C-4CA9-940A-0DB3957F0607).
inline constexpr std::array<std::uint8_t, 16> kIntelQeVendorId = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                                  0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
// No quote this parser accepts is larger (a PEM chain of three certificates is about 4 KiB).
inline constexpr size_t kMaxQuoteSize = 1u << 20;

using Hash48 = std::array<std::uint8_t, 48>;

enum class BodyType { kTd10, kTd15 };
const char* body_type_name(BodyType t);  // "TD10", "TD15"

struct TdReport {
  std::array<std::uint8_t, 16> tee_tcb_svn{};
  Hash48 mr_seam{}, mr_signer_seam{};
  std::array<std::uint8_t, 8> seam_attributes{}, td_attributes{}, xfam{};
  Hash48 mr_td{}, mr_config_id{}, mr_owner{}, mr_owner_config{};
  std::array<Hash48, 4> rtmr{};
  std::array<std::uint8_t, 64> report_data{};
  // TD 1.5 only.
  std::optional<std::array<std::uint8_t, 16>> tee_tcb_svn2;
  std::optional<Hash48> mr_service_td;
  // TD_ATTRIBUTES is little-endian: bit 0 is DEBUG (Intel TDX Module ABI, "ATTRIBUTES").
  bool debug() const { return (td_attributes[0] & 1) != 0; }
};

// The QE's SGX report body (Intel SGX Developer Reference, "sgx_report_body_t").
struct QeReport {
  std::array<std::uint8_t, 384> raw{};
  std::array<std::uint8_t, 16> cpu_svn{};
  std::uint32_t misc_select = 0;
  std::array<std::uint8_t, 16> attributes{};
  std::array<std::uint8_t, 32> mr_enclave{}, mr_signer{};
  std::uint16_t isv_prod_id = 0, isv_svn = 0;
  std::array<std::uint8_t, 64> report_data{};
};

struct Quote {
  std::uint16_t version = 0, att_key_type = 0;
  std::uint32_t tee_type = 0;
  std::uint16_t qe_svn = 0, pce_svn = 0;
  std::array<std::uint8_t, 16> qe_vendor_id{};
  std::array<std::uint8_t, 20> user_data{};
  BodyType body_type = BodyType::kTd10;
  TdReport body;
  Bytes signed_bytes;                              // [0, header + (descriptor) + body)
  std::uint32_t signature_data_length = 0;
  std::array<std::uint8_t, 64> signature{};        // r || s, big-endian
  std::array<std::uint8_t, 64> attestation_key{};  // x || y, big-endian (P-256)
  QeReport qe_report;
  std::array<std::uint8_t, 64> qe_report_signature{};
  Bytes qe_auth_data;
  std::string pck_chain_pem;                       // trailing NUL bytes removed
  size_t trailing_bytes = 0;                       // after the signature data, ignored
};

// kMalformed (field named) for structure and length errors; kUnsupported for a version, TEE
// type, attestation key type, QE vendor or certification data type this parser does not take.
Result<Quote> parse_quote(ByteView data);

}  // namespace cci::tdx
