// See trustee_evidence.h.
#include "kbs/trustee_evidence.h"

#include "base/hex.h"
#include "crypto/x509.h"
#include "csv/report.h"
#include "kbs/client.h"
#include "snp/report.h"
#include "tdx/quote.h"

namespace cci::kbs {
namespace {

using nlohmann::json;

json byte_array(ByteView b) {
  json a = json::array();
  for (std::uint8_t v : b) a.push_back(v);
  return a;
}

json tcb_json(std::uint64_t raw, snp::Product p) {
  const snp::Tcb t = snp::decode_tcb(raw, p);
  return {{"fmc", t.fmc ? json(*t.fmc) : json(nullptr)}, {"bootloader", t.bootloader}, {"tee", t.tee}, {"snp", t.snp}, {"microcode", t.microcode}};
}

json version_json(std::uint8_t major, std::uint8_t minor, std::uint8_t build) { return {{"major", major}, {"minor", minor}, {"build", build}}; }

}  // namespace

Result<json> snp_evidence(ByteView report, const std::vector<SnpCert>& certs) {
  CCI_ASSIGN(r, snp::parse_report(report));
  if (r.version != 2 && r.version != 3 && r.version != 5) {
    return make_error(ErrorCode::kUnsupported,
                      "SEV-SNP report version " + std::to_string(r.version) +
                          ": trustee's JSON evidence is written here for versions 2, 3 and 5 only (the sev crate reads a version 4 report "
                          "as version 3 and would drop bytes the signature covers)",
                      "version");
  }
  // The TCB layout follows the product: Turin's has an FMC byte. A v2 report names no CPUID
  // and predates Turin.
  snp::Product product = snp::Product::kMilan;
  if (r.cpuid_family && r.cpuid_model) {
    if (auto p = snp::product_from_cpuid(*r.cpuid_family, *r.cpuid_model)) product = *p;
  }
  json a = json::object();
  a["version"] = r.version;
  a["guest_svn"] = r.guest_svn;
  a["policy"] = r.policy;
  a["family_id"] = byte_array(r.family_id);
  a["image_id"] = byte_array(r.image_id);
  a["vmpl"] = r.vmpl;
  a["sig_algo"] = r.signature_algo;
  a["current_tcb"] = tcb_json(r.current_tcb, product);
  a["plat_info"] = r.platform_info;
  a["key_info"] = r.signer_info;
  a["report_data"] = byte_array(r.report_data);
  a["measurement"] = byte_array(r.measurement);
  a["host_data"] = byte_array(r.host_data);
  a["id_key_digest"] = byte_array(r.id_key_digest);
  a["author_key_digest"] = byte_array(r.author_key_digest);
  a["report_id"] = byte_array(r.report_id);
  a["report_id_ma"] = byte_array(r.report_id_ma);
  a["reported_tcb"] = tcb_json(r.reported_tcb, product);
  // v2 reports have no CPUID bytes; the sev crate writes them as null there.
  a["cpuid_fam_id"] = r.cpuid_family ? json(*r.cpuid_family) : json(nullptr);
  a["cpuid_mod_id"] = r.cpuid_model ? json(*r.cpuid_model) : json(nullptr);
  a["cpuid_step"] = r.cpuid_stepping ? json(*r.cpuid_stepping) : json(nullptr);
  a["chip_id"] = byte_array(r.chip_id);
  a["committed_tcb"] = tcb_json(r.committed_tcb, product);
  a["current"] = version_json(r.current_major, r.current_minor, r.current_build);
  a["committed"] = version_json(r.committed_major, r.committed_minor, r.committed_build);
  a["launch_tcb"] = tcb_json(r.launch_tcb, product);
  if (r.version >= 5) {
    // SEV-SNP ABI 1.57+: LAUNCH_MIT_VECTOR at 0x1F8, CURRENT_MIT_VECTOR at 0x200.
    a["launch_mit_vector"] = r.launch_mit_vector.value_or(0);
    a["current_mit_vector"] = r.current_mit_vector.value_or(0);
  }
  a["signature"] = {{"r", byte_array(r.sig_r)}, {"s", byte_array(r.sig_s)}};
  json chain = nullptr;
  if (!certs.empty()) {
    chain = json::array();
    for (const auto& c : certs) {
      if (c.type != "ARK" && c.type != "ASK" && c.type != "VCEK" && c.type != "VLEK") {
        return make_error(ErrorCode::kInvalidInput, "certificate type '" + c.type + "': ARK, ASK, VCEK or VLEK", "cert_type");
      }
      chain.push_back({{"cert_type", c.type}, {"data", byte_array(c.der)}});
    }
  }
  return json{{"attestation_report", std::move(a)}, {"cert_chain", std::move(chain)}};
}

namespace {

std::uint32_t le32(ByteView b, size_t off) {
  return static_cast<std::uint32_t>(b[off]) | static_cast<std::uint32_t>(b[off + 1]) << 8 | static_cast<std::uint32_t>(b[off + 2]) << 16 |
         static_cast<std::uint32_t>(b[off + 3]) << 24;
}

// One of a CSV certificate's two signature slots (Hygon's CSV API, "Certificate" layout):
// usage, algorithm, r and s (72 bytes each, little-endian), 368 reserved bytes.
json csv_sig_json(ByteView s) {
  return {{"usage", le32(s, 0)}, {"algo", le32(s, 4)},
          {"signature", {{"r", byte_array(s.subspan(8, csv::kEccFieldSize))}, {"s", byte_array(s.subspan(8 + csv::kEccFieldSize, csv::kEccFieldSize))}}},
          {"_reserved", byte_array(s.subspan(8 + 2 * csv::kEccFieldSize, 368))}};
}

// The 2084-byte PEK field by field, as csv-rs's serde writes its Certificate (the field order is
// the binary layout).
json pek_json(ByteView c) {
  json key = {{"g", le32(c, 0x010)}, {"x", byte_array(c.subspan(0x014, csv::kEccFieldSize))}, {"y", byte_array(c.subspan(0x05C, csv::kEccFieldSize))}};
  json data = {{"firmware", {{"major", c[0x004]}, {"minor", c[0x005]}}},
               {"reserved1", static_cast<unsigned>(c[0x006]) | static_cast<unsigned>(c[0x007]) << 8},
               {"pubkey", {{"usage", le32(c, 0x008)}, {"algo", le32(c, 0x00C)}, {"key", std::move(key)}}},
               {"uid_size", static_cast<unsigned>(c[0x0A4]) | static_cast<unsigned>(c[0x0A5]) << 8},
               {"user_id", byte_array(c.subspan(0x0A6, 254))},
               {"sid", byte_array(c.subspan(0x1A4, 16))},
               {"reserved2", byte_array(c.subspan(0x1B4, 608))}};
  return {{"body", {{"ver", le32(c, 0x000)}, {"data", std::move(data)}}}, {"sigs", json::array({csv_sig_json(c.subspan(0x414, 0x208)), csv_sig_json(c.subspan(0x61C, 0x208))})}};
}

}  // namespace

Result<json> csv_evidence(ByteView report, const std::optional<std::string>& cc_eventlog) {
  CCI_ASSIGN(r, csv::parse_report(report));
  // csv-rs AttestationReportWrapper: a V2 report is flagged by the "ATTESTATION_EXT" magic and
  // flags 1; a V1 report by zero magic and flags 0.
  constexpr size_t kPek = 0x150, kChipId = kPek + csv::kCsvCertSize, kReserved = kChipId + 64, kMac = kReserved + 32;
  Bytes page(csv::kReportPageSize, 0);
  std::copy(r.raw.begin(), r.raw.end(), page.begin());
  Bytes magic(16, 0);
  unsigned flags = 0;
  size_t pek_off = kPek, chip_off = kChipId;
  if (r.version == csv::ReportVersion::kV1) {
    // Unmask PEK and chip ID with anonce (its little-endian bytes, counted from 0x150, which is
    // 4-aligned), then zero the reserved bytes, as csv-rs hands the page on.
    if (r.pek_encoding == csv::PekEncoding::kMasked) {
      for (size_t i = kPek; i < kReserved; ++i) page[i] ^= static_cast<std::uint8_t>(r.anonce >> (8 * (i % 4)));
    }
    std::fill(page.begin() + kReserved, page.begin() + kMac, 0);
  } else {
    static const char kExt[] = "ATTESTATION_EXT";
    std::copy(kExt, kExt + 15, magic.begin());
    flags = 1;
    pek_off = 0x490;
    chip_off = pek_off + csv::kCsvCertSize;
  }
  const ByteView p(page);
  json out;
  out["attestation_report"] = {{"magic", byte_array(magic)}, {"flags", flags}, {"data", byte_array(p)}};
  out["cert_chain"] = {{"pek", pek_json(p.subspan(pek_off, csv::kCsvCertSize))}};
  out["serial_number"] = byte_array(p.subspan(chip_off, 64));
  out["cc_eventlog"] = cc_eventlog ? json(*cc_eventlog) : json(nullptr);
  return out;
}

Result<json> tdx_evidence(ByteView quote, const std::optional<std::string>& cc_eventlog) {
  CCI_ASSIGN(q, tdx::parse_quote(quote));
  (void)q;
  return json{{"cc_eventlog", cc_eventlog ? json(*cc_eventlog) : json(nullptr)}, {"quote", base64_encode(quote)}};
}

Result<std::string> kbs_tee_for(const std::string& tee, const std::string& requested) {
  const bool simulated = tee.rfind("sim-", 0) == 0;
  const std::string native = simulated ? tee.substr(4) : tee;
  if (native != "snp" && native != "csv" && native != "tdx") return make_error(ErrorCode::kUnsupported, "no KBS evidence shape for TEE '" + tee + "'", "kbs-tee");
  if (requested == "auto") return simulated ? std::string("sample") : native;
  if (requested == "sample") {
    if (simulated) return requested;
    return make_error(ErrorCode::kUsage, "--kbs-tee sample sends no hardware evidence: on " + evidence::tee_display_name(tee) + " use auto (" + native + ")",
                      "kbs-tee");
  }
  if (requested == native) return requested;
  return make_error(ErrorCode::kUsage, "--kbs-tee " + requested + " does not fit the evidence source (" + evidence::tee_display_name(tee) + ")", "kbs-tee");
}

Result<json> primary_evidence(const std::string& kbs_tee, const evidence::EvidenceFile& ev, ByteView report_data) {
  if (kbs_tee == "sample") return sample_evidence(report_data);
  const std::string native = ev.simulated() ? ev.tee.substr(4) : ev.tee;
  if (kbs_tee == "csv") {
    if (native != "csv") return make_error(ErrorCode::kInvalidInput, "CSV evidence asked of " + evidence::tee_display_name(ev.tee) + " evidence", "kbs-tee");
    return csv_evidence(ev.report, std::nullopt);
  }
  if (kbs_tee == "tdx") {
    if (native != "tdx") return make_error(ErrorCode::kInvalidInput, "TDX evidence asked of " + evidence::tee_display_name(ev.tee) + " evidence", "kbs-tee");
    return tdx_evidence(ev.report, ev.event_log ? std::optional<std::string>(base64_encode(*ev.event_log)) : std::nullopt);
  }
  if (kbs_tee != "snp" || !ev.is_snp()) return make_error(ErrorCode::kInvalidInput, "no KBS evidence '" + kbs_tee + "' from " + ev.tee, "kbs-tee");
  CCI_ASSIGN(r, snp::parse_report(ev.report));
  std::vector<SnpCert> certs;
  if (ev.vek_pem) {
    CCI_ASSIGN(vek, crypto::Certificate::from_pem(as_bytes(*ev.vek_pem)));
    certs.push_back({r.signing_key() == snp::SigningKey::kVlek ? "VLEK" : "VCEK", vek.der()});
  }
  if (ev.cert_chain_pem) {
    // The GHCB certificate table names ASK (or ASVK, under the same GUID) and ARK; the root is
    // the self-issued one.
    CCI_ASSIGN(chain, crypto::parse_pem_bundle(as_bytes(*ev.cert_chain_pem)));
    for (const auto& c : chain) certs.push_back({c.subject() == c.issuer() ? "ARK" : "ASK", c.der()});
  }
  return snp_evidence(ev.report, certs);
}

}  // namespace cci::kbs
