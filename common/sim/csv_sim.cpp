#include "sim/csv_sim.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>

#include "base/byte_reader.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "csv/cert.h"
#include "evidence/sim_layout.h"
#include "sim/sim_files.h"

namespace cci::sim {
namespace {

using Json = nlohmann::ordered_json;

std::string hygon_dir(const std::string& dir) { return evidence::sim_hygon_dir(dir); }

void put(Bytes& out, size_t off, ByteView b) { std::copy(b.begin(), b.end(), out.begin() + static_cast<std::ptrdiff_t>(off)); }

// A big-endian 32-byte value into a 72-byte little-endian field.
void put_le_field(Bytes& out, size_t off, ByteView be32) {
  for (size_t i = 0; i < 32; ++i) out[off + i] = be32[31 - i];
}

Status put_key(Bytes& out, size_t curve_off, size_t uid_off, const crypto::PrivateKey& key, const std::string& uid) {
  auto xy = crypto::ec_public_xy(key.public_key(), 32);
  if (!xy) return xy.error();
  put_le(out, curve_off, csv::kCurveSm2, 4);
  put_le_field(out, curve_off + 4, xy->first);
  put_le_field(out, curve_off + 4 + csv::kEccFieldSize, xy->second);
  put_le(out, uid_off, uid.size(), 2);
  put(out, uid_off + 2, ByteView(reinterpret_cast<const std::uint8_t*>(uid.data()), uid.size()));
  return {};
}

// SM2/SM3 with the signer's user ID; r and s as 72-byte little-endian fields at `off`.
Status sign_into(Bytes& out, size_t off, ByteView msg, const crypto::PrivateKey& key, const std::string& signer_uid) {
  crypto::SignOptions o;
  o.digest = crypto::DigestAlg::kSm3;
  o.sm2_id = signer_uid;
  auto der = crypto::sign(key, msg, o);
  if (!der) return der.error();
  auto rs = crypto::ecdsa_der_to_le_rs(*der, 32);
  if (!rs) return rs.error();
  put(out, off, rs->first);
  put(out, off + csv::kEccFieldSize, rs->second);
  return {};
}

Result<Bytes> ca_cert(const crypto::PrivateKey& key, const std::string& uid, std::uint32_t usage, ByteView kid, ByteView sid,
                      const crypto::PrivateKey& issuer, const std::string& issuer_uid, bool marker) {
  Bytes c(csv::kCaCertSize, 0);
  put_le(c, 0x000, 1, 4);
  put(c, 0x004, kid);
  put(c, 0x014, sid);
  put_le(c, 0x024, usage, 4);
  CCI_TRY(put_key(c, 0x040, 0x0D4, key, uid));
  if (marker) {
    put(c, csv::kSimulatedHrkMarkerOffset,
        ByteView(reinterpret_cast<const std::uint8_t*>(csv::kSimulatedHrkMarker), sizeof(csv::kSimulatedHrkMarker) - 1));
  }
  CCI_TRY(sign_into(c, 0x240, ByteView(c).first(csv::kCaCertSignedSize), issuer, issuer_uid));
  return c;
}

Result<Bytes> csv_cert(const crypto::PrivateKey& key, const std::string& uid, std::uint32_t usage, std::uint32_t version, ByteView sid,
                       std::uint32_t sig_usage, const crypto::PrivateKey& issuer, const std::string& issuer_uid, const CsvPlatform& p) {
  Bytes c(csv::kCsvCertSize, 0);
  put_le(c, 0x000, version, 4);
  c[0x004] = p.api_major;
  c[0x005] = p.api_minor;
  put_le(c, 0x008, usage, 4);
  put_le(c, 0x00C, csv::kAlgoSm2Sa, 4);
  CCI_TRY(put_key(c, 0x010, 0x0A4, key, uid));
  put(c, 0x1A4, sid);
  put_le(c, 0x414, sig_usage, 4);
  put_le(c, 0x418, csv::kAlgoSm2Sa, 4);
  put_le(c, 0x61C, csv::kUsageInvalid, 4);  // second slot empty
  CCI_TRY(sign_into(c, 0x41C, ByteView(c).first(csv::kCsvCertSignedSize), issuer, issuer_uid));
  return c;
}

Result<Bytes> random(size_t n) { return crypto::random_bytes(n); }

Result<std::string> random_chip_id() {
  auto r = random(6);
  if (!r) return r.error();
  std::string id = "SIM";
  for (std::uint8_t b : *r) id += static_cast<char>('0' + b % 10);
  return id;
}

}  // namespace


Status init_csv_sim(const std::string& dir, const CsvPlatform& in) {
  CsvPlatform p = in;
  if (p.chip_id.empty()) {
    auto id = random_chip_id();
    if (!id) return id.error();
    p.chip_id = *id;
  }
  auto created = detail::create_platform_dir(dir, "hygon");
  if (!created) return created.error();
  const std::string& d = *created;
  std::vector<crypto::PrivateKey> keys;
  for (int i = 0; i < 4; ++i) {
    auto k = crypto::generate_key(crypto::KeyType::kSm2);
    if (!k) return k.error();
    keys.push_back(std::move(*k));
  }
  const crypto::PrivateKey &hrk_k = keys[0], &hsk_k = keys[1], &cek_k = keys[2], &pek_k = keys[3];
  auto hrk_kid = random(16), hsk_kid = random(16);
  if (!hrk_kid || !hsk_kid) return make_error(ErrorCode::kInternal, "random key IDs");
  auto hrk = ca_cert(hrk_k, "HYGON-SSD-HRK", csv::kUsageHrk, *hrk_kid, *hrk_kid, hrk_k, "HYGON-SSD-HRK", true);
  if (!hrk) return hrk.error();
  auto hsk = ca_cert(hsk_k, "HYGON-SSD-HSK", csv::kUsageHsk, *hsk_kid, *hrk_kid, hrk_k, "HYGON-SSD-HRK", false);
  if (!hsk) return hsk.error();
  auto cek = csv_cert(cek_k, "HYGON-SSD-CEK", csv::kUsageCek, 2, *hsk_kid, csv::kUsageHsk, hsk_k, "HYGON-SSD-HSK", p);
  if (!cek) return cek.error();
  auto pek = csv_cert(pek_k, "HYGON-SSD-PEK", csv::kUsagePek, 1, Bytes(16, 0), csv::kUsageCek, cek_k, "HYGON-SSD-CEK", p);
  if (!pek) return pek.error();
  const char* names[] = {"hrk", "hsk", "cek", "pek"};
  for (size_t i = 0; i < 4; ++i) CCI_TRY(detail::write_private_key(d + "/" + names[i] + ".key", keys[i]));
  CCI_TRY(detail::write_public(d + "/hrk.cert", *hrk));
  Bytes hsk_cek = *hsk;
  hsk_cek.insert(hsk_cek.end(), cek->begin(), cek->end());
  CCI_TRY(detail::write_public(d + "/hsk_cek.cert", hsk_cek));
  CCI_TRY(detail::write_public(d + "/pek.cert", *pek));
  if (p.measure.size() != 32) return make_error(ErrorCode::kUsage, "a CSV measure is 32 bytes", "measure");
  const std::string pj = Json{{"simulated", true}, {"chip_id", p.chip_id}, {"api", std::to_string(p.api_major) + "." + std::to_string(p.api_minor)},
                              {"build", p.build}, {"guest", {{"measure", to_hex(p.measure)}, {"policy", p.policy}}}}.dump(2) + "\n";
  return detail::write_public(d + "/platform.json", ByteView(reinterpret_cast<const std::uint8_t*>(pj.data()), pj.size()));
}

Result<Bytes> csv_sim_report(const std::string& dir, const CsvReportRequest& req) {
  if (req.report_data.size() != 64) {
    return make_error(ErrorCode::kUsage, "report data must be exactly 64 bytes, got " + std::to_string(req.report_data.size()), "report_data");
  }
  if (req.measure && req.measure->size() != 32) return make_error(ErrorCode::kUsage, "a CSV measure is 32 bytes", "measure");
  const std::string d = hygon_dir(dir);
  auto pj_bytes = read_file(d + "/platform.json", 1 << 16);
  if (!pj_bytes) return pj_bytes.error();
  auto pj = Json::parse(pj_bytes->begin(), pj_bytes->end(), nullptr, false);
  if (pj.is_discarded() || !pj.value("simulated", false) || !pj.contains("chip_id")) {
    return make_error(ErrorCode::kMalformed, d + "/platform.json is not a simulator description", "platform.json");
  }
  if (!pj["chip_id"].is_string() || (pj.contains("build") && !pj["build"].is_number_unsigned())) {
    return make_error(ErrorCode::kMalformed, d + "/platform.json: chip_id or build has the wrong type", "platform.json");
  }
  const std::string chip = pj["chip_id"].get<std::string>();
  const std::uint32_t build = pj.value("build", 2337u);
  Bytes measure = req.measure.value_or(Bytes(32, 0));
  std::uint32_t policy = req.policy.value_or(0x45);
  if (pj.contains("guest")) {  // platforms made before the guest was recorded play an all-zero one
    const auto& g = pj["guest"];
    const auto guest_policy = detail::platform_uint(g, "policy", 0xffffffff, d);
    if (!g.is_object() || !g.contains("measure") || !g["measure"].is_string() || !guest_policy) {
      return make_error(ErrorCode::kMalformed, d + "/platform.json: bad guest", "platform.json");
    }
    auto m = from_hex(g["measure"].get<std::string>(), "guest.measure", 32);
    if (!m) return make_error(ErrorCode::kMalformed, d + "/platform.json: " + m.error().message, "platform.json");
    if (!req.measure) measure = std::move(*m);
    if (!req.policy) policy = static_cast<std::uint32_t>(*guest_policy);
  }
  if (req.debug) policy &= ~1u;  // NODBG clear
  auto pek_key = detail::read_private_key(d + "/pek.key");
  if (!pek_key) return pek_key.error();
  auto pek = read_file(d + "/pek.cert", csv::kCsvCertSize);
  if (!pek) return pek.error();
  if (!req.mnonce.empty() && req.mnonce.size() != 16) return make_error(ErrorCode::kUsage, "mnonce must be 16 bytes", "mnonce");
  auto mnonce = req.mnonce.empty() ? random(16) : Result<Bytes>(req.mnonce);
  auto anonce_b = random(4);
  auto reserved = random(32);
  if (!mnonce || !anonce_b || !reserved) return make_error(ErrorCode::kInternal, "random nonces");
  const bool v1 = req.version == csv::ReportVersion::kV1;
  const size_t sig_off = v1 ? 0x0C0 : 0x400, signer = v1 ? 0x150 : 0x490;
  Bytes r(csv::kReportPageSize, 0);
  put(r, 0x040, req.report_data);
  put(r, 0x080, *mnonce);
  put(r, 0x090, measure);
  put_le(r, 0x0B0, policy, 4);
  put_le(r, 0x0B4, csv::kUsagePek, 4);
  put_le(r, 0x0B8, csv::kAlgoSm2Sa, 4);
  put(r, signer, *pek);
  put(r, signer + csv::kCsvCertSize, ByteView(reinterpret_cast<const std::uint8_t*>(chip.data()), chip.size()));
  put(r, signer + csv::kCsvCertSize + 64, *reserved);
  const std::uint32_t anonce = static_cast<std::uint32_t>((*anonce_b)[0]) | static_cast<std::uint32_t>((*anonce_b)[1]) << 8 |
                               static_cast<std::uint32_t>((*anonce_b)[2]) << 16 | static_cast<std::uint32_t>((*anonce_b)[3]) << 24;
  if (v1) {
    // Mask the fields and, as raw firmware output does, the PEK and chip ID (openanolis/csv-rs, the V1 report masking).
    auto mask = [&](size_t off, size_t len) {
      for (size_t i = off; i < off + len; ++i) r[i] ^= static_cast<std::uint8_t>(anonce >> (8 * (i % 4)));
    };
    mask(0x000, 0x0BC);
    mask(0x150, 0x9B4 - 0x150);
    put_le(r, 0x0BC, anonce, 4);
  } else {
    put_le(r, 0x0BC, build, 4);
    put_le(r, 0x0C0, 1, 2);  // rtmr_version
    put(r, 0x0D0, measure);  // RTMR0 == measure
  }
  CCI_TRY(sign_into(r, sig_off, ByteView(r).first(v1 ? 0x0B4 : 0x400), *pek_key, "HYGON-SSD-PEK"));
  const size_t mac_off = signer + csv::kCsvCertSize + 64 + 32;
  auto mac = crypto::hmac(crypto::DigestAlg::kSm3, *mnonce, ByteView(r).subspan(signer, mac_off - signer));
  if (!mac) return mac.error();
  put(r, mac_off, *mac);
  return r;
}

}  // namespace cci::sim
