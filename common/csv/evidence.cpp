#include "csv/evidence.h"

#include <optional>

#include <nlohmann/json.hpp>

#include "base/byte_reader.h"
#include "base/hex.h"

namespace cci::csv {
namespace {

using Json = nlohmann::json;
inline constexpr size_t kHskCekSize = kCaCertSize + kCsvCertSize;  // 2916
inline constexpr size_t kLibratsSize = kReportPageSize + 4 + kHskCekSize;

Error bad_json(const std::string& path, const std::string& why) {
  return make_error(ErrorCode::kMalformed, "CSV evidence JSON: " + path + " " + why, path);
}

// A JSON array of exactly `n` integers 0..255.
Result<Bytes> byte_array(const Json& j, const std::string& path, size_t n) {
  if (!j.is_array()) return bad_json(path, "is not an array of bytes");
  if (j.size() != n) return bad_json(path, "has " + std::to_string(j.size()) + " bytes, expected " + std::to_string(n));
  Bytes out;
  out.reserve(n);
  for (const auto& v : j) {
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() > 255) return bad_json(path, "holds a value that is not a byte");
    out.push_back(static_cast<std::uint8_t>(v.get<std::uint64_t>()));
  }
  return out;
}

Result<std::uint64_t> uint_field(const Json& j, const std::string& path, std::uint64_t max) {
  if (!j.is_number_unsigned() || j.get<std::uint64_t>() > max) return bad_json(path, "is not an integer in 0.." + std::to_string(max));
  return j.get<std::uint64_t>();
}

const Json& member(const Json& j, const char* key) {
  static const Json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}


// The PEK in csv-rs's serde form, whose field order is the binary layout (csv-rs src/certs).
Result<Bytes> pek_from_json(const Json& pek) {
  const std::string p = "cert_chain.pek";
  const Json& body = member(pek, "body");
  const Json& data = member(body, "data");
  const Json& pub = member(data, "pubkey");
  const Json& key = member(pub, "key");
  const Json& sigs = member(pek, "sigs");
  if (!sigs.is_array() || sigs.size() != 2) return bad_json(p + ".sigs", "must hold two signatures");
  Bytes out(kCsvCertSize, 0);
  CCI_ASSIGN(ver, uint_field(member(body, "ver"), p + ".body.ver", 0xffffffff));
  CCI_ASSIGN(major, uint_field(member(member(data, "firmware"), "major"), p + ".firmware.major", 255));
  CCI_ASSIGN(minor, uint_field(member(member(data, "firmware"), "minor"), p + ".firmware.minor", 255));
  CCI_ASSIGN(res1, uint_field(member(data, "reserved1"), p + ".reserved1", 0xffff));
  CCI_ASSIGN(usage, uint_field(member(pub, "usage"), p + ".pubkey.usage", 0xffffffff));
  CCI_ASSIGN(algo, uint_field(member(pub, "algo"), p + ".pubkey.algo", 0xffffffff));
  CCI_ASSIGN(curve, uint_field(member(key, "g"), p + ".pubkey.key.g", 0xffffffff));
  CCI_ASSIGN(x, byte_array(member(key, "x"), p + ".pubkey.key.x", kEccFieldSize));
  CCI_ASSIGN(y, byte_array(member(key, "y"), p + ".pubkey.key.y", kEccFieldSize));
  CCI_ASSIGN(uid_size, uint_field(member(data, "uid_size"), p + ".uid_size", 0xffff));
  CCI_ASSIGN(uid, byte_array(member(data, "user_id"), p + ".user_id", 254));
  CCI_ASSIGN(sid, byte_array(member(data, "sid"), p + ".sid", 16));
  CCI_ASSIGN(res2, byte_array(member(data, "reserved2"), p + ".reserved2", 608));
  put_le(out, 0x000, ver, 4);
  out[0x004] = static_cast<std::uint8_t>(major);
  out[0x005] = static_cast<std::uint8_t>(minor);
  put_le(out, 0x006, res1, 2);
  put_le(out, 0x008, usage, 4);
  put_le(out, 0x00C, algo, 4);
  put_le(out, 0x010, curve, 4);
  std::copy(x.begin(), x.end(), out.begin() + 0x014);
  std::copy(y.begin(), y.end(), out.begin() + 0x05C);
  put_le(out, 0x0A4, uid_size, 2);
  std::copy(uid.begin(), uid.end(), out.begin() + 0x0A6);
  std::copy(sid.begin(), sid.end(), out.begin() + 0x1A4);
  std::copy(res2.begin(), res2.end(), out.begin() + 0x1B4);
  for (size_t i = 0; i < 2; ++i) {
    const std::string sp = p + ".sigs[" + std::to_string(i) + "]";
    const Json& s = sigs[i];
    const size_t off = i == 0 ? 0x414 : 0x61C;
    CCI_ASSIGN(su, uint_field(member(s, "usage"), sp + ".usage", 0xffffffff));
    CCI_ASSIGN(sa, uint_field(member(s, "algo"), sp + ".algo", 0xffffffff));
    CCI_ASSIGN(r, byte_array(member(member(s, "signature"), "r"), sp + ".signature.r", kEccFieldSize));
    CCI_ASSIGN(sv, byte_array(member(member(s, "signature"), "s"), sp + ".signature.s", kEccFieldSize));
    CCI_ASSIGN(rsv, byte_array(member(s, "_reserved"), sp + "._reserved", 368));
    put_le(out, off, su, 4);
    put_le(out, off + 4, sa, 4);
    std::copy(r.begin(), r.end(), out.begin() + static_cast<std::ptrdiff_t>(off + 8));
    std::copy(sv.begin(), sv.end(), out.begin() + static_cast<std::ptrdiff_t>(off + 8 + kEccFieldSize));
    std::copy(rsv.begin(), rsv.end(), out.begin() + static_cast<std::ptrdiff_t>(off + 8 + 2 * kEccFieldSize));
  }
  return out;
}

Result<std::optional<std::string>> serial_from_json(const Json& j) {
  if (j.is_null()) return std::optional<std::string>();
  CCI_ASSIGN(b, byte_array(j, "serial_number", 64));
  size_t n = 0;
  while (n < b.size() && b[n] != 0) ++n;
  return std::optional<std::string>(std::string(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n)));
}

