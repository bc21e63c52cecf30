#include "sim/snp_sim.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>

#include "base/byte_reader.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "crypto/random.h"
#include "crypto/x509_issue.h"
#include "evidence/sim_layout.h"
#include "sim/sim_files.h"
#include "snp/vek.h"

namespace cci::sim {
namespace {

using snp::Product;
using Json = nlohmann::ordered_json;

std::string amd_dir(const std::string& dir) { return evidence::sim_amd_dir(dir); }

std::vector<std::pair<std::string, std::string>> subject(const std::string& cn) {
  return {{"OU", "cci SIMULATED TEE (not AMD)"}, {"O", "cci simulator"}, {"CN", cn}};
}

Bytes der_uint8(std::uint8_t v) {
  if (v < 0x80) return {0x02, 0x01, v};
  return {0x02, 0x02, 0x00, v};
}

Bytes der_ia5(const std::string& s) {
  Bytes out;
  out.reserve(2 + s.size());
  out.push_back(0x16);
  out.push_back(static_cast<std::uint8_t>(s.size()));
  for (char c : s) out.push_back(static_cast<std::uint8_t>(c));  // (a range insert trips a g++ 12 -Warray-bounds false positive)
  return out;
}

// The VCEK's AMD extensions (AMD VCEK specification 57230, "VCEK Certificate Extensions") for the platform's product and TCB.
std::vector<crypto::RawExtension> vcek_extensions(const SnpPlatform& p) {
  const std::string name = p.product == Product::kMilan ? "Milan-B0" : snp::product_name(p.product);
  std::vector<crypto::RawExtension> x = {
      {snp::kOidStructVersion, der_uint8(1), false}, {snp::kOidProductName, der_ia5(name), false},
      {snp::kOidBlSpl, der_uint8(p.tcb.bootloader), false}, {snp::kOidTeeSpl, der_uint8(p.tcb.tee), false},
      {snp::kOidSnpSpl, der_uint8(p.tcb.snp), false},       {snp::kOidUcodeSpl, der_uint8(p.tcb.microcode), false},
  };
  if (p.product == Product::kTurin) x.push_back({snp::kOidFmcSpl, der_uint8(p.tcb.fmc.value_or(0)), false});
  const size_t hw = p.product == Product::kTurin ? 8 : 64;
  x.push_back({snp::kOidHwId, Bytes(p.chip_id.begin(), p.chip_id.begin() + static_cast<std::ptrdiff_t>(hw)), false});
  return x;
}

Result<crypto::Certificate> issue(const std::string& cn, std::uint64_t serial, const crypto::PublicKey& subject_key,
                                  const crypto::PrivateKey& issuer_key, const crypto::Certificate* issuer, bool ca,
                                  std::vector<crypto::RawExtension> ext = {}) {
  crypto::CertificateSpec spec = detail::sim_certificate_spec(subject(cn), serial, ca);
  if (ca) {
    spec.path_len = issuer ? std::optional<int>(0) : std::nullopt;
    spec.key_usage = issuer ? "critical,keyCertSign" : "critical,keyCertSign,cRLSign";
  }
  spec.extensions = std::move(ext);
  return crypto::issue_certificate(spec, subject_key, issuer_key, issuer, crypto::IssueSignature::kRsaPssSha384);
}

Status write_cert(const std::string& file, const crypto::Certificate& c) {
  auto pem = c.pem();
  return detail::write_public(file, ByteView(reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size()));
}

Json platform_json(const SnpPlatform& p) {
  Json tcb{{"bootloader", p.tcb.bootloader}, {"tee", p.tcb.tee}, {"snp", p.tcb.snp}, {"microcode", p.tcb.microcode}};
  if (p.tcb.fmc) tcb["fmc"] = *p.tcb.fmc;
  return Json{{"simulated", true},
              {"product", snp::product_name(p.product)},
              {"chip_id", to_hex(p.chip_id)},
              {"tcb", tcb},
              {"firmware", {{"major", p.fw_major}, {"minor", p.fw_minor}, {"build", p.fw_build}}},
              {"guest", {{"measurement", to_hex(p.guest.measurement)}, {"host_data", to_hex(p.guest.host_data)}, {"policy", "0x" + to_hex_u64(p.guest.policy)}}}};
}

Result<SnpPlatform> load_platform(const std::string& dir) {
  auto data = read_file(amd_dir(dir) + "/platform.json", 1 << 16);
  if (!data) return data.error();
  auto j = Json::parse(data->begin(), data->end(), nullptr, false);
  if (j.is_discarded() || !j.value("simulated", false)) {
    return make_error(ErrorCode::kMalformed, amd_dir(dir) + "/platform.json is not a simulator description", "platform.json");
  }
  try {
    SnpPlatform p;
    auto product = snp::product_from_name(j.at("product").get<std::string>());
    auto chip = from_hex(j.at("chip_id").get<std::string>(), "chip_id", 64);
    if (!product || !chip) return make_error(ErrorCode::kMalformed, "platform.json: bad product or chip_id", "platform.json");
    p.product = *product;
    p.chip_id = std::move(*chip);
    const auto& t = j.at("tcb");
    const std::string w = amd_dir(dir) + "/platform.json";
    auto byte = [&](const Json& o, const char* key) -> Result<std::uint8_t> {
      CCI_ASSIGN(v, detail::platform_uint(o, key, 0xff, w));
      return static_cast<std::uint8_t>(v);
    };
    CCI_SET(p.tcb.bootloader, byte(t, "bootloader"));
    CCI_SET(p.tcb.tee, byte(t, "tee"));
    CCI_SET(p.tcb.snp, byte(t, "snp"));
    CCI_SET(p.tcb.microcode, byte(t, "microcode"));
    if (t.contains("fmc")) CCI_SET(p.tcb.fmc, byte(t, "fmc"));
    const auto& fw = j.at("firmware");
    CCI_SET(p.fw_major, byte(fw, "major"));
    CCI_SET(p.fw_minor, byte(fw, "minor"));
    CCI_SET(p.fw_build, byte(fw, "build"));
    if (j.contains("guest")) {  // platforms made before the guest was recorded play an all-zero one
      const auto& g = j.at("guest");
      auto m = from_hex(g.at("measurement").get<std::string>(), "guest.measurement", 48);
      auto h = from_hex(g.at("host_data").get<std::string>(), "guest.host_data", 32);
      const std::string pol = g.at("policy").get<std::string>();
      char* end = nullptr;
      const unsigned long long policy = pol.size() > 2 && pol.size() <= 18 ? std::strtoull(pol.c_str() + 2, &end, 16) : 0;
      if (!m || !h || pol.rfind("0x", 0) != 0 || !end || *end != '\0') return make_error(ErrorCode::kMalformed, "platform.json: bad guest", "platform.json");
      p.guest.measurement = std::move(*m);
      p.guest.host_data = std::move(*h);
      p.guest.policy = policy;
    }
    return p;
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::kMalformed, "platform.json: " + std::string(e.what()), "platform.json");
  }
}

struct Cpuid {
  std::uint8_t family, model, stepping;
};
Cpuid cpuid_of(Product p) {
  switch (p) {
    case Product::kMilan: return {0x19, 0x01, 0x01};
    case Product::kGenoa: return {0x19, 0x11, 0x01};
    case Product::kTurin: return {0x1A, 0x02, 0x00};
  }
  return {0, 0, 0};
}

Status check_request(const SnpReportRequest& req) {
  if (req.report_data.size() != 64) {
    return make_error(ErrorCode::kUsage, "report data must be exactly 64 bytes, got " + std::to_string(req.report_data.size()), "report_data");
  }
  if (req.measurement && req.measurement->size() != 48) return make_error(ErrorCode::kUsage, "an SNP measurement is 48 bytes", "measurement");
  if (req.host_data && req.host_data->size() != 32) return make_error(ErrorCode::kUsage, "HOST_DATA is 32 bytes", "host_data");
  if (req.version != 2 && req.version != 3 && req.version != 5) return make_error(ErrorCode::kUsage, "report version must be 2, 3 or 5", "version");
  if (req.vmpl > 3) return make_error(ErrorCode::kUsage, "VMPL must be 0-3", "vmpl");
  return {};
}

void put_bytes(Bytes& out, size_t off, ByteView b) { std::copy(b.begin(), b.end(), out.begin() + static_cast<std::ptrdiff_t>(off)); }

// The report body [0, 0x2A0) as the firmware lays it out (ABI #56860 table 23).
Bytes report_body(const SnpPlatform& p, const SnpReportRequest& req, ByteView report_id) {
  Bytes r(snp::kReportSize, 0);
  const std::uint64_t tcb = snp::encode_tcb(p.tcb, p.product);
  put_le(r, 0x000, req.version, 4);
  put_le(r, 0x008, req.policy.value_or(p.guest.policy) | (req.debug ? 1ull << 19 : 0), 8);
  put_le(r, 0x030, req.vmpl, 4);
  put_le(r, 0x034, 1, 4);  // ECDSA P-384 with SHA-384
  put_le(r, 0x038, tcb, 8);
  put_le(r, 0x040, 0x1, 8);  // PLATFORM_INFO: SMT enabled
  put_le(r, 0x048, 0, 4);    // SIGNER_INFO: VCEK
  put_bytes(r, 0x050, req.report_data);
  put_bytes(r, 0x090, req.measurement.value_or(p.guest.measurement));
  put_bytes(r, 0x0C0, req.host_data.value_or(p.guest.host_data));
  put_bytes(r, 0x140, report_id);
  std::fill(r.begin() + 0x160, r.begin() + 0x180, 0xFF);  // REPORT_ID_MA: no migration agent
  put_le(r, 0x180, tcb, 8);
  if (req.version >= 3) {
    const Cpuid c = cpuid_of(p.product);
    r[0x188] = c.family;
    r[0x189] = c.model;
    r[0x18A] = c.stepping;
  }
  put_bytes(r, 0x1A0, p.chip_id);
  put_le(r, 0x1E0, tcb, 8);
  r[0x1E8] = p.fw_build;
  r[0x1E9] = p.fw_minor;
  r[0x1EA] = p.fw_major;
  r[0x1EC] = p.fw_build;
  r[0x1ED] = p.fw_minor;
  r[0x1EE] = p.fw_major;
  put_le(r, 0x1F0, tcb, 8);
  return r;
}

}  // namespace

