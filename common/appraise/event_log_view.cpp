// See event_log_view.h.
#include "appraise/event_log_view.h"

#include <algorithm>

#include "base/byte_reader.h"
#include "base/hex.h"
#include "crypto/digest.h"
#include "eventlog/tcg2.h"
#include "verify/tdx_verify.h"

namespace cci::appraise {
namespace {

std::string alg_name(std::uint16_t alg) {
  switch (alg) {
    case eventlog::kTpmAlgSha256: return "SHA-256";
    case eventlog::kTpmAlgSha384: return "SHA-384";
    case eventlog::kTpmAlgSm3: return "SM3";
    case 0x0004: return "SHA-1";
    case 0x000D: return "SHA-512";
    default: return "TPM_ALG_0x" + to_hex_u64(alg);
  }
}

std::optional<crypto::DigestAlg> digest_alg(std::uint16_t alg) {
  switch (alg) {
    case eventlog::kTpmAlgSha256: return crypto::DigestAlg::kSha256;
    case eventlog::kTpmAlgSha384: return crypto::DigestAlg::kSha384;
    case eventlog::kTpmAlgSm3: return crypto::DigestAlg::kSm3;
    case 0x000D: return crypto::DigestAlg::kSha512;
    default: return std::nullopt;
  }
}

// Printable ASCII up to the first NUL, and nothing but NULs after it; else nothing.
std::optional<std::string> ascii(ByteView b) {
  size_t n = 0;
  while (n < b.size() && b[n] != 0) {
    if (b[n] < 0x20 || b[n] > 0x7e) return std::nullopt;
    ++n;
  }
  for (size_t i = n; i < b.size(); ++i) {
    if (b[i] != 0) return std::nullopt;
  }
  if (n == 0) return std::nullopt;
  return std::string(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
}

// The text an event's data carries, where the PC Client spec defines one.
std::optional<std::string> event_text(std::uint32_t type, ByteView d) {
  switch (type) {
    case 0x00000005:  // EV_ACTION
    case 0x00000008:  // EV_S_CRTM_VERSION (may be UCS-2: then no text)
    case 0x0000000A:  // EV_PLATFORM_CONFIG_FLAGS
    case 0x0000000D:  // EV_IPL
    case 0x80000007:  // EV_EFI_ACTION
      return ascii(d);
    case 0x00000006: {  // EV_EVENT_TAG: TCG_PCClientTaggedEvent {le32 id, le32 size, data}
      auto size = ByteReader(d, "tagged event").le32(4, "size");
      if (!size || *size != d.size() - 8) return std::nullopt;
      return ascii(d.subspan(8));
    }
    case 0x8000000A:  // EV_EFI_PLATFORM_FIRMWARE_BLOB2: {u8 size, description, base, length}
    case 0x8000000B:  // EV_EFI_HANDOFF_TABLES2: {u8 size, description, count, tables}
      if (d.empty() || d[0] == 0 || size_t{d[0]} >= d.size()) return std::nullopt;
      return ascii(d.subspan(1, d[0]));
    default:
      return std::nullopt;
  }
}

}  // namespace

std::string tcg_event_type_name(std::uint32_t type) {
  switch (type) {
    case 0x00000000: return "EV_PREBOOT_CERT";
    case 0x00000001: return "EV_POST_CODE";
    case 0x00000002: return "EV_UNUSED";
    case 0x00000003: return "EV_NO_ACTION";
    case 0x00000004: return "EV_SEPARATOR";
    case 0x00000005: return "EV_ACTION";
    case 0x00000006: return "EV_EVENT_TAG";
    case 0x00000007: return "EV_S_CRTM_CONTENTS";
    case 0x00000008: return "EV_S_CRTM_VERSION";
    case 0x00000009: return "EV_CPU_MICROCODE";
    case 0x0000000A: return "EV_PLATFORM_CONFIG_FLAGS";
    case 0x0000000B: return "EV_TABLE_OF_DEVICES";
    case 0x0000000C: return "EV_COMPACT_HASH";
    case 0x0000000D: return "EV_IPL";
    case 0x0000000E: return "EV_IPL_PARTITION_DATA";
    case 0x0000000F: return "EV_NONHOST_CODE";
    case 0x00000010: return "EV_NONHOST_CONFIG";
    case 0x00000011: return "EV_NONHOST_INFO";
    case 0x00000012: return "EV_OMIT_BOOT_DEVICE_EVENTS";
    case 0x80000000: return "EV_EFI_EVENT_BASE";
    case 0x80000001: return "EV_EFI_VARIABLE_DRIVER_CONFIG";
    case 0x80000002: return "EV_EFI_VARIABLE_BOOT";
    case 0x80000003: return "EV_EFI_BOOT_SERVICES_APPLICATION";
    case 0x80000004: return "EV_EFI_BOOT_SERVICES_DRIVER";
    case 0x80000005: return "EV_EFI_RUNTIME_SERVICES_DRIVER";
    case 0x80000006: return "EV_EFI_GPT_EVENT";
    case 0x80000007: return "EV_EFI_ACTION";
    case 0x80000008: return "EV_EFI_PLATFORM_FIRMWARE_BLOB";
    case 0x80000009: return "EV_EFI_HANDOFF_TABLES";
    case 0x8000000A: return "EV_EFI_PLATFORM_FIRMWARE_BLOB2";
    case 0x8000000B: return "EV_EFI_HANDOFF_TABLES2";
    case 0x8000000C: return "EV_EFI_VARIABLE_BOOT2";
    case 0x80000010: return "EV_EFI_HCRTM_EVENT";
    case 0x800000E0: return "EV_EFI_VARIABLE_AUTHORITY";
    case 0x800000E1: return "EV_EFI_SPDM_FIRMWARE_BLOB";
    case 0x800000E2: return "EV_EFI_SPDM_FIRMWARE_CONFIG";
    default: return "EV_UNKNOWN_0x" + to_hex_u64(type);
  }
}

Result<Json> describe_event_log(ByteView log, const std::optional<std::array<tdx::Hash48, 4>>& quote_rtmrs) {
  CCI_ASSIGN(events, eventlog::parse_tcg2_log(log));
  Json list = Json::array();
  bool sha384 = false;
  for (const auto& e : events) {
    Json j{{"index", e.index}};
    if (e.index >= 1 && e.index <= 4) j["register"] = "RTMR" + std::to_string(e.index - 1);
    else if (e.index == 0) j["register"] = "MRTD";
    j["type"] = e.type;
    j["type_name"] = tcg_event_type_name(e.type);
    Json digests = Json::array();
    bool matches = false;
    for (const auto& [alg, d] : e.digests) {
      digests.push_back({{"alg", alg_name(alg)}, {"digest", to_hex(d)}});
      if (alg == eventlog::kTpmAlgSha384) sha384 = true;
      if (auto h = digest_alg(alg); h && crypto::digest(*h, e.data) == d) matches = true;
    }
    j["digests"] = digests;
    j["data_size"] = e.data.size();
    j["data"] = base64_encode(e.data);
    j["digest_matches_data"] = matches;
    if (auto t = event_text(e.type, e.data)) j["text"] = *t;
    list.push_back(std::move(j));
  }
  Json out{{"events", list}};
  if (sha384) {
    auto regs = verify::replay_ccel(log);  // the TD's replay rule, as cci-verify report applies it
    if (!regs) {
      out["replay_error"] = regs.error().message;  // described anyway: this is for reading a log
      return out;
    }
    Json replayed = Json::object();
    for (size_t i = 0; i < regs->size(); ++i) {
      const tdx::Hash48& v = (*regs)[i];
      Json r{{"value", to_hex(v)}};
      if (quote_rtmrs) r["matches_quote"] = std::equal(v.begin(), v.end(), (*quote_rtmrs)[i].begin(), (*quote_rtmrs)[i].end());
      replayed["rtmr" + std::to_string(i)] = r;
    }
    out["replayed"] = replayed;
  }
  return out;
}

}  // namespace cci::appraise
