// See tdx_sim.h. Formats: Intel TDX DCAP Quote Generation Library and Quote Verification Library
// API ("Quote Format", v4 and v5), Intel TDX Module ABI ("TDREPORT_STRUCT"), Intel SGX PCK
// Certificate and CRL Profile Specification ("PCK Certificate", SGX extensions), Intel SGX and
// TDX PCS API v4 ("Get TDX TCB Info", "Get TDX QE Identity").
#include "sim/tdx_sim.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "base/byte_reader.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "base/text.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "crypto/x509_issue.h"
#include "evidence/sim_layout.h"
#include "sim/sim_files.h"
#include "tdx/pck.h"
#include "tdx/quote.h"

namespace cci::sim {
namespace {

using Json = nlohmann::ordered_json;

std::string intel_dir(const std::string& dir) { return evidence::sim_intel_dir(dir); }

ByteView text_bytes(const std::string& s) { return ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }

// --- DER (ITU-T X.690), just enough for the PCK certificate's SGX extension ---

Bytes der(std::uint8_t tag, ByteView content) {
  Bytes out{tag};
  const size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else if (n < 0x100) {
    out.insert(out.end(), {0x81, static_cast<std::uint8_t>(n)});
  } else {
    out.insert(out.end(), {0x82, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
  }
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

Bytes der_uint(unsigned v, std::uint8_t tag = 0x02) {
  Bytes b;
  do {
    b.insert(b.begin(), static_cast<std::uint8_t>(v & 0xff));
    v >>= 8;
  } while (v != 0);
  if (b[0] & 0x80) b.insert(b.begin(), 0x00);
  return der(tag, b);
}

// 1.2.840.113741.1.13.1[.a[.b]]
Bytes sgx_oid(unsigned a, unsigned b = 0) {
  Bytes content = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01, static_cast<std::uint8_t>(a)};
  if (b != 0) content.push_back(static_cast<std::uint8_t>(b));
  return der(0x06, content);
}

Bytes pair(const Bytes& oid, const Bytes& value) {
  Bytes c = oid;
  c.insert(c.end(), value.begin(), value.end());
  return der(0x30, c);
}

// The SGX extension's extnValue: PPID, TCB (16 components, PCESVN, CPUSVN), PCE-ID, FMSPC, SGX type.
Bytes pck_extension(const TdxPlatform& p, ByteView ppid) {
  Bytes tcb;
  for (unsigned i = 1; i <= 16; ++i) {
    Bytes e = pair(sgx_oid(2, i), der_uint(p.cpu_svn[i - 1]));
    tcb.insert(tcb.end(), e.begin(), e.end());
  }
  Bytes e17 = pair(sgx_oid(2, 17), der_uint(p.pce_svn));
  Bytes e18 = pair(sgx_oid(2, 18), der(0x04, p.cpu_svn));
  tcb.insert(tcb.end(), e17.begin(), e17.end());
  tcb.insert(tcb.end(), e18.begin(), e18.end());
  Bytes items;
  for (const Bytes& item : {pair(sgx_oid(1), der(0x04, ppid)), pair(sgx_oid(2), der(0x30, tcb)), pair(sgx_oid(3), der(0x04, Bytes{0x00, 0x00})),
                            pair(sgx_oid(4), der(0x04, p.fmspc)), pair(sgx_oid(5), der_uint(0, 0x0a))}) {
    items.insert(items.end(), item.begin(), item.end());
  }
  return der(0x30, items);
}

// --- the simulated PKI ---

Result<crypto::Certificate> issue(const std::string& cn, std::uint64_t serial, const crypto::PublicKey& subject_key, const crypto::PrivateKey& issuer_key,
                                  const crypto::Certificate* issuer, bool ca, std::vector<crypto::RawExtension> ext = {}) {
  crypto::CertificateSpec spec = detail::sim_certificate_spec({{"OU", "cci SIMULATED TEE (not Intel)"}, {"O", "cci simulator"}, {"CN", cn}}, serial, ca);
  if (ca) {
    spec.path_len = issuer ? std::optional<int>(0) : std::optional<int>(1);
    spec.key_usage = "critical,keyCertSign,cRLSign";
  } else {
    spec.key_usage = "critical,digitalSignature,nonRepudiation";
  }
  spec.extensions = std::move(ext);
  return crypto::issue_certificate(spec, subject_key, issuer_key, issuer, crypto::IssueSignature::kEcdsaSha256);
}

Status write_text(const std::string& file, const std::string& text) { return detail::write_public(file, text_bytes(text)); }

// ECDSA P-256 over SHA-256, as r || s big-endian (32 bytes each): how Intel's quotes and
// collateral carry signatures.
Result<Bytes> sign_rs(const crypto::PrivateKey& key, ByteView msg) {
  crypto::SignOptions o;
  o.digest = crypto::DigestAlg::kSha256;
  CCI_ASSIGN(sig, crypto::sign(key, msg, o));
  CCI_ASSIGN(rs, crypto::ecdsa_der_to_le_rs(sig, 32));
  Bytes out(rs.first.rbegin(), rs.first.rend());
  out.insert(out.end(), rs.second.rbegin(), rs.second.rend());
  return out;
}

std::string upper_hex(ByteView b) {
  std::string s = to_hex(b);
  std::transform(s.begin(), s.end(), s.begin(), [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
  return s;
}

// {"<key>":<value>,"signature":"<r||s hex>"}: the signature over the value's exact bytes.
Result<std::string> signed_body(const std::string& key, const Json& value, const crypto::PrivateKey& signer) {
  const std::string v = value.dump();
  CCI_ASSIGN(sig, sign_rs(signer, text_bytes(v)));
  return "{\"" + key + "\":" + v + ",\"signature\":\"" + to_hex(sig) + "\"}";
}

// Fixed values of the simulated QE and TDX module (no Intel enclave or module has them).
Bytes qe_mrsigner() { return crypto::digest(crypto::DigestAlg::kSha256, text_bytes("cci SIMULATED TD_QE signer")); }
Bytes qe_mrenclave() { return crypto::digest(crypto::DigestAlg::kSha256, text_bytes("cci SIMULATED TD_QE")); }
Bytes module_mrseam() { return crypto::digest(crypto::DigestAlg::kSha384, text_bytes("cci SIMULATED TDX module")); }
constexpr std::uint16_t kQeProdId = 2;
constexpr std::uint8_t kQeAttributes0 = 0x11;  // INIT | MODE64BIT

Json level_status(const std::string& date) { return Json{{"tcbDate", date}, {"tcbStatus", "UpToDate"}}; }

Json tcb_info(const TdxPlatform& p, std::time_t now) {
  const std::string date = rfc3339_utc(now - 86400);
  Json sgx = Json::array(), tdx = Json::array();
  for (std::uint8_t s : p.cpu_svn) sgx.push_back(Json{{"svn", s}});
  for (std::uint8_t s : p.tee_tcb_svn) tdx.push_back(Json{{"svn", s}});
  Json level{{"tcb", {{"sgxtcbcomponents", sgx}, {"pcesvn", p.pce_svn}, {"tdxtcbcomponents", tdx}}}};
  level.update(level_status(date));
  Json module_level{{"tcb", {{"isvsvn", p.tee_tcb_svn[0]}}}};
  module_level.update(level_status(date));
  char id[8];
  std::snprintf(id, sizeof id, "TDX_%02X", p.tee_tcb_svn[1]);
  const std::string zeros(96, '0');
  return Json{{"id", "TDX"},
              {"version", 3},
              {"issueDate", rfc3339_utc(now - 3600)},
              {"nextUpdate", rfc3339_utc(now + 365L * 86400)},
              {"fmspc", upper_hex(p.fmspc)},
              {"pceId", "0000"},
              {"tcbType", 0},
              {"tcbEvaluationDataNumber", p.tcb_evaluation_number},
              {"tdxModule", {{"mrsigner", zeros}, {"attributes", "0000000000000000"}, {"attributesMask", "FFFFFFFFFFFFFFFF"}}},
              {"tdxModuleIdentities",
               Json::array({Json{{"id", id}, {"mrsigner", zeros}, {"attributes", "0000000000000000"}, {"attributesMask", "FFFFFFFFFFFFFFFF"},
                                 {"tcbLevels", Json::array({module_level})}}})},
              {"tcbLevels", Json::array({level})}};
}

Json qe_identity(const TdxPlatform& p, std::time_t now) {
  Json level{{"tcb", {{"isvsvn", p.qe_svn}}}};
  level.update(level_status(rfc3339_utc(now - 86400)));
  return Json{{"id", "TD_QE"},
              {"version", 2},
              {"issueDate", rfc3339_utc(now - 3600)},
              {"nextUpdate", rfc3339_utc(now + 365L * 86400)},
              {"tcbEvaluationDataNumber", p.tcb_evaluation_number},
              {"miscselect", "00000000"},
              {"miscselectMask", "FFFFFFFF"},
              {"attributes", "11000000000000000000000000000000"},
              {"attributesMask", "FBFFFFFFFFFFFFFF0000000000000000"},
              {"mrsigner", upper_hex(qe_mrsigner())},
              {"isvprodid", kQeProdId},
              {"tcbLevels", Json::array({level})}};
}

template <size_t N>
Json hex_array(const std::array<std::uint8_t, N>& a) {
  return to_hex(ByteView(a.data(), a.size()));
}

Json platform_json(const TdxPlatform& p) {
  Json rtmr = Json::array();
  for (const auto& r : p.guest.rtmr) rtmr.push_back(to_hex(r));
  return Json{{"simulated", true},
              {"fmspc", hex_array(p.fmspc)},
              {"cpu_svn", hex_array(p.cpu_svn)},
              {"pce_svn", p.pce_svn},
              {"tee_tcb_svn", hex_array(p.tee_tcb_svn)},
              {"qe_svn", p.qe_svn},
              {"tcb_evaluation_number", p.tcb_evaluation_number},
              {"guest",
               {{"mr_td", to_hex(p.guest.mr_td)},
                {"mr_config_id", to_hex(p.guest.mr_config_id)},
                {"rtmr", rtmr},
                {"td_attributes", "0x" + to_hex_u64(p.guest.td_attributes)},
                {"xfam", "0x" + to_hex_u64(p.guest.xfam)}}}};
}

template <size_t N>
Status hex_field(const Json& j, const char* key, std::array<std::uint8_t, N>& out) {
  auto b = from_hex(j.at(key).get<std::string>(), key, N);
  if (!b) return make_error(ErrorCode::kMalformed, "platform.json: " + b.error().message, "platform.json");
  std::copy(b->begin(), b->end(), out.begin());
  return {};
}

Result<Bytes> hex_bytes(const Json& j, const char* key, size_t n) {
  auto b = from_hex(j.get<std::string>(), key, n);
  if (!b) return make_error(ErrorCode::kMalformed, "platform.json: " + b.error().message, "platform.json");
  return b;
}

Result<std::uint64_t> hex_u64(const Json& j, const char* key) {
  const std::string s = j.get<std::string>();
  char* end = nullptr;
  const unsigned long long v = s.size() > 2 && s.size() <= 18 && s.rfind("0x", 0) == 0 ? std::strtoull(s.c_str() + 2, &end, 16) : 0;
  if (!end || *end != '\0') return make_error(ErrorCode::kMalformed, std::string("platform.json: bad ") + key, "platform.json");
  return static_cast<std::uint64_t>(v);
}

Result<TdxPlatform> load_platform(const std::string& dir) {
  CCI_ASSIGN(data, read_file(intel_dir(dir) + "/platform.json", 1 << 16));
  auto j = Json::parse(data.begin(), data.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.value("simulated", false)) {
    return make_error(ErrorCode::kMalformed, intel_dir(dir) + "/platform.json is not a simulator description", "platform.json");
  }
  try {
    TdxPlatform p;
    CCI_TRY(hex_field(j, "fmspc", p.fmspc));
    CCI_TRY(hex_field(j, "cpu_svn", p.cpu_svn));
    CCI_TRY(hex_field(j, "tee_tcb_svn", p.tee_tcb_svn));
    const std::string w = intel_dir(dir) + "/platform.json";
    CCI_ASSIGN(pce_svn, detail::platform_uint(j, "pce_svn", 0xffff, w));
    CCI_ASSIGN(qe_svn, detail::platform_uint(j, "qe_svn", 0xffff, w));
    CCI_ASSIGN(eval, detail::platform_uint(j, "tcb_evaluation_number", 0xffffffff, w));
    p.pce_svn = static_cast<std::uint16_t>(pce_svn);
    p.qe_svn = static_cast<std::uint16_t>(qe_svn);
    p.tcb_evaluation_number = static_cast<unsigned>(eval);
    const Json& g = j.at("guest");
    CCI_SET(p.guest.mr_td, hex_bytes(g.at("mr_td"), "guest.mr_td", 48));
    CCI_SET(p.guest.mr_config_id, hex_bytes(g.at("mr_config_id"), "guest.mr_config_id", 48));
    const Json& rt = g.at("rtmr");
    if (!rt.is_array() || rt.size() != 4) return make_error(ErrorCode::kMalformed, "platform.json: guest.rtmr is not four registers", "platform.json");
    for (size_t i = 0; i < 4; ++i) CCI_SET(p.guest.rtmr[i], hex_bytes(rt[i], "guest.rtmr", 48));
    CCI_SET(p.guest.td_attributes, hex_u64(g.at("td_attributes"), "guest.td_attributes"));
    CCI_SET(p.guest.xfam, hex_u64(g.at("xfam"), "guest.xfam"));
    return p;
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::kMalformed, "platform.json: " + std::string(e.what()), "platform.json");
  }
}

void put(Bytes& out, ByteView b) { out.insert(out.end(), b.begin(), b.end()); }
void put_u16(Bytes& out, std::uint16_t v) { out.insert(out.end(), {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8)}); }
void put_u32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_u64(Bytes& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// The quote's header and TD report body: the bytes the attestation key signs.
Bytes signed_part(const TdxPlatform& p, const TdxQuoteRequest& req) {
  Bytes q;
  put_u16(q, static_cast<std::uint16_t>(req.version));
  put_u16(q, tdx::kAttKeyEcdsaP256);
  put_u32(q, tdx::kTeeTypeTdx);
  put_u16(q, p.qe_svn);
  put_u16(q, p.pce_svn);
  put(q, tdx::kIntelQeVendorId);
  q.resize(tdx::kHeaderSize, 0);  // user data: zero
  if (req.version == 5) {
    put_u16(q, 3);  // TD 1.5 report body
    put_u32(q, static_cast<std::uint32_t>(tdx::kTd15BodySize));
  }
  put(q, p.tee_tcb_svn);
  put(q, module_mrseam());
  q.resize(q.size() + 48 + 8, 0);  // MRSIGNERSEAM (Intel's module: zero), SEAMATTRIBUTES
  put_u64(q, p.guest.td_attributes | (req.debug ? 1u : 0u));
  put_u64(q, p.guest.xfam);
  put(q, req.mr_td.value_or(p.guest.mr_td));
  put(q, p.guest.mr_config_id);
  q.resize(q.size() + 2 * 48, 0);  // MROWNER, MROWNERCONFIG
  for (const auto& r : p.guest.rtmr) put(q, r);
  put(q, req.report_data);
  if (req.version == 5) {
    put(q, p.tee_tcb_svn);         // TEE_TCB_SVN2
    q.resize(q.size() + 48, 0);    // MRSERVICETD
  }
  return q;
}

// The QE's SGX report body (sgx_report_body_t) binding the attestation key.
Bytes qe_report(const TdxPlatform& p, ByteView attestation_key, ByteView auth_data) {
  Bytes r(tdx::kQeReportSize, 0);
  std::copy(p.cpu_svn.begin(), p.cpu_svn.end(), r.begin());
  r[48] = kQeAttributes0;
  const Bytes enclave = qe_mrenclave(), signer = qe_mrsigner();
  std::copy(enclave.begin(), enclave.end(), r.begin() + 64);
  std::copy(signer.begin(), signer.end(), r.begin() + 128);
  put_le(r, 256, kQeProdId, 2);
  put_le(r, 258, p.qe_svn, 2);
  Bytes bound(attestation_key.begin(), attestation_key.end());
  bound.insert(bound.end(), auth_data.begin(), auth_data.end());
  const Bytes h = crypto::digest(crypto::DigestAlg::kSha256, bound);
  std::copy(h.begin(), h.end(), r.begin() + 320);
  return r;
}

Status check_request(const TdxQuoteRequest& req) {
  if (req.report_data.size() != 64) {
    return make_error(ErrorCode::kUsage, "report data must be exactly 64 bytes, got " + std::to_string(req.report_data.size()), "report_data");
  }
  if (req.mr_td && req.mr_td->size() != 48) return make_error(ErrorCode::kUsage, "an MRTD is 48 bytes", "measurement");
  if (req.version != 4 && req.version != 5) return make_error(ErrorCode::kUsage, "a TDX quote version is 4 or 5", "version");
  return {};
}

}  // namespace

Status init_tdx_sim(const std::string& dir, const TdxPlatform& p) {
  if (p.guest.mr_td.size() != 48 || p.guest.mr_config_id.size() != 48) return make_error(ErrorCode::kUsage, "MRTD and MRCONFIGID are 48 bytes", "measurement");
  for (const auto& r : p.guest.rtmr) {
    if (r.size() != 48) return make_error(ErrorCode::kUsage, "an RTMR is 48 bytes", "rtmr");
  }
  CCI_ASSIGN(d, detail::create_platform_dir(dir, "intel"));
  CCI_ASSIGN(root_key, crypto::generate_key(crypto::KeyType::kEcP256));
  CCI_ASSIGN(ca_key, crypto::generate_key(crypto::KeyType::kEcP256));
  CCI_ASSIGN(pck_key, crypto::generate_key(crypto::KeyType::kEcP256));
  CCI_ASSIGN(tcb_key, crypto::generate_key(crypto::KeyType::kEcP256));
  CCI_ASSIGN(ak, crypto::generate_key(crypto::KeyType::kEcP256));
  CCI_ASSIGN(ppid, crypto::random_bytes(16));
  CCI_ASSIGN(root, issue("cci SIMULATED Intel SGX Root CA", 1, root_key.public_key(), root_key, nullptr, true));
  CCI_ASSIGN(ca, issue("cci SIMULATED Intel SGX PCK Platform CA", 2, ca_key.public_key(), root_key, &root, true));
  CCI_ASSIGN(tcb_signing, issue("cci SIMULATED Intel SGX TCB Signing", 3, tcb_key.public_key(), root_key, &root, false));
  CCI_ASSIGN(pck, issue("cci SIMULATED Intel SGX PCK Certificate", 0x5100, pck_key.public_key(), ca_key, &ca, false,
                        {{tdx::kOidSgxExtensions, pck_extension(p, ppid), false}}));
  CCI_TRY(detail::write_private_key(d + "/root.key", root_key));
  CCI_TRY(detail::write_private_key(d + "/pck_ca.key", ca_key));
  CCI_TRY(detail::write_private_key(d + "/pck.key", pck_key));
  CCI_TRY(detail::write_private_key(d + "/tcb_signing.key", tcb_key));
  CCI_TRY(detail::write_private_key(d + "/attestation.key", ak));
  CCI_TRY(write_text(d + "/root.pem", root.pem()));
  CCI_TRY(write_text(d + "/pck_ca.pem", ca.pem()));
  CCI_TRY(write_text(d + "/pck.pem", pck.pem()));
  CCI_TRY(write_text(d + "/tcb_signing.pem", tcb_signing.pem()));

  // What Intel's PCS would serve for this FMSPC.
  const std::string k = evidence::sim_tdx_collateral_dir(dir);
  if (::mkdir(k.c_str(), 0755) != 0) return make_error(ErrorCode::kIo, "cannot create " + k, k);
  const std::time_t now = std::time(nullptr);
  CCI_ASSIGN(tcb_body, signed_body("tcbInfo", tcb_info(p, now), tcb_key));
  CCI_ASSIGN(qe_body, signed_body("enclaveIdentity", qe_identity(p, now), tcb_key));
  CCI_TRY(write_text(k + "/tcb_info.json", tcb_body));
  CCI_TRY(write_text(k + "/qe_identity.json", qe_body));
  CCI_TRY(write_text(k + "/tcb_info_issuer_chain.pem", tcb_signing.pem() + root.pem()));
  CCI_TRY(write_text(k + "/qe_identity_issuer_chain.pem", tcb_signing.pem() + root.pem()));
  CCI_TRY(write_text(k + "/pck_crl_issuer_chain.pem", ca.pem() + root.pem()));
  CCI_ASSIGN(root_crl, crypto::issue_crl({now - 3600, now + 365L * 86400, {}}, root_key, root, crypto::IssueSignature::kEcdsaSha256));
  CCI_ASSIGN(pck_crl, crypto::issue_crl({now - 3600, now + 365L * 86400, {}}, ca_key, ca, crypto::IssueSignature::kEcdsaSha256));
  CCI_TRY(detail::write_public(k + "/root_ca_crl.der", root_crl.der()));
  CCI_TRY(detail::write_public(k + "/pck_crl.der", pck_crl.der()));
  return write_text(d + "/platform.json", platform_json(p).dump(2) + "\n");
}

Result<Bytes> tdx_sim_quote(const std::string& dir, const TdxQuoteRequest& req) {
  CCI_TRY(check_request(req));
  CCI_ASSIGN(p, load_platform(dir));
  CCI_ASSIGN(ak, detail::read_private_key(intel_dir(dir) + "/attestation.key"));
  CCI_ASSIGN(pck_key, detail::read_private_key(intel_dir(dir) + "/pck.key"));
  std::string chain;
  for (const char* f : {"/pck.pem", "/pck_ca.pem", "/root.pem"}) {
    CCI_ASSIGN(pem, read_file(intel_dir(dir) + f, 1 << 16));
    chain.append(pem.begin(), pem.end());
  }
  Bytes quote = signed_part(p, req);
  CCI_ASSIGN(sig, sign_rs(ak, quote));
  CCI_ASSIGN(xy, crypto::ec_public_xy(ak.public_key(), 32));
  Bytes ak_pub = xy.first;
  put(ak_pub, xy.second);
  Bytes auth(32);
  for (size_t i = 0; i < auth.size(); ++i) auth[i] = static_cast<std::uint8_t>(i);
  const Bytes report = qe_report(p, ak_pub, auth);
  CCI_ASSIGN(qe_sig, sign_rs(pck_key, report));

  Bytes cert;  // QE report certification data (type 6), the PCK chain (type 5) inside
  put(cert, report);
  put(cert, qe_sig);
  put_u16(cert, static_cast<std::uint16_t>(auth.size()));
  put(cert, auth);
  put_u16(cert, tdx::kCertDataPckChain);
  put_u32(cert, static_cast<std::uint32_t>(chain.size()));
  put(cert, text_bytes(chain));
  Bytes sig_data;
  put(sig_data, sig);
  put(sig_data, ak_pub);
  put_u16(sig_data, tdx::kCertDataQeReport);
  put_u32(sig_data, static_cast<std::uint32_t>(cert.size()));
  put(sig_data, cert);
  put_u32(quote, static_cast<std::uint32_t>(sig_data.size()));
  put(quote, sig_data);
  return quote;
}

}  // namespace cci::sim
