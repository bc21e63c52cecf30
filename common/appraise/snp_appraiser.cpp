// AMD SEV-SNP: is this report signed by genuine AMD hardware, through the chain to the ARK pinned
// in cci (AMD SEV-SNP Firmware ABI Specification 56860, "ATTESTATION_REPORT Structure"; Versioned
// Chip Endorsement Key specification 57230), and is it the guest the relying party expects?
#include <algorithm>
#include <filesystem>

#include "appraise/appraisers.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "collateral/amd_kds.h"
#include "evidence/sim_layout.h"
#include "policy/snp_policy.h"
#include "snp/cert_table.h"
#include "verify/snp_verify.h"

namespace cci::appraise {
namespace {

std::string hex_u(std::uint64_t v) { return "0x" + to_hex_u64(v); }

// The names of the set bits of a word, from a table of (bit, name); unnamed set bits as "bit N".
Json bit_names(std::uint64_t v, std::initializer_list<std::pair<int, const char*>> names, int first_bit = 0) {
  Json out = Json::array();
  for (int b = first_bit; b < 64; ++b) {
    if (((v >> b) & 1) == 0) continue;
    const char* name = nullptr;
    for (const auto& [bit, n] : names) {
      if (bit == b) name = n;
    }
    out.push_back(name ? std::string(name) : "bit " + std::to_string(b));
  }
  return out;
}

Json report_json(const snp::Report& r, std::optional<snp::Product> p) {
  const snp::Product layout = p.value_or(snp::Product::kMilan);
  auto tcb = [layout](std::uint64_t raw) {
    snp::Tcb t = snp::decode_tcb(raw, layout);
    Json j{{"raw", hex_u(raw)}};
    if (t.fmc) j["fmc"] = *t.fmc;
    j["bootloader"] = t.bootloader;
    j["tee"] = t.tee;
    j["snp"] = t.snp;
    j["microcode"] = t.microcode;
    return j;
  };
  Json j{{"version", r.version},
         {"guest_svn", r.guest_svn},
         {"policy", {{"raw", hex_u(r.policy)},
                     {"abi_minor", r.policy & 0xff},
                     {"abi_major", (r.policy >> 8) & 0xff},
                     {"smt", ((r.policy >> 16) & 1) != 0},
                     {"migrate_ma", ((r.policy >> 18) & 1) != 0},
                     {"debug", r.debug_allowed()},
                     {"single_socket", ((r.policy >> 20) & 1) != 0},
                     // SEV-SNP ABI specification, Table "Guest Policy Structure" (bits 16 and up).
                     {"flags", bit_names(r.policy, {{16, "SMT"}, {17, "RESERVED_1"}, {18, "MIGRATE_MA"}, {19, "DEBUG"},
                                                    {20, "SINGLE_SOCKET"}, {21, "CXL_ALLOW"}, {22, "MEM_AES_256_XTS"},
                                                    {23, "RAPL_DIS"}, {24, "CIPHERTEXT_HIDING"}, {25, "PAGE_SWAP_DISABLE"}},
                                         16)}}},
         {"family_id", to_hex(r.family_id)},
         {"image_id", to_hex(r.image_id)},
         {"vmpl", r.vmpl},
         {"signature_algo", r.signature_algo},
         {"current_tcb", tcb(r.current_tcb)},
         {"platform_info", hex_u(r.platform_info)},
         // SEV-SNP ABI specification, Table "PLATFORM_INFO Field".
         {"platform_info_flags", bit_names(r.platform_info, {{0, "SMT_EN"}, {1, "TSME_EN"}, {2, "ECC_EN"}, {3, "RAPL_DIS"},
                                                              {4, "CIPHERTEXT_HIDING_EN"}, {5, "ALIAS_CHECK_COMPLETE"}})},
         {"signing_key", r.signing_key() == snp::SigningKey::kVcek   ? "VCEK"
                         : r.signing_key() == snp::SigningKey::kVlek ? "VLEK"
                                                                     : "none"},
         {"author_key_en", r.author_key_en()},
         {"mask_chip_key", r.mask_chip_key()},
         {"report_data", to_hex(r.report_data)},
         {"measurement", to_hex(r.measurement)},
         {"host_data", to_hex(r.host_data)},
         {"id_key_digest", to_hex(r.id_key_digest)},
         {"author_key_digest", to_hex(r.author_key_digest)},
         {"report_id", to_hex(r.report_id)},
         {"report_id_ma", to_hex(r.report_id_ma)},
         {"reported_tcb", tcb(r.reported_tcb)}};
  if (r.cpuid_family) {
    j["cpuid"] = {{"family", *r.cpuid_family}, {"model", *r.cpuid_model}, {"stepping", *r.cpuid_stepping}};
  }
  j["chip_id"] = to_hex(r.chip_id);
  j["committed_tcb"] = tcb(r.committed_tcb);
  j["current_firmware"] = std::to_string(r.current_major) + "." + std::to_string(r.current_minor) + "." + std::to_string(r.current_build);
  j["committed_firmware"] =
      std::to_string(r.committed_major) + "." + std::to_string(r.committed_minor) + "." + std::to_string(r.committed_build);
  j["launch_tcb"] = tcb(r.launch_tcb);
  if (r.launch_mit_vector) {
    j["launch_mit_vector"] = hex_u(*r.launch_mit_vector);
    j["current_mit_vector"] = hex_u(*r.current_mit_vector);
  }
  if (p) j["product"] = snp::product_name(*p);
  return j;
}

Result<snp::ReportInput> read_report(const std::string& label, ByteView data) {
  auto in = snp::extract_report(data);
  if (!in) return make_error(in.error().code, label + ": " + in.error().message, in.error().field);
  return in;
}

// The host's certificate table (auxblob): VCEK/VLEK as the leaf unless one was given, ASK and
// ARK as candidates (the ARK is still checked against the pinned fingerprint).
Status add_cert_table(ByteView data, verify::SnpEvidence& ev) {
  auto table = snp::parse_cert_table(data);
  if (!table) return table.error();
  for (const auto& e : *table) {
    if (e.kind == "unknown") continue;
    auto cert = crypto::Certificate::from_der(e.data);
    if (!cert) return make_error(ErrorCode::kMalformed, e.kind + " entry is not a DER certificate", "cert table");
    if (e.kind == "vcek" || e.kind == "vlek") {
      if (!ev.vek) ev.vek = std::move(*cert);
    } else {
      ev.ca.push_back(std::move(*cert));
    }
  }
  return {};
}

Result<std::vector<crypto::Certificate>> load_pem_file(const std::string& path) {
  CCI_ASSIGN(data, read_file(path, 1 << 20));
  return crypto::parse_pem_bundle(data);
}

// --trust-sim-root DIR: the simulator's ARK is trusted by fingerprint, and DIR is a trusted store
// for its chain, VCEK and CRL (used when not given otherwise).
Status add_sim_roots(const std::vector<std::string>& dirs, verify::SnpEvidence& ev) {
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!std::filesystem::exists(evidence::sim_snp_ark_file(dir), ec)) {
      return make_error(ErrorCode::kIo, "--trust-sim-root " + dir + ": no simulated SEV-SNP platform there (cci-run sim init DIR --vendor amd)",
                        "trust-sim-root");
    }
    auto ark = load_pem_file(evidence::sim_snp_ark_file(dir));
    if (!ark || ark->empty()) return make_error(ErrorCode::kIo, "--trust-sim-root " + dir + ": unreadable ark.pem", "trust-sim-root");
    ev.simulated_roots.push_back((*ark)[0].fingerprint_sha256());
    CCI_ASSIGN(chain, load_pem_file(evidence::sim_snp_chain_file(dir)));
    for (auto& c : chain) ev.ca.push_back(std::move(c));
    if (!ev.vek) {
      CCI_ASSIGN(vek, load_pem_file(evidence::sim_snp_vcek_file(dir)));
      if (vek.empty()) return make_error(ErrorCode::kIo, "--trust-sim-root " + dir + ": no VCEK", "trust-sim-root");
      ev.vek = std::move(vek[0]);
    }
    if (!ev.crl) {
      CCI_ASSIGN(data, read_file(evidence::sim_snp_crl_file(dir), 1 << 20));
      CCI_SET(ev.crl, crypto::Crl::parse(data));
    }
  }
  return {};
}

