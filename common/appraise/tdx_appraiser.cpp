// Intel TDX: the quote's PCK chain to the Intel SGX Root CA pinned in cci, the QE and the quote
// signatures, and Intel's collateral for its FMSPC (TCB Info, QE Identity, CRLs: from
// --tdx-collateral DIR, as the PCS serves them); then the TCB status and the policy.
#include <filesystem>

#include "appraise/appraisers.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "evidence/sim_layout.h"
#include "crypto/digest.h"
#include "policy/tdx_policy.h"
#include "tdx/azure_hcl.h"
#include "verify/tdx_verify.h"

namespace cci::appraise {
namespace {

Json quote_json(const tdx::Quote& q) {
  const tdx::TdReport& b = q.body;
  Json rt = Json::array();
  for (const auto& m : b.rtmr) rt.push_back(to_hex(m));
  Json j{{"version", q.version},
         {"body", tdx::body_type_name(q.body_type)},
         {"tee_tcb_svn", to_hex(b.tee_tcb_svn)},
         {"mr_seam", to_hex(b.mr_seam)},
         {"mr_signer_seam", to_hex(b.mr_signer_seam)},
         {"seam_attributes", to_hex(b.seam_attributes)},
         {"td_attributes", to_hex(b.td_attributes)},
         {"debug", b.debug()},
         {"xfam", to_hex(b.xfam)},
         {"mr_td", to_hex(b.mr_td)},
         {"mr_config_id", to_hex(b.mr_config_id)},
         {"mr_owner", to_hex(b.mr_owner)},
         {"mr_owner_config", to_hex(b.mr_owner_config)},
         {"rtmr", rt},
         {"report_data", to_hex(b.report_data)},
         {"qe_svn", q.qe_report.isv_svn},
         {"pce_svn", q.pce_svn}};
  if (b.tee_tcb_svn2) j["tee_tcb_svn2"] = to_hex(*b.tee_tcb_svn2);
  if (b.mr_service_td) j["mr_service_td"] = to_hex(*b.mr_service_td);
  return j;
}

bool looks_like_tdx_quote(ByteView raw) {
  // version 4 or 5, attestation key type 2, TEE type 0x81 (little-endian).
  return raw.size() >= tdx::kHeaderSize && (raw[0] == 4 || raw[0] == 5) && raw[1] == 0 && raw[2] == 2 && raw[3] == 0 && raw[4] == 0x81 && raw[5] == 0 &&
         raw[6] == 0 && raw[7] == 0;
}

// --trust-sim-root DIR: a simulated platform's root (cci-run sim init --vendor intel), trusted by
// name, and its PCS files. Only the directory whose root the quote's chain ends in is used; the
// chain is still verified to it like any other.
struct SimAnchor {
  crypto::Certificate root;
  std::string collateral_dir;
};
Result<std::optional<SimAnchor>> sim_anchor(const std::vector<std::string>& dirs, ByteView quote) {
  if (dirs.empty()) return std::optional<SimAnchor>();
  const auto quote_root = verify::tdx_pck_chain_root(quote);
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!std::filesystem::exists(evidence::sim_tdx_root_file(dir), ec)) {
      return make_error(ErrorCode::kIo, "--trust-sim-root " + dir + ": no simulated Intel TDX platform there (cci-run sim init DIR --vendor intel)",
                        "trust-sim-root");
    }
    CCI_ASSIGN(pem, read_file(evidence::sim_tdx_root_file(dir), 1 << 16));
    auto certs = crypto::parse_pem_bundle(pem);
    if (!certs || certs->size() != 1) return make_error(ErrorCode::kIo, "--trust-sim-root " + dir + ": unreadable intel/root.pem", "trust-sim-root");
    if (quote_root && quote_root->der() == (*certs)[0].der()) {
      return std::optional<SimAnchor>(SimAnchor{std::move((*certs)[0]), evidence::sim_tdx_collateral_dir(dir)});
    }
  }
  return std::optional<SimAnchor>();
}

class TdxAppraiser final : public Appraiser {
 public:
  const char* vendor() const override { return "intel"; }
  const char* tee() const override { return "tdx"; }
  bool recognises(ByteView raw) const override { return looks_like_tdx_quote(raw); }

