#include "nvgpu/report.h"

#include "base/der.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "base/byte_reader.h"
#include "base/hex.h"

namespace cci::nvgpu {
namespace {

Error bad(const std::string& msg, const std::string& field) { return make_error(ErrorCode::kMalformed, "GPU attestation report: " + msg, field); }

std::string offset_text(size_t off) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%zx", off);
  return b;
}

// An ASCII field, cut at its first NUL (the SDKs write them NUL-terminated or NUL-padded).
std::string ascii(const Bytes& v) {
  std::string s;
  for (std::uint8_t c : v) {
    if (c == 0) break;
    s.push_back(std::isprint(c) ? static_cast<char>(c) : '?');
  }
  return s;
}

// A little-endian unsigned field of 1 to 4 bytes (the SDK writes some as u16, some as u32).
std::optional<std::uint32_t> le32_of(const Bytes& v) {
  if (v.empty() || v.size() > 4) return std::nullopt;
  std::uint32_t x = 0;
  for (size_t i = v.size(); i-- > 0;) x = x << 8 | v[i];
  return x;
}

void decode_opaque(Report& r) {
  for (const auto& f : r.opaque) {
    switch (f.type) {
      case kDriverVersion: r.driver_version = ascii(f.value); break;
      case kProject: r.project = ascii(f.value); break;
      case kProjectSku: r.project_sku = ascii(f.value); break;
      case kChipSku: r.chip_sku = ascii(f.value); break;
      case kChipInfo: r.chip_info = ascii(f.value); break;
      case kVbiosVersion:
        if (f.value.size() == 8) {
          char b[24];
          std::snprintf(b, sizeof b, "%02x.%02x.%02x.%02x.%02x", f.value[3], f.value[2], f.value[1], f.value[0], f.value[4]);
          r.vbios_version = b;
        }
        break;
      case kFwid: r.fwid = f.value; break;
      case kOpaqueDataVersion:
        if (!r.opaque_header) r.opaque_data_version = le32_of(f.value);
        break;
      case kFspUcodeSvn:
        if (f.value_type == kValueMinSvn && f.value.size() == 2) r.fsp_ucode_svn = static_cast<std::uint16_t>(f.value[0] | f.value[1] << 8);
        break;
      case kFeatureFlag: r.feature_flag = le32_of(f.value); break;
      case kNvdec0Status:
        if (f.value.size() == 1) r.nvdec0_status = f.value[0];
        break;
      case kProtectedPcieStatus:
        if (f.value.size() == 1) r.protected_pcie_status = f.value[0];
        break;
      default: break;
    }
  }
}

}  // namespace

const char* opaque_type_name(std::uint16_t type) {
  switch (type) {
    case kCertIssuerName: return "CERT_ISSUER_NAME";
    case kCertAuthorityKeyId: return "CERT_AUTHORITY_KEY_IDENTIFIER";
    case kDriverVersion: return "DRIVER_VERSION";
    case kGpuInfo: return "GPU_INFO";
    case kSku: return "SKU";
    case kVbiosVersion: return "VBIOS_VERSION";
    case kManufacturerId: return "MANUFACTURER_ID";
    case kTamperDetection: return "TAMPER_DETECTION";
    case kSmc: return "SMC";
    case kVpr: return "VPR";
    case kNvdec0Status: return "NVDEC0_STATUS";
    case kMsrsCount: return "MSRSCNT";
    case kCprInfo: return "CPRINFO";
    case kBoardId: return "BOARD_ID";
    case kChipSku: return "CHIP_SKU";
    case kChipSkuMod: return "CHIP_SKU_MOD";
    case kProject: return "PROJECT";
    case kProjectSku: return "PROJECT_SKU";
    case kProjectSkuMod: return "PROJECT_SKU_MOD";
    case kFwid: return "FWID";
    case kProtectedPcieStatus: return "PROTECTED_PCIE_STATUS";
    case kSwitchPdi: return "SWITCH_PDI";
    case kFloorsweptPorts: return "FLOORSWEPT_PORTS";
    case kPositionId: return "POSITION_ID";
    case kLockSwitchStatus: return "LOCK_SWITCH_STATUS";
    case kGpuLinkConn: return "GPU_LINK_CONN";
    case kSysEnableStatus: return "SYS_ENABLE_STATUS";
    case kOpaqueDataVersion: return "OPAQUE_DATA_VERSION";
    case kChipInfo: return "CHIP_INFO";
    case kFeatureFlag: return "FEATURE_FLAG";
    case kFspUcodeSvn: return "FSP_UCODE_SVN";
    case kNvleStatus: return "NVLE_STATUS";
    default: return "UNKNOWN";
  }
}

