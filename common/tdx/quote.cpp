// See quote.h.
#include "tdx/quote.h"

#include <algorithm>

#include "base/byte_reader.h"

namespace cci::tdx {
namespace {

// Reads the quote front to back through ByteReader's bounds checks.
class Cursor {
 public:
  explicit Cursor(ByteView d) : r_(d, "TDX quote") {}
  size_t pos() const { return pos_; }
  template <size_t N>
  Status take(std::array<std::uint8_t, N>& out, const char* field) {
    CCI_ASSIGN(b, r_.bytes(pos_, N, field));
    std::copy(b.begin(), b.end(), out.begin());
    pos_ += N;
    return {};
  }
  Result<ByteView> bytes(size_t n, const char* field) {
    CCI_ASSIGN(b, r_.bytes(pos_, n, field));
    pos_ += n;
    return b;
  }
  Result<std::uint16_t> u16(const char* field) {
    CCI_ASSIGN(v, r_.le16(pos_, field));
    pos_ += 2;
    return v;
  }
  Result<std::uint32_t> u32(const char* field) {
    CCI_ASSIGN(v, r_.le32(pos_, field));
    pos_ += 4;
    return v;
  }

 private:
  ByteReader r_;
  size_t pos_ = 0;
};

Error malformed(const std::string& field, const std::string& why) { return make_error(ErrorCode::kMalformed, "TDX quote: " + field + " " + why, field); }

Status read_td_report(Cursor& c, BodyType type, TdReport& b) {
  CCI_TRY(c.take(b.tee_tcb_svn, "tee_tcb_svn"));
  CCI_TRY(c.take(b.mr_seam, "mr_seam"));
  CCI_TRY(c.take(b.mr_signer_seam, "mr_signer_seam"));
  CCI_TRY(c.take(b.seam_attributes, "seam_attributes"));
  CCI_TRY(c.take(b.td_attributes, "td_attributes"));
  CCI_TRY(c.take(b.xfam, "xfam"));
  CCI_TRY(c.take(b.mr_td, "mr_td"));
  CCI_TRY(c.take(b.mr_config_id, "mr_config_id"));
  CCI_TRY(c.take(b.mr_owner, "mr_owner"));
  CCI_TRY(c.take(b.mr_owner_config, "mr_owner_config"));
  for (auto& r : b.rtmr) CCI_TRY(c.take(r, "rtmr"));
  CCI_TRY(c.take(b.report_data, "report_data"));
  if (type == BodyType::kTd15) {
    std::array<std::uint8_t, 16> svn2{};
    Hash48 service{};
    CCI_TRY(c.take(svn2, "tee_tcb_svn2"));
    CCI_TRY(c.take(service, "mr_service_td"));
    b.tee_tcb_svn2 = svn2;
    b.mr_service_td = service;
  }
  return {};
}

template <size_t N>
void copy_at(std::array<std::uint8_t, N>& out, ByteView d, size_t off) {
  std::copy(d.begin() + static_cast<std::ptrdiff_t>(off), d.begin() + static_cast<std::ptrdiff_t>(off + N), out.begin());
}

std::uint16_t le16_at(ByteView d, size_t off) { return static_cast<std::uint16_t>(d[off] | d[off + 1] << 8); }

// sgx_report_body_t: CPUSVN 0, MISCSELECT 16, ATTRIBUTES 48, MRENCLAVE 64, MRSIGNER 128,
// ISVPRODID 256, ISVSVN 258, REPORTDATA 320.
QeReport qe_report_from(ByteView raw) {
  QeReport q;
  std::copy(raw.begin(), raw.end(), q.raw.begin());
  copy_at(q.cpu_svn, raw, 0);
  q.misc_select = static_cast<std::uint32_t>(raw[16]) | static_cast<std::uint32_t>(raw[17]) << 8 | static_cast<std::uint32_t>(raw[18]) << 16 |
                  static_cast<std::uint32_t>(raw[19]) << 24;
  copy_at(q.attributes, raw, 48);
  copy_at(q.mr_enclave, raw, 64);
  copy_at(q.mr_signer, raw, 128);
  q.isv_prod_id = le16_at(raw, 256);
  q.isv_svn = le16_at(raw, 258);
  copy_at(q.report_data, raw, 320);
  return q;
}

}  // namespace

const char* body_type_name(BodyType t) { return t == BodyType::kTd15 ? "TD15" : "TD10"; }

Result<Quote> parse_quote(ByteView data) {
  if (data.size() > kMaxQuoteSize) return malformed("quote", "is larger than 1 MiB");
  Quote q;
  Cursor c(data);
  CCI_ASSIGN(version, c.u16("version"));
  q.version = version;
  if (q.version != 4 && q.version != 5) {
    return make_error(ErrorCode::kUnsupported, "TDX quote: version " + std::to_string(q.version) + " (this verifier reads versions 4 and 5)", "version");
  }
  CCI_ASSIGN(key_type, c.u16("att_key_type"));
  q.att_key_type = key_type;
  if (q.att_key_type != kAttKeyEcdsaP256) {
    return make_error(ErrorCode::kUnsupported, "TDX quote: attestation key type " + std::to_string(q.att_key_type) + " (only 2, ECDSA-256-with-P-256)",
                      "att_key_type");
  }
  CCI_ASSIGN(tee, c.u32("tee_type"));
  q.tee_type = tee;
  if (q.tee_type != kTeeTypeTdx) {
    return make_error(ErrorCode::kUnsupported, "TDX quote: TEE type " + std::to_string(q.tee_type) + " is not TDX (0x81)", "tee_type");
  }
  CCI_ASSIGN(qe_svn, c.u16("qe_svn"));
  CCI_ASSIGN(pce_svn, c.u16("pce_svn"));
  q.qe_svn = qe_svn;
  q.pce_svn = pce_svn;
  CCI_TRY(c.take(q.qe_vendor_id, "qe_vendor_id"));
  if (q.qe_vendor_id != kIntelQeVendorId) return make_error(ErrorCode::kUnsupported, "TDX quote: the QE vendor is not Intel's QE", "qe_vendor_id");
  CCI_TRY(c.take(q.user_data, "user_data"));

  if (q.version == 4) {
    q.body_type = BodyType::kTd10;
  } else {
    CCI_ASSIGN(type, c.u16("body_type"));
    CCI_ASSIGN(size, c.u32("body_size"));
    if (type == 2 && size == kTd10BodySize) q.body_type = BodyType::kTd10;
    else if (type == 3 && size == kTd15BodySize) q.body_type = BodyType::kTd15;
    else if (type == 1) return make_error(ErrorCode::kUnsupported, "TDX quote: the body is an SGX enclave report (type 1), not a TD report", "body_type");
    else return malformed("body_type", "type " + std::to_string(type) + " with " + std::to_string(size) + " bytes is neither TD 1.0 (2, 584) nor TD 1.5 (3, 648)");
  }
  CCI_TRY(read_td_report(c, q.body_type, q.body));
  const size_t signed_end = c.pos();
  q.signed_bytes.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(signed_end));

