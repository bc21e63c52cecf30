// NVIDIA GPU attestation reports (Hopper and later in confidential-computing mode), as NVML's
// nvmlDeviceGetConfComputeGpuAttestationReport returns them: the SPDM 1.1 GET_MEASUREMENTS
// request followed by the MEASUREMENTS response (DMTF DSP0274 SPDM 1.1.x, "GET_MEASUREMENTS
// request and MEASUREMENTS response messages", "Measurement block", "DMTF measurement
// specification format"). Pure parsing, bounded by the declared lengths:
//   request (37 bytes): SPDMVersion 0x11, code 0xE0, Param1 (bit 0: signature requested),
//     Param2 (0xFF: all measurements), Nonce (32), SlotIDParam
//   response: SPDMVersion 0x11, code 0x60, Param1, Param2, NumberOfBlocks u8,
//     MeasurementRecordLength u24; the record: blocks {Index u8, MeasurementSpecification u8
//     (bit 0: DMTF), MeasurementSize u16, DMTFSpecMeasurementValueType u8,
//     DMTFSpecMeasurementValueSize u16, value}; Nonce (32); OpaqueLength u16; OpaqueData;
//     Signature (the rest: 96 bytes, ECDSA P-384 r||s, big-endian)
//   integers little-endian; the signed bytes are everything before the signature (SPDM 1.1:
//     the request and the response, no signing-context prefix).
// The blocks must fill the record exactly, each MeasurementSize = 3 + value size, exactly 96
// bytes follow the opaque data. Opaque data is NVIDIA's list of {type u16, size u16, value}
// (the attestation SDK's GpuOpaqueDataType); a few fields are decoded for policy and display.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::nvgpu {

inline constexpr std::uint8_t kSpdmVersion11 = 0x11;
inline constexpr std::uint8_t kGetMeasurements = 0xE0;
inline constexpr std::uint8_t kMeasurements = 0x60;
inline constexpr size_t kRequestSize = 37;
inline constexpr size_t kSignatureSize = 96;
inline constexpr size_t kMaxReportSize = 1u << 16;  // NVML's buffer is 8 KiB; a margin, not a promise

// NVIDIA opaque-data field types (the attestation SDK's GpuOpaqueDataType).
enum OpaqueType : std::uint16_t {
  kCertIssuerName = 1,
  kCertAuthorityKeyId = 2,
  kDriverVersion = 3,
  kGpuInfo = 4,
  kSku = 5,
  kVbiosVersion = 6,
  kManufacturerId = 7,
  kTamperDetection = 8,
  kSmc = 9,
  kVpr = 10,
  kNvdec0Status = 11,
  kMsrsCount = 12,
  kCprInfo = 13,
  kBoardId = 14,
  kChipSku = 15,
  kChipSkuMod = 16,
  kProject = 17,
  kProjectSku = 18,
  kProjectSkuMod = 19,
  kFwid = 20,
  kProtectedPcieStatus = 21,
  kSwitchPdi = 22,
  kFloorsweptPorts = 23,
  kPositionId = 24,
  kLockSwitchStatus = 25,
  kGpuLinkConn = 32,
  kSysEnableStatus = 33,
  kOpaqueDataVersion = 34,
  kChipInfo = 35,
  kFeatureFlag = 36,
  kFspUcodeSvn = 37,  // value type kValueMinSvn: a security version a RIM can set a floor for
  kNvleStatus = 38,
};

// NVIDIA Opaque Data Format, versioned ("NVDAOD") layout: drivers from CUDA 13.5 on begin the
// OpaqueData with a 12-byte header (magic "NVDAOD", u16 profile that must be 0, version bytes
// major, minor, patch, padding) and give each entry a u16 value type between its type and size.
// The header's major version is the opaque data version; cci reads up to kMaxOpaqueMajor.
inline constexpr size_t kOpaqueHeaderSize = 12;
inline constexpr std::uint8_t kMaxOpaqueMajor = 2;
inline constexpr std::uint16_t kValueMinSvn = 0x87;  // the value type of a security version number (u16)
const char* opaque_type_name(std::uint16_t type);  // "DRIVER_VERSION", ...; "UNKNOWN" otherwise