const OpaqueField* Report::find(std::uint16_t type) const {
  for (const auto& f : opaque) {
    if (f.type == type) return &f;
  }
  return nullptr;
}

Result<Report> parse_report(ByteView raw) {
  if (raw.size() > kMaxReportSize) return bad(std::to_string(raw.size()) + " bytes, more than any GPU report (" + std::to_string(kMaxReportSize) + ")", "report");
  ByteReader in(raw, "GPU attestation report");
  Report r;
  // Both headers first, so that a field below fails on its value, never on the report's length.
  if (raw.size() < kRequestSize + 8) {
    return bad(std::to_string(raw.size()) + " bytes, shorter than a GET_MEASUREMENTS request and a MEASUREMENTS header (" + std::to_string(kRequestSize + 8) + ")", "report");
  }
  // GET_MEASUREMENTS request.
  CCI_SET(r.request_version, in.u8(0, "request.SPDMVersion"));
  CCI_ASSIGN(req_code, in.u8(1, "request.RequestResponseCode"));
  CCI_SET(r.request_param1, in.u8(2, "request.Param1"));
  CCI_SET(r.request_param2, in.u8(3, "request.Param2"));
  CCI_ASSIGN(nonce, in.bytes(4, 32, "request.Nonce"));
  std::copy(nonce.begin(), nonce.end(), r.request_nonce.begin());
  CCI_SET(r.slot_id, in.u8(36, "request.SlotIDParam"));
  if (r.request_version != kSpdmVersion11) return bad("request SPDMVersion is " + offset_text(r.request_version) + ", not 0x11 (SPDM 1.1)", "request.SPDMVersion");
  if (req_code != kGetMeasurements) return bad("request code is " + offset_text(req_code) + ", not 0xe0 (GET_MEASUREMENTS)", "request.RequestResponseCode");
  if ((r.request_param1 & 1) == 0) return bad("the request did not ask for a signature (Param1 bit 0)", "request.Param1");
  // MEASUREMENTS response.
  size_t at = kRequestSize;
  CCI_SET(r.response_version, in.u8(at, "response.SPDMVersion"));
  CCI_ASSIGN(resp_code, in.u8(at + 1, "response.RequestResponseCode"));
  CCI_SET(r.response_param1, in.u8(at + 2, "response.Param1"));
  CCI_SET(r.response_param2, in.u8(at + 3, "response.Param2"));
  CCI_ASSIGN(count, in.u8(at + 4, "response.NumberOfBlocks"));
  CCI_ASSIGN(len_lo, in.le16(at + 5, "response.MeasurementRecordLength"));
  CCI_ASSIGN(len_hi, in.u8(at + 7, "response.MeasurementRecordLength"));
  if (r.response_version != kSpdmVersion11) return bad("response SPDMVersion is " + offset_text(r.response_version) + ", not 0x11 (SPDM 1.1)", "response.SPDMVersion");
  if (resp_code != kMeasurements) return bad("response code is " + offset_text(resp_code) + ", not 0x60 (MEASUREMENTS)", "response.RequestResponseCode");
  const size_t record_len = static_cast<size_t>(len_lo) | static_cast<size_t>(len_hi) << 16;
  const size_t record_at = at + 8;
  CCI_ASSIGN(record, in.bytes(record_at, record_len, "response.MeasurementRecord"));
  ByteReader rec(record, "measurement record");
  size_t p = 0;
  for (unsigned i = 0; i < count; ++i) {
    if (p == record.size()) return bad("NumberOfBlocks is " + std::to_string(count) + " but the record holds " + std::to_string(i), "response.NumberOfBlocks");
    if (record.size() - p < 7) return bad("block " + std::to_string(i + 1) + " at " + offset_text(record_at + p) + " runs past MeasurementRecordLength", "response.MeasurementRecordLength");
    MeasurementBlock b;
    CCI_SET(b.index, rec.u8(p, "block.Index"));
    CCI_SET(b.spec, rec.u8(p + 1, "block.MeasurementSpecification"));
    CCI_ASSIGN(size, rec.le16(p + 2, "block.MeasurementSize"));
    CCI_SET(b.value_type, rec.u8(p + 4, "block.DMTFSpecMeasurementValueType"));
    CCI_ASSIGN(vsize, rec.le16(p + 5, "block.DMTFSpecMeasurementValueSize"));
    const std::string where = "block " + std::to_string(i + 1) + " (index " + std::to_string(b.index) + ") at " + offset_text(record_at + p);
    if (b.spec != 1) return bad(where + ": MeasurementSpecification is " + std::to_string(b.spec) + ", not 1 (DMTF)", "block.MeasurementSpecification");
    if (size != 3u + vsize) return bad(where + ": MeasurementSize " + std::to_string(size) + " is not 3 + the value's size " + std::to_string(vsize), "block.MeasurementSize");
    auto value = rec.bytes(p + 7, vsize, "block.value");
    if (!value) return bad(where + ": its value runs past MeasurementRecordLength", "response.MeasurementRecordLength");
    b.value.assign(value->begin(), value->end());
    r.blocks.push_back(std::move(b));
    p += 4u + size;
  }
  if (p != record.size()) {
    return bad(std::to_string(record.size() - p) + " bytes of MeasurementRecordLength " + std::to_string(record_len) + " follow the " + std::to_string(count) + " blocks",
               "response.MeasurementRecordLength");
  }
  at = record_at + record_len;
  CCI_ASSIGN(rnonce, in.bytes(at, 32, "response.Nonce"));
  std::copy(rnonce.begin(), rnonce.end(), r.response_nonce.begin());
  CCI_ASSIGN(opaque_len, in.le16(at + 32, "response.OpaqueLength"));
  const size_t opaque_at = at + 34;
  CCI_ASSIGN(opaque, in.bytes(opaque_at, opaque_len, "response.OpaqueData"));
  ByteReader op(opaque, "opaque data");
  // NVIDIA Opaque Data Format: the versioned layout when the data begins with the magic.
  static constexpr std::uint8_t kMagic[6] = {'N', 'V', 'D', 'A', 'O', 'D'};
  size_t q = 0;
  if (opaque.size() >= sizeof kMagic && std::equal(std::begin(kMagic), std::end(kMagic), opaque.begin())) {
    if (opaque.size() < kOpaqueHeaderSize) {
      return bad("OpaqueData at " + offset_text(opaque_at) + " begins with NVDAOD but is shorter than its 12-byte header", "opaque.header");
    }
    CCI_ASSIGN(profile, op.le16(6, "opaque.profile"));
    if (profile != 0) return bad("the opaque data's profile is " + std::to_string(profile) + ", not 0 (NVIDIA Opaque Data Format)", "opaque.profile");
    OpaqueHeader h{opaque[8], opaque[9], opaque[10]};
    if (h.major > kMaxOpaqueMajor) {
      return bad("opaque data format version " + std::to_string(h.major) + "." + std::to_string(h.minor) + " is newer than cci reads (up to " +
                     std::to_string(kMaxOpaqueMajor) + ".x): its fields cannot be trusted to mean what they did",
                 "opaque.version");
    }
    r.opaque_header = h;
    r.opaque_data_version = h.major;
    q = kOpaqueHeaderSize;
  }
  const size_t head = r.opaque_header ? 6 : 4;  // type, [value type,] size
  while (q < opaque.size()) {
    OpaqueField f;
    CCI_SET(f.type, op.le16(q, "opaque.type"));
    if (r.opaque_header) CCI_SET(f.value_type, op.le16(q + 2, "opaque.value_type"));
    CCI_ASSIGN(fsize, op.le16(q + head - 2, "opaque.size"));
    auto v = op.bytes(q + head, fsize, "opaque.value");
    if (!v) return bad("opaque field " + std::string(opaque_type_name(f.type)) + " at " + offset_text(opaque_at + q) + " runs past OpaqueLength", "response.OpaqueData");
    f.value.assign(v->begin(), v->end());
    r.opaque.push_back(std::move(f));
    q += head + fsize;
  }
  const size_t sig_at = opaque_at + opaque_len;
  if (raw.size() < sig_at || raw.size() - sig_at != kSignatureSize) {
    return bad(std::to_string(raw.size() < sig_at ? 0 : raw.size() - sig_at) + " bytes follow OpaqueData at " + offset_text(sig_at) + ", not the 96-byte signature", "response.Signature");
  }
  std::copy(raw.begin() + static_cast<std::ptrdiff_t>(sig_at), raw.end(), r.signature.begin());
  r.signed_bytes.assign(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(sig_at));
  decode_opaque(r);
  // One bound for both layouts: the legacy OPAQUE_DATA_VERSION entry is the same version number
  // the versioned header's major carries.
  if (!r.opaque_header && r.opaque_data_version && *r.opaque_data_version > kMaxOpaqueMajor) {
    return bad("OPAQUE_DATA_VERSION " + std::to_string(*r.opaque_data_version) + " is newer than cci reads (up to " + std::to_string(kMaxOpaqueMajor) +
                   "): its fields cannot be trusted to mean what they did",
               "opaque.version");
  }
  return r;
}