bool has_chain_for(const verify::SnpEvidence& ev, const collateral::SnpCollateralKey& k) {
  const Bytes ark = verify::pinned_ark_fingerprint(k.product);
  const std::string ica = (k.vlek ? "SEV-VLEK-" : "SEV-") + std::string(snp::product_name(k.product));
  bool have_ark = false, have_ica = false;
  for (const auto& c : ev.ca) {
    const Bytes fp = c.fingerprint_sha256();
    have_ark |= fp == ark || std::find(ev.simulated_roots.begin(), ev.simulated_roots.end(), fp) != ev.simulated_roots.end();
    have_ica |= c.subject_common_name() == ica;
  }
  return have_ark && have_ica;
}

// What the user, the evidence and the simulator did not give comes from the collateral source.
void resolve_collateral(verify::SnpEvidence& ev, CollateralSource& source, const Notes& n) {
  if (!ev.parsed) ev.parsed = snp::parse_report(ev.input.report, ev.parse);
  const auto& report = *ev.parsed;
  if (!report) return;  // verify_snp names the structure error
  std::optional<snp::Product> p = ev.product;
  if (report->cpuid_family) p = snp::product_from_cpuid(*report->cpuid_family, *report->cpuid_model);
  if (!p) return;  // verify_snp names the product problem
  const auto key = collateral::snp_collateral_key(*report, *p);
  if (!ev.vek && !key.vlek) ev.vek = source.snp_vek(key, n);
  if (!has_chain_for(ev, key)) {
    for (auto& c : source.snp_chain(key, n)) ev.ca.push_back(std::move(c));
  }
  if (!ev.crl && ev.crl_required) ev.crl = source.snp_crl(key, n);
}