// attestation_report {magic, flags, data}: all-zero magic, or "ATTESTATION_EXT\0" with flags
// 0, is V1; the magic with flags 1 is V2 (csv-rs AttestationReportWrapper).
Result<Evidence> from_trustee(const Json& j) {
  Evidence ev;
  ev.format = "trustee";
  const Json& ar = j["attestation_report"];
  CCI_ASSIGN(magic, byte_array(member(ar, "magic"), "attestation_report.magic", 16));
  CCI_ASSIGN(flags, uint_field(member(ar, "flags"), "attestation_report.flags", 0xffffffff));
  CCI_ASSIGN(data, byte_array(member(ar, "data"), "attestation_report.data", kReportPageSize));
  static const std::string kExt("ATTESTATION_EXT\0", 16);
  const bool zero_magic = std::all_of(magic.begin(), magic.end(), [](std::uint8_t b) { return b == 0; });
  const bool ext_magic = std::string(magic.begin(), magic.end()) == kExt;
  if (!zero_magic && !ext_magic) return bad_json("attestation_report.magic", "is neither zero nor \"ATTESTATION_EXT\"");
  if (flags > 1 || (zero_magic && flags != 0)) return bad_json("attestation_report.flags", "is not a known value");
  ev.version = ext_magic && flags == 1 ? ReportVersion::kV2 : ReportVersion::kV1;
  ev.report = std::move(data);
  const Json& chain = member(j, "cert_chain");
  if (!member(chain, "pek").is_null()) {
    CCI_ASSIGN(pek, pek_from_json(chain["pek"]));
    ev.envelope_pek = std::move(pek);
  }
  ev.envelope_has_hsk_cek = !member(chain, "hsk_cek").is_null();
  CCI_ASSIGN(serial, serial_from_json(member(j, "serial_number")));
  ev.envelope_serial = serial;
  return ev;
}

