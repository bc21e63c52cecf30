#include "csv/cert.h"

#include <algorithm>
#include <mutex>
#include <map>

#include "base/byte_reader.h"
#include "base/hex.h"

namespace cci::csv {
namespace {

// A 72-byte little-endian field of which only the low 32 bytes may be set.
Result<std::array<std::uint8_t, 32>> ecc_field(const ByteReader& r, size_t off, const char* field) {
  auto b = r.bytes(off, kEccFieldSize, field);
  if (!b) return b.error();
  CCI_TRY(r.require_zero(off + 32, kEccFieldSize - 32, field));
  std::array<std::uint8_t, 32> out{};
  std::copy(b->begin(), b->begin() + 32, out.begin());
  return out;
}

std::array<std::uint8_t, 32> reversed(const std::array<std::uint8_t, 32>& a) {
  std::array<std::uint8_t, 32> out{};
  std::reverse_copy(a.begin(), a.end(), out.begin());
  return out;
}

// curve_id, qx, qy at `off`; uid_size and user_id at `uid_off`.
Result<HygonPublicKey> read_key(const ByteReader& r, size_t curve_off, size_t uid_off, const std::string& what) {
  HygonPublicKey k;
  auto curve = r.le32(curve_off, "curve_id");
  if (!curve) return curve.error();
  k.curve_id = *curve;
  auto qx = ecc_field(r, curve_off + 4, "qx");
  if (!qx) return qx.error();
  auto qy = ecc_field(r, curve_off + 4 + kEccFieldSize, "qy");
  if (!qy) return qy.error();
  k.x_be = reversed(*qx);
  k.y_be = reversed(*qy);
  auto uid_size = r.le16(uid_off, "uid_size");
  if (!uid_size) return uid_size.error();
  if (*uid_size == 0 || *uid_size > 254) {
    return make_error(ErrorCode::kMalformed, what + ": uid_size " + std::to_string(*uid_size) + " is not in 1..254", "uid_size");
  }
  auto uid = r.bytes(uid_off + 2, *uid_size, "user_id");
  if (!uid) return uid.error();
  k.user_id.assign(uid->begin(), uid->end());
  return k;
}

Result<HygonSignature> read_sig(const ByteReader& r, size_t rs_off) {
  HygonSignature s;
  auto rr = ecc_field(r, rs_off, "sig.r");
  if (!rr) return rr.error();
  auto ss = ecc_field(r, rs_off + kEccFieldSize, "sig.s");
  if (!ss) return ss.error();
  s.r_le = *rr;
  s.s_le = *ss;
  return s;
}

Result<HygonSignature> read_slot(const ByteReader& r, size_t off) {
  auto usage = r.le32(off, "sig.usage");
  if (!usage) return usage.error();
  auto algo = r.le32(off + 4, "sig.algo");
  if (!algo) return algo.error();
  auto s = read_sig(r, off + 8);
  if (!s) return s.error();
  s->usage = *usage;
  s->algo = *algo;
  return s;
}

Status exact_size(ByteView data, size_t want, const std::string& what) {
  if (data.size() != want) {
    return make_error(ErrorCode::kMalformed, what + " certificate is " + std::to_string(data.size()) + " bytes, expected " + std::to_string(want),
                      what);
  }
  return {};
}

}  // namespace

bool HygonSignature::empty() const {
  const bool known_usage = usage == kUsageHrk || usage == kUsageHsk || usage == kUsageOca || usage == kUsagePek || usage == kUsagePdh ||
                           usage == kUsageCek;
  return !known_usage || (algo != kAlgoSm2Sa && algo != kAlgoSm2Dh);
}

Result<crypto::PublicKey> HygonPublicKey::key() const {
  if (curve_id != kCurveSm2) {
    return make_error(ErrorCode::kMalformed, "curve_id " + std::to_string(curve_id) + " is not SM2-256 (3)", "curve_id");
  }
  return crypto::sm2_public_key_from_xy(x_be, y_be);
}

Result<CaCert> parse_ca_cert(ByteView data, const std::string& what) {
  CCI_TRY(exact_size(data, kCaCertSize, what));
  ByteReader r(data, what + " certificate");
  CaCert c;
  c.raw.assign(data.begin(), data.end());
  auto version = r.le32(0x000, "version");
  if (!version) return version.error();
  c.version = *version;
  if (c.version != 1) return make_error(ErrorCode::kMalformed, what + ": version " + std::to_string(c.version) + " is not 1", "version");
  auto kid = r.bytes(0x004, 16, "key_id");
  auto sid = r.bytes(0x014, 16, "certifying_id");
  auto usage = r.le32(0x024, "key_usage");
  if (!kid || !sid || !usage) return make_error(ErrorCode::kMalformed, what + ": header truncated");
  std::copy(kid->begin(), kid->end(), c.key_id.begin());
  std::copy(sid->begin(), sid->end(), c.certifying_id.begin());
  c.key_usage = *usage;
  auto key = read_key(r, 0x040, 0x0D4, what);
  if (!key) return key.error();
  c.pub = std::move(*key);
  auto sig = read_sig(r, 0x240);
  if (!sig) return sig.error();
  c.sig = *sig;
  return c;
}

Result<CsvCert> parse_csv_cert(ByteView data, const std::string& what) {
  CCI_TRY(exact_size(data, kCsvCertSize, what));
  ByteReader r(data, what + " certificate");
  CsvCert c;
  c.raw.assign(data.begin(), data.end());
  auto version = r.le32(0x000, "version");
  auto major = r.u8(0x004, "api_major");
  auto minor = r.u8(0x005, "api_minor");
  auto usage = r.le32(0x008, "pubkey_usage");
  auto algo = r.le32(0x00C, "pubkey_algo");
  auto sid = r.bytes(0x1A4, 16, "sid");
  if (!version || !major || !minor || !usage || !algo || !sid) return make_error(ErrorCode::kMalformed, what + ": header truncated");
  if (*version != 1 && *version != 2) {
    return make_error(ErrorCode::kMalformed, what + ": version " + std::to_string(*version) + " is not 1 or 2", "version");
  }
  c.version = *version;
  c.api_major = *major;
  c.api_minor = *minor;
  c.pubkey_usage = *usage;
  c.pubkey_algo = *algo;
  std::copy(sid->begin(), sid->end(), c.sid.begin());
  auto key = read_key(r, 0x010, 0x0A4, what);
  if (!key) return key.error();
  c.pub = std::move(*key);
  auto s1 = read_slot(r, 0x414);
  if (!s1) return s1.error();
  auto s2 = read_slot(r, 0x61C);
  if (!s2) return s2.error();
  c.sig1 = *s1;
  c.sig2 = *s2;
  return c;
}

namespace {

// SM2 keys already built, by curve point. Building one (decoding the point, checking it is on
// the curve, wrapping it in an EVP_PKEY) costs about as much as the verification itself, and
// the same keys recur: a verifier appraising a host's evidence meets the same HRK, HSK and CEK
// every time and the same PEK until the host reboots. Bounded: cleared when it is full.
Result<crypto::PublicKey> cached_key(const HygonPublicKey& k) {
  if (k.curve_id != kCurveSm2) return k.key();
  static std::mutex mu;
  static std::map<std::array<std::uint8_t, 64>, crypto::PublicKey> cache;
  std::array<std::uint8_t, 64> point;
  std::copy(k.x_be.begin(), k.x_be.end(), point.begin());
  std::copy(k.y_be.begin(), k.y_be.end(), point.begin() + 32);
  {
    std::lock_guard lock(mu);
    if (auto it = cache.find(point); it != cache.end()) return it->second.clone();
  }
  auto key = k.key();
  if (!key) return key.error();
  std::lock_guard lock(mu);
  if (cache.size() >= 256) cache.clear();
  cache.emplace(point, key->clone());
  return key;
}

}  // namespace

Status verify_hygon_signature(const HygonPublicKey& signer, ByteView msg, const HygonSignature& sig) {
  auto key = cached_key(signer);
  if (!key) return key.error();
  auto der = crypto::ecdsa_le_rs_to_der(sig.r_le, sig.s_le);
  if (!der) return der.error();
  crypto::SignOptions o;
  o.digest = crypto::DigestAlg::kSm3;
  o.sm2_id = signer.user_id;
  return crypto::verify(*key, msg, *der, o);
}

bool has_simulated_marker(ByteView hrk) {
  const size_t n = sizeof(kSimulatedHrkMarker) - 1;
  return hrk.size() == kCaCertSize && std::equal(kSimulatedHrkMarker, kSimulatedHrkMarker + n, hrk.begin() + kSimulatedHrkMarkerOffset);
}

const char* usage_name(std::uint32_t usage) {
  switch (usage) {
    case kUsageHrk: return "HRK";
    case kUsageHsk: return "HSK";
    case kUsageInvalid: return "INVALID";
    case kUsageOca: return "OCA";
    case kUsagePek: return "PEK";
    case kUsagePdh: return "PDH";
    case kUsageCek: return "CEK";
  }
  return "unknown";
}

}  // namespace cci::csv