struct MeasurementBlock {
  std::uint8_t index = 0;
  std::uint8_t spec = 0;        // MeasurementSpecification (1: DMTF)
  std::uint8_t value_type = 0;  // DMTFSpecMeasurementValueType
  Bytes value;                  // 48 bytes (SHA-384) on every Hopper report seen
};

struct OpaqueField {
  std::uint16_t type = 0;
  std::uint16_t value_type = 0;  // versioned layout only; 0 in the legacy one
  Bytes value;
};

struct OpaqueHeader {  // the versioned layout's header
  std::uint8_t major = 0, minor = 0, patch = 0;
};

struct Report {
  // Request.
  std::uint8_t request_version = 0, request_param1 = 0, request_param2 = 0, slot_id = 0;
  std::array<std::uint8_t, 32> request_nonce{};  // the verifier's challenge
  // Response.
  std::uint8_t response_version = 0, response_param1 = 0, response_param2 = 0;
  std::vector<MeasurementBlock> blocks;
  std::array<std::uint8_t, 32> response_nonce{};
  std::optional<OpaqueHeader> opaque_header;  // set when the OpaqueData uses the versioned layout
  std::vector<OpaqueField> opaque;
  std::array<std::uint8_t, kSignatureSize> signature{};  // r || s, big-endian
  Bytes signed_bytes;                                     // request || response without the signature

  // Decoded opaque fields (empty / nullopt when absent).
  std::string driver_version;  // "550.90.07"
  std::string vbios_version;   // "96.00.9f.00.01" (b3.b2.b1.b0.b4 of the 8-byte field)
  std::string project, project_sku, chip_sku, chip_info;
  std::optional<Bytes> fwid;   // 48 bytes
  // Legacy layout: the OPAQUE_DATA_VERSION field (little-endian, 2 or 4 bytes); versioned: the
  // header's major (an OPAQUE_DATA_VERSION entry beside a header is not the version).
  std::optional<std::uint32_t> opaque_data_version, feature_flag;
  std::optional<std::uint16_t> fsp_ucode_svn;  // FSP_UCODE_SVN, when it has the SVN value type
  std::optional<std::uint8_t> nvdec0_status, protected_pcie_status;
  const OpaqueField* find(std::uint16_t type) const;
};

// The report bytes. Errors name the field and the offset.
Result<Report> parse_report(ByteView raw);

// The FWID of a Blackwell attestation-key certificate: its TCG DiceTcbInfo extension
// (2.23.133.5.4.1.1; TCG DICE Attestation Architecture, "DiceTcbInfo": a SEQUENCE of
// context-tagged fields, fwids [6] IMPLICIT SEQUENCE OF FWID { hashAlg OID, digest OCTET
// STRING }), the digest of its first FWID. `extn_value` is the extension's value (DER). Hopper
// certificates carry the older extension 2.23.133.5.4.1 instead, read by the verifier.
Result<Bytes> dice_tcb_info_fwid(ByteView extn_value);

// NVIDIA's text form: ASCII hex (whitespace ignored), as the SDKs' sample files and nvtrust's
// logs carry it.
Result<Bytes> report_from_hex_text(ByteView text);

// One GPU of the attestation SDK's serialized evidence (a JSON list of {"arch", "nonce" (hex),
// "evidence" (base64 of the report), "certificate" (base64 of the PEM chain)}).
struct SerializedEvidence {
  std::string arch;
  Bytes nonce;
  Bytes report;
  std::string chain_pem;
};
Result<std::vector<SerializedEvidence>> parse_serialized_evidence(ByteView json);

}  // namespace cci::nvgpu