SnpPlatform default_snp_platform(Product p) {
  SnpPlatform out;
  out.product = p;
  if (p == Product::kTurin) {
    out.tcb.fmc = 1;
    out.tcb.bootloader = 1;
    out.tcb.tee = 1;
    out.tcb.snp = 4;
    out.tcb.microcode = 81;
  } else {
    out.tcb.bootloader = 4;
    out.tcb.tee = 0;
    out.tcb.snp = 24;
    out.tcb.microcode = 219;
  }
  return out;
}


Status init_snp_sim(const std::string& dir, const SnpPlatform& in) {
  SnpPlatform p = in;
  if (p.chip_id.empty()) {
    auto chip = crypto::random_bytes(64);
    if (!chip) return chip.error();
    p.chip_id = std::move(*chip);
    if (p.product == Product::kTurin) std::fill(p.chip_id.begin() + 8, p.chip_id.end(), 0);  // Turin: 8-byte hardware ID
  }
  if (p.chip_id.size() != 64) return make_error(ErrorCode::kUsage, "chip ID must be 64 bytes", "chip_id");
  if (p.guest.measurement.size() != 48) return make_error(ErrorCode::kUsage, "an SNP measurement is 48 bytes", "measurement");
  if (p.guest.host_data.size() != 32) return make_error(ErrorCode::kUsage, "HOST_DATA is 32 bytes", "host_data");
  if (p.product == Product::kTurin && !p.tcb.fmc) p.tcb.fmc = 0;
  auto created = detail::create_platform_dir(dir, "amd");
  if (!created) return created.error();
  const std::string& d = *created;
  const std::string P = snp::product_name(p.product);
  auto ark_key = crypto::generate_rsa_key(4096);
  auto ask_key = crypto::generate_rsa_key(4096);
  auto vcek_key = crypto::generate_key(crypto::KeyType::kEcP384);
  if (!ark_key) return ark_key.error();
  if (!ask_key) return ask_key.error();
  if (!vcek_key) return vcek_key.error();
  auto ark = issue("ARK-" + P, 0x10000, ark_key->public_key(), *ark_key, nullptr, true);
  if (!ark) return ark.error();
  auto ask = issue("SEV-" + P, 0x10001, ask_key->public_key(), *ark_key, &*ark, true);
  if (!ask) return ask.error();
  auto vcek = issue("SEV-VCEK", 0, vcek_key->public_key(), *ask_key, &*ask, false, vcek_extensions(p));
  if (!vcek) return vcek.error();
  CCI_TRY(detail::write_private_key(d + "/ark.key", *ark_key));
  CCI_TRY(detail::write_private_key(d + "/ask.key", *ask_key));
  CCI_TRY(detail::write_private_key(d + "/vcek.key", *vcek_key));
  CCI_TRY(write_cert(d + "/ark.pem", *ark));
  CCI_TRY(write_cert(d + "/ask.pem", *ask));
  CCI_TRY(write_cert(d + "/vcek.pem", *vcek));
  const std::string chain = ask->pem() + ark->pem();  // as KDS serves cert_chain: ASK, then ARK
  CCI_TRY(detail::write_public(d + "/cert_chain.pem", ByteView(reinterpret_cast<const std::uint8_t*>(chain.data()), chain.size())));
  const std::time_t now = std::time(nullptr);
  auto crl = crypto::issue_crl({now - 86400, now + 365L * 86400, {}}, *ark_key, *ark, crypto::IssueSignature::kRsaPssSha384);
  if (!crl) return crl.error();
  CCI_TRY(detail::write_public(d + "/crl.der", crl->der()));
  const std::string pj = platform_json(p).dump(2) + "\n";
  return detail::write_public(d + "/platform.json", ByteView(reinterpret_cast<const std::uint8_t*>(pj.data()), pj.size()));
}

Result<Bytes> snp_sim_report(const std::string& dir, const SnpReportRequest& req) {
  CCI_TRY(check_request(req));
  auto p = load_platform(dir);
  if (!p) return p.error();
  auto key = detail::read_private_key(amd_dir(dir) + "/vcek.key");
  if (!key) return key.error();
  auto report_id = crypto::random_bytes(32);
  if (!report_id) return report_id.error();
  Bytes r = report_body(*p, req, *report_id);
  crypto::SignOptions o;
  o.digest = crypto::DigestAlg::kSha384;
  auto der = crypto::sign(*key, ByteView(r).first(snp::kSignedSize), o);
  if (!der) return der.error();
  auto rs = crypto::ecdsa_der_to_le_rs(*der, 48);
  if (!rs) return rs.error();
  put_bytes(r, 0x2A0, rs->first);
  put_bytes(r, 0x2E8, rs->second);
  return r;
}

}  // namespace cci::sim
