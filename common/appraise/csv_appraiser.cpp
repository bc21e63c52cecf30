// Hygon CSV: the HRK pinned in cci, HSK and CEK from a trusted store for the report's chip ID
// (given, the simulator trusted by name, or the collateral source), the PEK and the report; then
// the policy. HSK/CEK carried inside the evidence are never used: they would not bind the chip ID.
#include "appraise/appraisers.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "crypto/digest.h"
#include "csv/evidence.h"
#include "evidence/sim_layout.h"
#include "policy/csv_policy.h"
#include "verify/csv_verify.h"

namespace cci::appraise {
namespace {

std::string hex_u(std::uint64_t v) { return "0x" + to_hex_u64(v); }

Json csv_report_json(const csv::Report& r) {
  Json j{{"version", r.version == csv::ReportVersion::kV1 ? 1 : 2},
         {"pek_encoding", csv::pek_encoding_name(r.pek_encoding)},
         {"chip_id", r.chip_id},
         {"policy", {{"raw", hex_u(r.policy)},
                     {"nodbg", (r.policy & 1) != 0},
                     {"noks", (r.policy >> 1 & 1) != 0},
                     {"es", (r.policy >> 2 & 1) != 0},
                     {"nosend", (r.policy >> 3 & 1) != 0},
                     {"csv", (r.policy >> 5 & 1) != 0},
                     {"csv3", (r.policy >> 6 & 1) != 0},
                     {"api_major", (r.policy >> 16) & 0xff},
                     {"api_minor", (r.policy >> 24) & 0xff}}},
         {"measure", to_hex(r.measure)},
         {"report_data", to_hex(r.report_data)},
         {"mnonce", to_hex(r.mnonce)},
         {"vm_id", to_hex(r.vm_id)},
         {"vm_version", to_hex(r.vm_version)},
         {"user_pubkey_digest", to_hex(r.user_pubkey_digest)},
         {"sig_usage", hex_u(r.sig_usage)},
         {"sig_algo", r.sig_algo},
         {"pek_firmware", std::to_string(r.pek.api_major) + "." + std::to_string(r.pek.api_minor)}};
  if (r.version == csv::ReportVersion::kV1) {
    j["anonce"] = hex_u(r.anonce);
  } else {
    j["build"] = r.build;
    j["rtmr_version"] = r.rtmr_version;
    Json rt = Json::array();
    for (const auto& m : r.rtmr) rt.push_back(to_hex(m));
    j["rtmr"] = rt;
  }
  return j;
}

// --trust-sim-root DIR: the simulator's HRK is trusted by fingerprint (it must also carry the
// simulator's marker), and DIR is a trusted store for its HSK||CEK.
Status add_sim_roots(const std::vector<std::string>& dirs, verify::CsvInputs& in) {
  for (const auto& dir : dirs) {
    auto hrk = read_file(evidence::sim_csv_hrk_file(dir), 1 << 16);
    if (!hrk) {
      return make_error(ErrorCode::kIo, "--trust-sim-root " + dir + ": no simulated Hygon CSV platform there (cci-run sim init DIR --vendor hygon)",
                        "trust-sim-root");
    }
    in.simulated_roots.push_back(crypto::digest(crypto::DigestAlg::kSha256, *hrk));
    if (!in.hrk) in.hrk = std::move(*hrk);
    if (!in.hsk_cek) {
      CCI_SET(in.hsk_cek, read_file(evidence::sim_csv_hsk_cek_file(dir), 1 << 16));
      in.hsk_cek_source = "the simulator in " + dir;
    }
  }
  return {};
}

class CsvAppraiser final : public Appraiser {
 public:
  const char* vendor() const override { return "hygon"; }
  const char* tee() const override { return "csv"; }
  bool recognises(ByteView raw) const override { return csv::looks_like_csv(raw); }