  Result<Verdict> appraise(Extracted x, const Request& r, CollateralSource& source, const Notes& n) const override {
    const GivenCollateral& g = r.given;
    if (!g.vek.empty() || !g.cert_table.empty() || !g.cert_chain.empty() || !g.crl.empty() || r.product || !g.hrk.empty() || !g.hsk_cek.empty()) {
      return make_error(ErrorCode::kUsage, "--vek, --cert-table, --cert-chain, --crl, --product, --hrk and --hsk-cek are for SEV-SNP and CSV; this is an Intel TDX quote",
                        "vendor");
    }
    std::optional<tdx::AzureHcl> hcl;
    if (!g.azure_hcl.empty()) {
      CCI_ASSIGN(data, read_file(g.azure_hcl, 1 << 20));
      auto h = tdx::parse_azure_hcl(data);
      if (!h) return make_error(h.error().code, "--azure-hcl " + g.azure_hcl + ": " + h.error().message, h.error().field);
      if (r.expect.report_data) {
        return make_error(ErrorCode::kUsage,
                          "--azure-hcl binds REPORT_DATA to the HCL report's runtime data: on Azure the nonce goes into the vTPM quote, "
                          "not REPORT_DATA; drop --nonce / --report-data",
                          "azure-hcl");
      }
      hcl = std::move(*h);
    }
    CCI_ASSIGN(sim, sim_anchor(r.trust_sim_roots, x.report));
    verify::TdxEvidence ev;
    std::string collateral_dir = g.tdx_collateral;
    if (sim) {
      ev.simulated_roots.push_back(std::move(sim->root));
      if (collateral_dir.empty()) collateral_dir = sim->collateral_dir;  // the simulator's PCS files: candidates like any other
    }
    CCI_ASSIGN(collateral, read_tdx_collateral(collateral_dir, n));
    if (!collateral && collateral_dir.empty()) {
      // From the collateral source, by the FMSPC the (not yet verified) PCK certificate names:
      // only a lookup key; what comes back is verified like any other collateral.
      collateral = source.tdx_collateral(x.report, n);
    }
    ev.quote = x.report;
    if (hcl) ev.azure_hcl_runtime_data = ByteView(hcl->variable_data);
    ev.at = r.at;
    if (collateral) ev.collateral = &*collateral;
    auto v = verify::verify_tdx_quote(ev);
    if (!v.quote) {
      // A quote that does not parse is malformed input, not a verdict.
      const auto& first = v.checks.items().front();
      return make_error(ErrorCode::kMalformed, r.label + ": " + first.detail, "quote");
    }
    policy::TdxExpectations expect;
    CCI_SET(expect.measurements, expected_measurements(r.expect, tee(), 48));
    expect.references = r.expect.tdx_references;
    expect.report_data = r.expect.report_data;
    expect.insecure_any_measurement = r.expect.insecure_any_measurement;
    expect.named_fields = r.expect.named_fields;
    // The event log the user gave (--event-log), else the one the evidence carries.
    if (r.expect.event_log) expect.replayed = verify::replay_ccel(*r.expect.event_log);
    else if (x.event_log) expect.replayed = verify::replay_ccel(*x.event_log);

    Verdict out;
    out.vendor = vendor();
    out.tee_name = "Intel TDX";
    out.format = x.format;
    out.policy_source = r.expect.policy_source;
    out.authentic = v.passed;
    out.simulated = v.simulated;
    if (v.verified && v.tcb) out.findings = policy::evaluate_tdx_policy(r.expect.policy, *v.verified, *v.tcb, expect);
    out.outcome = outcome_of(out, v.missing_collateral);
    out.report = quote_json(*v.quote);
    if (v.pck) {
      out.report["fmspc"] = to_hex(v.pck->fmspc);
      out.report["pce_id"] = to_hex(v.pck->pceid);
    }
    if (v.tcb) {
      Json ids = Json::array();
      for (const auto& a : v.tcb->advisory_ids) ids.push_back(a);
      out.report["tcb"] = Json{{"status", v.tcb->status},           {"tdx_level", v.tcb->tdx_status},   {"module", v.tcb->module_status},
                               {"qe", v.tcb->qe_status},            {"tcb_date", v.tcb->tcb_date},      {"advisory_ids", ids},
                               {"evaluation_data_number", v.tcb->evaluation_data_number}};
    }
    if (hcl) {
      auto claims = Json::parse(hcl->variable_data.begin(), hcl->variable_data.end(), nullptr, false);
      out.report["azure_hcl"] = Json{{"report_type", "TDX"},
                                     {"runtime_data_sha256", to_hex(crypto::digest(crypto::DigestAlg::kSha256, hcl->variable_data))},
                                     {"runtime_data", claims.is_discarded() ? Json(to_hex(hcl->variable_data)) : claims}};
    }
    out.measurement_hex = to_hex(v.quote->body.mr_td);
    out.what = std::string(v.simulated ? "Intel TDX quote v" : "genuine Intel TDX quote v") + std::to_string(v.quote->version) + " (" + tdx::body_type_name(v.quote->body_type) + ")" +
               (v.pck ? ", FMSPC " + to_hex(v.pck->fmspc) : std::string()) + (v.tcb ? ", TCB " + v.tcb->status : std::string());
    out.checks = std::move(v.checks);
    return out;
  }