class SnpAppraiser final : public Appraiser {
 public:
  const char* vendor() const override { return "amd"; }
  const char* tee() const override { return "snp"; }
  bool recognises(ByteView) const override { return true; }  // the fallback: anything not recognised as another vendor's

  Result<Verdict> appraise(Extracted in, const Request& r, CollateralSource& source, const Notes& n) const override {
    verify::SnpEvidence ev;
    ev.at = r.at;
    ev.product = r.product;
    CCI_SET(ev.input, read_report(r.label, in.report));
    if (!r.given.hrk.empty() || !r.given.hsk_cek.empty() || !r.given.tdx_collateral.empty() || !r.given.azure_hcl.empty()) {
      return make_error(ErrorCode::kUsage,
                        "--hrk, --hsk-cek, --tdx-collateral and --azure-hcl are for Hygon CSV and Intel TDX evidence; this is an SEV-SNP report "
                        "(an SEV-SNP Azure HCL report is the evidence itself)",
                        "vendor");
    }
    if (!r.given.vek.empty()) {
      // A VEK file may carry the chain after the leaf (Azure's VCEK + ASK + ARK PEM).
      CCI_ASSIGN(vek, crypto::load_certificate_files({r.given.vek}));
      if (vek.empty()) return make_error(ErrorCode::kMalformed, r.given.vek + ": no certificate", "vek");
      ev.vek = std::move(vek[0]);
      for (size_t i = 1; i < vek.size(); ++i) ev.ca.push_back(std::move(vek[i]));
    }
    if (!r.given.cert_table.empty()) {
      CCI_ASSIGN(table, read_file(r.given.cert_table, 4u << 20));
      if (auto st = add_cert_table(table, ev); !st) return make_error(st.error().code, r.given.cert_table + ": " + st.error().message, st.error().field);
    }
    CCI_ASSIGN(chain, crypto::load_certificate_files(r.given.cert_chain));
    for (auto& c : chain) ev.ca.push_back(std::move(c));
    if (in.vek && !ev.vek) ev.vek = std::move(in.vek);
    for (auto& c : in.certificates) ev.ca.push_back(std::move(c));
    if (!r.given.crl.empty()) {
      CCI_ASSIGN(crl_bytes, read_file(r.given.crl, 4u << 20));
      auto crl = crypto::Crl::parse(crl_bytes);
      if (!crl) return make_error(crl.error().code, r.given.crl + ": " + crl.error().message, "crl");
      ev.crl = std::move(*crl);
    }
    ev.crl_required = r.crl_required;
    CCI_TRY(add_sim_roots(r.trust_sim_roots, ev));
    // A version 2 report carries no CPUID, so which AMD root applies must come from the user:
    // without --product that is a missing flag (exit 2), found before any collateral is fetched,
    // not a report that failed to verify.
    if (!ev.parsed) ev.parsed = snp::parse_report(ev.input.report, ev.parse);
    if (const auto& rep = *ev.parsed; rep && !rep->cpuid_family && !ev.product) {
      return make_error(ErrorCode::kUsage, r.label + ": a version 2 report carries no CPUID: give --product Milan|Genoa|Turin", "product");
    }
    resolve_collateral(ev, source, n);

    policy::Expectations ex;
    CCI_SET(ex.measurements, expected_measurements(r.expect, tee(), 48));
    ex.report_data = r.expect.report_data;
    ex.insecure_any_measurement = r.expect.insecure_any_measurement;
    ex.named_fields = r.expect.named_fields;

    auto v = verify::verify_snp(ev);
    Verdict out;
    out.vendor = vendor();
    out.tee_name = "SEV-SNP";
    out.format = snp::input_format_name(ev.input.format);
    out.policy_source = r.expect.policy_source;
    out.authentic = v.passed;
    out.simulated = v.simulated;
    if (v.verified) {
      const bool vlek = (*v.verified)->signing_key() == snp::SigningKey::kVlek;
      out.findings = policy::evaluate_snp_policy(r.expect.policy, *v.verified, *v.product, vlek, ex);
    }
    out.outcome = outcome_of(out, v.missing_collateral);
    if (v.report) {
      out.report = report_json(*v.report, v.product);
      out.measurement_hex = to_hex(v.report->measurement);
      if (out.outcome == Outcome::kAccepted && v.report->debug_allowed()) out.warnings.push_back("the guest policy allows debugging: its memory is not confidential");
    }
    if (v.product) out.what = (v.simulated ? "" : "genuine ") + std::string(snp::product_name(*v.product)) + " SEV-SNP report";
    out.checks = std::move(v.checks);
    return out;
  }