  Result<Verdict> appraise(Extracted x, const Request& r, CollateralSource& source, const Notes& n) const override {
    if (!r.given.vek.empty() || !r.given.cert_table.empty() || r.product || !r.given.crl.empty() || !r.given.tdx_collateral.empty() ||
        !r.given.azure_hcl.empty()) {
      return make_error(ErrorCode::kUsage, "--vek, --cert-table, --product, --crl, --tdx-collateral and --azure-hcl are for SEV-SNP and Intel TDX; this is Hygon CSV evidence",
                        "vendor");
    }
    auto ev = csv::extract_evidence(x.report);
    if (!ev) return make_error(ev.error().code, r.label + ": " + ev.error().message, ev.error().field);
    verify::CsvInputs in;
    in.evidence = std::move(*ev);
    if (in.evidence.envelope_has_hsk_cek) n.info("the evidence carries HSK/CEK: not used (they would not bind the chip ID)");
    if (!r.given.hrk.empty()) CCI_SET(in.hrk, read_file(r.given.hrk, 1 << 16));
    if (!in.hrk && x.hrk) in.hrk = std::move(x.hrk);  // a candidate: checked against the pin
    if (!r.given.hsk_cek.empty()) {
      CCI_SET(in.hsk_cek, read_file(r.given.hsk_cek, 1 << 16));
      in.hsk_cek_source = "--hsk-cek " + r.given.hsk_cek;
    }
    CCI_TRY(add_sim_roots(r.trust_sim_roots, in));
    in.parsed = csv::parse_report(in.evidence.report, in.evidence.version);
    if (const auto& parsed = *in.parsed) {
      if (!in.hrk) in.hrk = source.csv_hrk(n);
      if (!in.hsk_cek && !parsed->chip_id.empty()) {
        if (auto hc = source.csv_hsk_cek(parsed->chip_id, n)) {
          in.hsk_cek = std::move(hc->first);
          in.hsk_cek_source = std::move(hc->second);
        }
      }
    }

    policy::CsvExpectations expect;
    CCI_SET(expect.measurements, expected_measurements(r.expect, tee(), 32));
    expect.report_data = r.expect.report_data;
    expect.insecure_unpinned_v1 = r.expect.insecure_unpinned_v1;
    expect.insecure_any_measurement = r.expect.insecure_any_measurement;
    expect.vm_id = r.expect.vm_id;
    expect.vm_version = r.expect.vm_version;
    expect.user_pubkey_digest = r.expect.user_pubkey_digest;
    expect.named_fields = r.expect.named_fields;
    std::optional<Bytes> log = r.expect.event_log;
    if (!log && in.evidence.event_log) log = in.evidence.event_log;  // untrusted until it replays to the signed RTMRs
    if (log) {
      auto events = csv::parse_event_log(*log);
      expect.replayed = events ? csv::replay_rtmrs(*events) : Result<csv::Rtmrs>(events.error());
    }

    auto v = verify::verify_csv(in);
    Verdict out;
    out.vendor = vendor();
    out.tee_name = "Hygon CSV";
    out.format = in.evidence.format;
    out.policy_source = r.expect.policy_source;
    out.authentic = v.passed;
    out.simulated = v.simulated;
    if (v.verified) out.findings = policy::evaluate_csv_policy(r.expect.policy, *v.verified, expect);
    out.outcome = outcome_of(out, v.missing_collateral);
    if (v.report) {
      out.report = csv_report_json(*v.report);
      out.measurement_hex = to_hex(v.report->measure);
      out.what = std::string(v.simulated ? "Hygon CSV " : "genuine Hygon CSV ") + (v.report->version == csv::ReportVersion::kV1 ? "V1" : "V2") +
                 " report from chip " + v.report->chip_id;
    }
    out.checks = std::move(v.checks);
    return out;
  }

  Result<FetchReport> fetch(ByteView raw, const FetchRequest& r) const override {
    std::vector<collateral::HygonItem> items;
    for (const auto& n : r.items.empty() ? std::vector<std::string>{"hrk", "hsk_cek"} : r.items) {
      if (n == "hrk") items.push_back(collateral::HygonItem::kHrk);
      else if (n == "hsk_cek") items.push_back(collateral::HygonItem::kHskCek);
      else return make_error(ErrorCode::kUsage, "--items: unknown Hygon item '" + n + "' (hrk, hsk_cek)", "items");
    }
    auto ev = csv::extract_evidence(raw);
    if (!ev) return make_error(ev.error().code, r.label + ": " + ev.error().message, ev.error().field);
    auto report = csv::parse_report(ev->report, ev->version);
    if (!report) return make_error(report.error().code, r.label + ": " + report.error().message, report.error().field);
    auto opts = r.hygon;
    opts.refresh = r.refresh;
    const collateral::HygonCache cache(r.cache_dir.empty() ? collateral::default_cache_dir() : r.cache_dir);
    FetchReport out;
    out.summary = "Hygon KDS " + opts.kds_url + ", cache " + cache.dir() + ": chip " + report->chip_id +
                  " (taken from the report; the CEK fetched for it is what binds it)";
    out.header = Json{{"vendor", vendor()}, {"chip_id", report->chip_id}, {"cache_dir", cache.dir()}, {"kds_url", opts.kds_url}};
    for (const auto& x : collateral::fetch_hygon_collateral(report->chip_id, items, cache, opts)) {
      out.items.push_back({collateral::hygon_item_name(x.item), x.url, x.file, x.downloaded, x.error, std::move(x.data)});
    }
    return out;
  }

  Result<Json> describe(ByteView raw, std::optional<snp::Product>, std::string& format) const override {
    CCI_ASSIGN(ev, csv::extract_evidence(raw));
    CCI_ASSIGN(r, csv::parse_report(ev.report, ev.version));
    format = ev.format;
    return csv_report_json(r);
  }
};

}  // namespace

const Appraiser& csv_appraiser() {
  static const CsvAppraiser a;
  return a;
}

}  // namespace cci::appraise