Result<Bytes> dice_tcb_info_fwid(ByteView extn_value) {
  const der::Reader r("DiceTcbInfo", "fwid");
  ByteView in = extn_value;
  CCI_ASSIGN(outer, r.expect(in, der::kSequence, "the extension"));
  if (!in.empty()) return r.bad("the extension", "has bytes after its SEQUENCE");
  ByteView body = outer.value;
  while (!body.empty()) {
    CCI_ASSIGN(field, r.next(body, "a field"));
    if (field.tag != 0xA6) continue;  // fwids [6], constructed (SEQUENCE OF)
    ByteView list = field.value;
    CCI_ASSIGN(fwid, r.expect(list, der::kSequence, "fwids[0]"));
    ByteView f = fwid.value;
    CCI_ASSIGN(alg, r.expect(f, der::kOid, "fwids[0] hash algorithm"));
    (void)alg;
    CCI_ASSIGN(digest, r.expect(f, der::kOctetString, "fwids[0] digest"));
    if (!f.empty()) return r.bad("fwids[0]", "has bytes after its digest");
    return Bytes(digest.value.begin(), digest.value.end());
  }
  return r.bad("the extension", "has no fwids");
}

Result<Bytes> report_from_hex_text(ByteView text) {
  std::string hex;
  hex.reserve(text.size());
  for (std::uint8_t c : text) {
    if (!std::isspace(c)) hex.push_back(static_cast<char>(c));
  }
  if (hex.size() > 2 * kMaxReportSize) return bad("the hex text is longer than any GPU report", "report");
  return from_hex(hex, "GPU attestation report (hex)");
}