  Result<FetchReport> fetch(ByteView raw, const FetchRequest& r) const override {
    std::vector<collateral::SnpItem> items;
    for (const auto& n : r.items.empty() ? std::vector<std::string>{"vcek", "cert_chain", "crl"} : r.items) {
      if (n == "vcek") items.push_back(collateral::SnpItem::kVcek);
      else if (n == "cert_chain" || n == "chain") items.push_back(collateral::SnpItem::kChain);
      else if (n == "crl") items.push_back(collateral::SnpItem::kCrl);
      else return make_error(ErrorCode::kUsage, "--items: unknown item '" + n + "' (vcek, cert_chain, crl)", "items");
    }
    auto in = snp::extract_report(raw);
    if (!in) return make_error(in.error().code, r.label + ": " + in.error().message, in.error().field);
    auto report = snp::parse_report(in->report);
    if (!report) return make_error(report.error().code, r.label + ": " + report.error().message, report.error().field);
    std::optional<snp::Product> p = r.product;
    if (report->cpuid_family) p = snp::product_from_cpuid(*report->cpuid_family, *report->cpuid_model);
    if (!p) {
      return make_error(ErrorCode::kUsage,
                        report->cpuid_family ? "the report's CPUID is no known SNP product line"
                                             : "a version 2 report carries no CPUID: give --product Milan|Genoa|Turin",
                        "product");
    }
    const auto key = collateral::snp_collateral_key(*report, *p);
    auto opts = r.amd;
    opts.refresh = r.refresh;
    const collateral::SnpCache cache(r.cache_dir.empty() ? collateral::default_cache_dir() : r.cache_dir);
    FetchReport out;
    out.summary = "KDS " + opts.kds_url + ", cache " + cache.dir() + ": " + snp::product_name(key.product) + (key.vlek ? ", VLEK" : ", VCEK") +
                  ", TCB " + snp::tcb_text(key.tcb);
    out.header = Json{{"vendor", vendor()},
                      {"product", snp::product_name(key.product)},
                      {"signing_key", key.vlek ? "VLEK" : "VCEK"},
                      {"cache_dir", cache.dir()},
                      {"kds_url", opts.kds_url}};
    for (const auto& x : collateral::fetch_snp_collateral(key, items, cache, opts)) {
      out.items.push_back({collateral::snp_item_name(x.item), x.url, x.file, x.downloaded, x.error, std::move(x.data)});
    }
    return out;
  }

  Result<Json> describe(ByteView raw, std::optional<snp::Product> product, std::string& format) const override {
    CCI_ASSIGN(in, snp::extract_report(raw));
    CCI_ASSIGN(r, snp::parse_report(in.report));
    std::optional<snp::Product> p;
    if (r.cpuid_family) p = snp::product_from_cpuid(*r.cpuid_family, *r.cpuid_model);
    if (!p) p = product;
    format = snp::input_format_name(in.format);
    return report_json(r, p);
  }
};

}  // namespace

const Appraiser& snp_appraiser() {
  static const SnpAppraiser a;
  return a;
}

}  // namespace cci::appraise