  CCI_ASSIGN(sig_len, c.u32("signature_data_length"));
  q.signature_data_length = sig_len;
  if (sig_len > data.size() - c.pos()) {
    return malformed("signature_data_length", std::to_string(sig_len) + " is more than the " + std::to_string(data.size() - c.pos()) + " bytes left");
  }
  const size_t sig_end = c.pos() + sig_len;
  CCI_TRY(c.take(q.signature, "signature"));
  CCI_TRY(c.take(q.attestation_key, "attestation_key"));
  CCI_ASSIGN(cert_type, c.u16("certification_data_type"));
  if (cert_type != kCertDataQeReport) {
    return make_error(ErrorCode::kUnsupported, "TDX quote: certification data type " + std::to_string(cert_type) + " (only 6, QE report certification data)",
                      "certification_data_type");
  }
  CCI_ASSIGN(cert_size, c.u32("certification_data_size"));
  if (c.pos() > sig_end || cert_size != sig_end - c.pos()) {
    return malformed("certification_data_size", std::to_string(cert_size) + " does not end where the signature data ends");
  }
  CCI_ASSIGN(qe_raw, c.bytes(kQeReportSize, "qe_report"));
  q.qe_report = qe_report_from(qe_raw);
  CCI_TRY(c.take(q.qe_report_signature, "qe_report_signature"));
  CCI_ASSIGN(auth_len, c.u16("qe_auth_data_size"));
  if (auth_len > sig_end - std::min(sig_end, c.pos())) return malformed("qe_auth_data_size", std::to_string(auth_len) + " runs past the certification data");
  CCI_ASSIGN(auth, c.bytes(auth_len, "qe_auth_data"));
  q.qe_auth_data.assign(auth.begin(), auth.end());
  CCI_ASSIGN(inner_type, c.u16("pck_certification_data_type"));
  if (inner_type != kCertDataPckChain) {
    return make_error(ErrorCode::kUnsupported, "TDX quote: inner certification data type " + std::to_string(inner_type) + " (only 5, the PCK certificate chain)",
                      "pck_certification_data_type");
  }
  CCI_ASSIGN(inner_size, c.u32("pck_certification_data_size"));
  if (c.pos() > sig_end || inner_size != sig_end - c.pos()) {
    return malformed("pck_certification_data_size", std::to_string(inner_size) + " does not end where the signature data ends");
  }
  CCI_ASSIGN(pem, c.bytes(inner_size, "pck_cert_chain"));
  size_t n = pem.size();
  while (n > 0 && pem[n - 1] == 0) --n;  // some quote generators end the chain with a NUL
  if (n == 0) return malformed("pck_cert_chain", "is empty");
  for (size_t i = 0; i < n; ++i) {
    if (pem[i] == 0 || pem[i] > 0x7e) return malformed("pck_cert_chain", "is not PEM text (byte " + std::to_string(i) + ")");
  }
  q.pck_chain_pem.assign(pem.begin(), pem.begin() + static_cast<std::ptrdiff_t>(n));
  q.trailing_bytes = data.size() - sig_end;
  return q;
}

}  // namespace cci::tdx