  Result<FetchReport> fetch(ByteView raw, const FetchRequest& r) const override {
    CCI_ASSIGN(q, tdx::parse_quote(raw));
    (void)q;
    auto key = collateral::tdx_collateral_key(raw);
    if (!key) return make_error(ErrorCode::kMalformed, r.label + ": the quote's PCK certificate names no FMSPC", "pck_chain");
    key->early = r.tdx_early;
    std::vector<collateral::TdxItem> items;
    for (const auto& name : r.items) {
      auto i = collateral::tdx_item_from_name(name);
      if (!i) return make_error(ErrorCode::kUsage, "--items: '" + name + "' is not an Intel TDX item (tcb_info, qe_identity, pck_crl, root_ca_crl)", "items");
      items.push_back(*i);
    }
    const collateral::TdxCache cache(r.cache_dir.empty() ? collateral::default_cache_dir() : r.cache_dir);
    collateral::PcsFetchOptions o = r.intel;
    o.refresh = r.refresh;
    FetchReport rep;
    rep.summary = "Intel TDX collateral for FMSPC " + key->fmspc + " (PCK " + key->ca + " CA" + (key->early ? ", early update" : "") + ") from " + o.pcs_url;
    rep.header = Json{{"vendor", "intel"}, {"fmspc", key->fmspc}, {"pck_ca", key->ca}, {"update", key->early ? "early" : "standard"},
                      {"cache_dir", cache.entry_dir(*key)}, {"pcs_url", o.pcs_url}};
    for (auto& x : collateral::fetch_tdx_collateral(raw, *key, items, cache, o)) {
      rep.items.push_back({collateral::tdx_item_name(x.item), x.url, x.file, x.downloaded, x.error, std::move(x.data)});
    }
    return rep;
  }

  Result<Json> describe(ByteView raw, std::optional<snp::Product>, std::string& format) const override {
    CCI_ASSIGN(q, tdx::parse_quote(raw));
    format = "raw";
    return quote_json(q);
  }
};

}  // namespace

// Any file missing leaves the quote without collateral (cannot evaluate), never with less checking.
Result<std::optional<verify::TdxCollateral>> read_tdx_collateral(const std::string& dir, const Notes& n) {
  if (dir.empty()) return std::optional<verify::TdxCollateral>();
  const char* names[] = {"tcb_info.json", "qe_identity.json", "tcb_info_issuer_chain.pem", "qe_identity_issuer_chain.pem", "pck_crl.der", "root_ca_crl.der"};
  for (const char* f : names) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(dir + "/" + f, ec)) {
      n.warn("--tdx-collateral " + dir + ": no " + f);
      return std::optional<verify::TdxCollateral>();
    }
  }
  verify::TdxCollateral k;
  CCI_SET(k.tcb_info, read_file(dir + "/tcb_info.json", 1 << 20));
  CCI_SET(k.qe_identity, read_file(dir + "/qe_identity.json", 1 << 20));
  CCI_ASSIGN(tcb_chain, read_file(dir + "/tcb_info_issuer_chain.pem", 1 << 16));
  CCI_ASSIGN(qe_chain, read_file(dir + "/qe_identity_issuer_chain.pem", 1 << 16));
  k.tcb_info_issuer_chain_pem.assign(tcb_chain.begin(), tcb_chain.end());
  k.qe_identity_issuer_chain_pem.assign(qe_chain.begin(), qe_chain.end());
  CCI_SET(k.pck_crl, read_file(dir + "/pck_crl.der", 1 << 20));
  CCI_SET(k.root_ca_crl, read_file(dir + "/root_ca_crl.der", 1 << 20));
  return std::optional<verify::TdxCollateral>(std::move(k));
}

const Appraiser& tdx_appraiser() {
  static const TdxAppraiser a;
  return a;
}

}  // namespace cci::appraise