Result<std::vector<SerializedEvidence>> parse_serialized_evidence(ByteView json) {
  auto doc = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) return make_error(ErrorCode::kMalformed, "GPU evidence: not a JSON list of {arch, nonce, evidence, certificate}", "evidence");
  std::vector<SerializedEvidence> out;
  for (const auto& e : doc) {
    const std::string n = "GPU evidence " + std::to_string(out.size() + 1);
    for (const char* key : {"arch", "nonce", "evidence", "certificate"}) {
      if (!e.is_object() || !e.contains(key) || !e[key].is_string()) return make_error(ErrorCode::kMalformed, n + ": no string \"" + key + "\"", key);
    }
    SerializedEvidence s;
    s.arch = e["arch"].get<std::string>();
    CCI_SET(s.nonce, from_hex(e["nonce"].get<std::string>(), n + " nonce", 32));
    CCI_SET(s.report, base64_decode(e["evidence"].get<std::string>(), n + " evidence"));
    CCI_ASSIGN(pem, base64_decode(e["certificate"].get<std::string>(), n + " certificate"));
    s.chain_pem.assign(pem.begin(), pem.end());
    out.push_back(std::move(s));
  }
  if (out.empty()) return make_error(ErrorCode::kMalformed, "GPU evidence: an empty list", "evidence");
  return out;
}

}  // namespace cci::nvgpu
