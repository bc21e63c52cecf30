// See trustee_evidence.h.
#include "kbs/trustee_evidence.h"

#include "snp/report.h"

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
  if (r.version < 2 || r.version > 3) {
    return make_error(ErrorCode::kUnsupported,
                      "SEV-SNP report version " + std::to_string(r.version) +
                          ": trustee's JSON evidence is written here for versions 2 and 3 only (the fields of later versions have no known JSON names)",
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

}  // namespace cci::kbs