// The legacy form has no signer block: the report is rebuilt as a V1 report whose PEK and
// chip ID are the envelope's (marked restored, since they are not masked).
Result<Evidence> from_trustee_legacy(const Json& j) {
  Evidence ev;
  ev.format = "trustee-legacy";
  const Json& ar = j["attestation_report"];
  const Json& body = member(ar, "body");
  Bytes raw(kV1ReportSize, 0);
  struct F {
    const char* name;
    size_t off, len;
  };
  for (const F& f : {F{"user_pubkey_digest", 0x000, 32}, F{"vm_id", 0x020, 16}, F{"vm_version", 0x030, 16}, F{"report_data", 0x040, 64},
                     F{"mnonce", 0x080, 16}, F{"measure", 0x090, 32}}) {
    CCI_ASSIGN(b, byte_array(member(body, f.name), std::string("attestation_report.body.") + f.name, f.len));
    std::copy(b.begin(), b.end(), raw.begin() + static_cast<std::ptrdiff_t>(f.off));
  }
  CCI_ASSIGN(policy, uint_field(member(body, "policy"), "attestation_report.body.policy", 0xffffffff));
  CCI_ASSIGN(usage, uint_field(member(ar, "sig_usage"), "attestation_report.sig_usage", 0xffffffff));
  CCI_ASSIGN(algo, uint_field(member(ar, "sig_algo"), "attestation_report.sig_algo", 0xffffffff));
  CCI_ASSIGN(anonce, uint_field(member(ar, "anonce"), "attestation_report.anonce", 0xffffffff));
  CCI_ASSIGN(r, byte_array(member(member(ar, "sig"), "r"), "attestation_report.sig.r", kEccFieldSize));
  CCI_ASSIGN(s, byte_array(member(member(ar, "sig"), "s"), "attestation_report.sig.s", kEccFieldSize));
  put_le(raw, 0x0B0, policy, 4);
  put_le(raw, 0x0B4, usage, 4);
  put_le(raw, 0x0B8, algo, 4);
  put_le(raw, 0x0BC, anonce, 4);
  std::copy(r.begin(), r.end(), raw.begin() + 0x0C0);
  std::copy(s.begin(), s.end(), raw.begin() + 0x108);
  const Json& pek = member(member(j, "cert_chain"), "pek");
  if (pek.is_null()) return bad_json("cert_chain.pek", "is missing: the legacy format carries the PEK only there");
  CCI_ASSIGN(pek_bytes, pek_from_json(pek));
  std::copy(pek_bytes.begin(), pek_bytes.end(), raw.begin() + 0x150);
  CCI_ASSIGN(serial, serial_from_json(member(j, "serial_number")));
  if (serial) std::copy(serial->begin(), serial->end(), raw.begin() + 0x974);
  ev.version = ReportVersion::kV1;
  ev.report = std::move(raw);
  ev.envelope_serial = serial;
  ev.envelope_has_hsk_cek = !member(member(j, "cert_chain"), "hsk_cek").is_null();
  return ev;
}

bool starts_with_brace(ByteView data) {
  for (std::uint8_t c : data) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    return c == '{';
  }
  return false;
}

bool binary_size(size_t n) { return n == kV1ReportSize || n == kV2ReportSize || n == kReportPageSize || n == kLibratsSize; }

// Trustee's JSON shapes start with '{' (after white space), but so does a binary report whose
// first byte is 0x7B (its first field is a digest: about one report in 250) or white space and
// then 0x7B. Input of a binary report's size is binary unless it parses as a JSON object.
std::optional<Json> json_evidence(ByteView data) {
  if (!starts_with_brace(data)) return std::nullopt;
  auto j = Json::parse(data.begin(), data.end(), nullptr, false);
  if (!j.is_discarded() && j.is_object()) return j;
  if (binary_size(data.size())) return std::nullopt;
  return Json(nullptr);  // meant as JSON, but not JSON: the caller says so
}

}  // namespace

bool looks_like_csv(ByteView data) {
  if (auto j = json_evidence(data)) return j->is_object() && j->contains("attestation_report");
  return binary_size(data.size());
}

Result<Evidence> extract_evidence(ByteView data) {
  if (data.size() > kMaxEvidenceBytes) return make_error(ErrorCode::kMalformed, "CSV evidence is larger than 4 MiB", "evidence");
  if (auto parsed = json_evidence(data)) {
    Json& j = *parsed;
    if (!j.is_object()) return make_error(ErrorCode::kMalformed, "CSV evidence is not valid JSON", "evidence");
    if (!j.contains("attestation_report") || !j["attestation_report"].is_object()) {
      return bad_json("attestation_report", "is missing");
    }
    Result<Evidence> ev = j["attestation_report"].contains("body") ? from_trustee_legacy(j) : from_trustee(j);
    if (ev && j.contains("cc_eventlog") && j["cc_eventlog"].is_string()) {
      auto log = base64_decode(j["cc_eventlog"].get<std::string>(), "cc_eventlog");
      if (!log) return log.error();
      ev->event_log = std::move(*log);
    }
    return ev;
  }
  Evidence ev;
  if (data.size() == kLibratsSize) {
    ByteReader r(data, "librats CSV evidence");
    auto len = r.le32(kReportPageSize, "hsk_cek_cert_len");
    if (!len) return len.error();
    if (*len != kHskCekSize) {
      return make_error(ErrorCode::kMalformed, "librats evidence: hsk_cek_cert_len " + std::to_string(*len) + " is not 2916", "hsk_cek_cert_len");
    }
    ev.format = "librats";
    ev.report.assign(data.begin(), data.begin() + kReportPageSize);
    ev.envelope_has_hsk_cek = true;
    return ev;
  }
  ev.format = "raw";
  ev.report.assign(data.begin(), data.end());
  return ev;
}

}  // namespace cci::csv
