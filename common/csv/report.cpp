#include "csv/report.h"

#include <algorithm>

#include "base/byte_reader.h"

namespace cci::csv {
namespace {

struct Layout {
  size_t size, sig_off, signer_off, signed_size;
};
constexpr Layout kV1{kV1ReportSize, 0x0C0, 0x150, 0x0B4};
constexpr Layout kV2{kV2ReportSize, 0x400, 0x490, 0x400};

std::uint32_t le32_at(ByteView d, size_t off) {
  return static_cast<std::uint32_t>(d[off]) | static_cast<std::uint32_t>(d[off + 1]) << 8 | static_cast<std::uint32_t>(d[off + 2]) << 16 |
         static_cast<std::uint32_t>(d[off + 3]) << 24;
}

// XOR with the little-endian bytes of anonce, counted from each (4-aligned) field start.
void unmask(Bytes& b, size_t off, size_t len, std::uint32_t anonce) {
  for (size_t i = 0; i < len; ++i) b[off + i] ^= static_cast<std::uint8_t>(anonce >> (8 * ((off + i) % 4)));
}

Result<ReportVersion> detect_version(ByteView d) {
  if (d.size() < kV1ReportSize) {
    return make_error(ErrorCode::kMalformed, "CSV report is " + std::to_string(d.size()) + " bytes, shorter than a V1 report (2548)", "report");
  }
  const std::uint32_t usage = le32_at(d, 0xB4), algo = le32_at(d, 0xB8), word = le32_at(d, 0xBC);
  const bool v2 = usage == kUsagePek && algo == kAlgoSm2Sa && word != 0 && d.size() >= kV2ReportSize;  // word = firmware build
  const bool v1 = (usage ^ word) == kUsagePek && (algo ^ word) == kAlgoSm2Sa;                          // word = anonce
  if (v2 && !v1) return ReportVersion::kV2;
  if (v1) return ReportVersion::kV1;
  return make_error(ErrorCode::kMalformed, "CSV report: sig_usage/sig_algo at 0xB4 are neither a V1 (masked) nor a V2 PEK signature", "sig_usage");
}

Status check_size(ByteView d, const Layout& l) {
  if (d.size() == l.size) return {};
  if (d.size() == kReportPageSize) {
    ByteReader r(d, "CSV report page");
    return r.require_zero(l.size, kReportPageSize - l.size, "page tail");
  }
  return make_error(ErrorCode::kMalformed,
                    "CSV report is " + std::to_string(d.size()) + " bytes, expected " + std::to_string(l.size) + " or a 4096-byte page", "report");
}

template <size_t N>
void copy_to(std::array<std::uint8_t, N>& out, ByteView d, size_t off) {
  std::copy(d.begin() + static_cast<std::ptrdiff_t>(off), d.begin() + static_cast<std::ptrdiff_t>(off + N), out.begin());
}

// The PEK as stored or unmasked: whichever parses as a PEK certificate decides the encoding.
Result<PekEncoding> pek_encoding_of(ByteView raw, std::uint32_t anonce) {
  auto looks_like_pek = [](ByteView cert) { return le32_at(cert, 0x008) == kUsagePek; };
  Bytes unmasked(raw.begin() + 0x150, raw.begin() + 0x150 + kCsvCertSize);
  for (size_t i = 0; i < unmasked.size(); ++i) unmasked[i] ^= static_cast<std::uint8_t>(anonce >> (8 * (i % 4)));
  if (looks_like_pek(unmasked)) return PekEncoding::kMasked;
  if (looks_like_pek(raw.subspan(0x150, kCsvCertSize))) return PekEncoding::kRestored;
  return make_error(ErrorCode::kMalformed, "the certificate at 0x150 is not a PEK (usage 0x1002), masked or not", "pek_cert");
}

void read_common(Report& rep, ByteView d) {
  copy_to(rep.user_pubkey_digest, d, 0x000);
  copy_to(rep.vm_id, d, 0x020);
  copy_to(rep.vm_version, d, 0x030);
  copy_to(rep.report_data, d, 0x040);
  copy_to(rep.mnonce, d, 0x080);
  copy_to(rep.measure, d, 0x090);
  rep.policy = le32_at(d, 0x0B0);
  rep.sig_usage = le32_at(d, 0x0B4);
  rep.sig_algo = le32_at(d, 0x0B8);
}

Result<std::string> read_chip_id(ByteView d, size_t off) {
  ByteView id = d.subspan(off, 64);
  size_t n = 0;
  while (n < id.size() && id[n] != 0) ++n;
  for (size_t i = n; i < id.size(); ++i) {
    if (id[i] != 0) return make_error(ErrorCode::kMalformed, "chip_id has bytes after its NUL terminator", "chip_id");
  }
  for (size_t i = 0; i < n; ++i) {
    if (id[i] < 0x21 || id[i] > 0x7e) return make_error(ErrorCode::kMalformed, "chip_id is not printable ASCII", "chip_id");
  }
  if (n == 0) return make_error(ErrorCode::kMalformed, "chip_id is empty", "chip_id");
  return std::string(id.begin(), id.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace

const char* pek_encoding_name(PekEncoding e) {
  switch (e) {
    case PekEncoding::kMasked: return "masked";
    case PekEncoding::kRestored: return "restored";
    case PekEncoding::kPlain: return "plain";
  }
  return "?";
}

ByteView Report::signed_bytes() const { return ByteView(raw).first(version == ReportVersion::kV1 ? kV1.signed_size : kV2.signed_size); }
ByteView Report::hmac_input() const { return ByteView(raw).subspan(0x150, 0x9D4 - 0x150); }

Result<Report> parse_report(ByteView data, std::optional<ReportVersion> version) {
  if (!version) {
    auto v = detect_version(data);
    if (!v) return v.error();
    version = *v;
  }
  const Layout& l = *version == ReportVersion::kV1 ? kV1 : kV2;
  CCI_TRY(check_size(data, l));
  Report rep;
  rep.version = *version;
  rep.raw.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(l.size));
  ByteReader r(rep.raw, "CSV report");
  Bytes decoded = rep.raw;
  if (rep.version == ReportVersion::kV1) {
    rep.anonce = le32_at(rep.raw, 0x0BC);
    unmask(decoded, 0x000, 0x0BC, rep.anonce);
    auto enc = pek_encoding_of(rep.raw, rep.anonce);
    if (!enc) return enc.error();
    rep.pek_encoding = *enc;
    if (rep.pek_encoding == PekEncoding::kMasked) unmask(decoded, 0x150, 0x9B4 - 0x150, rep.anonce);
  } else {
    rep.pek_encoding = PekEncoding::kPlain;
    rep.build = le32_at(rep.raw, 0x0BC);
    auto rv = r.le16(0x0C0, "rtmr_version");
    if (!rv) return rv.error();
    rep.rtmr_version = *rv;
    CCI_TRY(r.require_zero(0x0C2, 14, "reserved0"));
    for (size_t i = 0; i < rep.rtmr.size(); ++i) copy_to(rep.rtmr[i], rep.raw, 0x0D0 + 32 * i);
    CCI_TRY(r.require_zero(0x170, 0x400 - 0x170, "reserved1"));
  }
  read_common(rep, decoded);
  ByteReader sr(rep.raw, "CSV report");
  auto rr = sr.bytes(l.sig_off, kEccFieldSize, "sig.r");
  if (!rr) return rr.error();
  CCI_TRY(sr.require_zero(l.sig_off + 32, kEccFieldSize - 32, "sig.r"));
  CCI_TRY(sr.require_zero(l.sig_off + kEccFieldSize + 32, kEccFieldSize - 32, "sig.s"));
  copy_to(rep.sig.r_le, rep.raw, l.sig_off);
  copy_to(rep.sig.s_le, rep.raw, l.sig_off + kEccFieldSize);
  rep.sig.usage = rep.sig_usage;
  rep.sig.algo = rep.sig_algo;
  auto pek = parse_csv_cert(ByteView(decoded).subspan(l.signer_off, kCsvCertSize), "PEK");
  if (!pek) return pek.error();
  rep.pek = std::move(*pek);
  auto chip = read_chip_id(decoded, l.signer_off + kCsvCertSize);
  if (!chip) return chip.error();
  rep.chip_id = std::move(*chip);
  copy_to(rep.mac, rep.raw, l.signer_off + kCsvCertSize + 64 + 32);
  return rep;
}

}  // namespace cci::csv
