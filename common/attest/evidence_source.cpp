#include "attest/evidence_source.h"

#include <filesystem>

#include "attest/csv_guest.h"
#include "attest/sev_guest.h"
#include "attest/tsm.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "crypto/x509.h"
#include "snp/cert_table.h"
#include "evidence/sim_layout.h"

namespace cci::attest {
namespace {

Status check_report_data(ByteView report_data) {
  if (report_data.size() == 64) return {};
  return make_error(ErrorCode::kUsage, "REPORT_DATA must be exactly 64 bytes, got " + std::to_string(report_data.size()), "report_data");
}

// configfs-tsm serves SEV-SNP (provider sev_guest: the report, and the certificate table in
// auxblob) and Intel TDX (provider tdx_guest: the quote, which carries its PCK chain).
class TsmSource final : public EvidenceSource {
 public:
  TsmSource(std::string root, unsigned vmpl, std::string tee, std::string ccel = {}) : tee_(std::move(tee)), ccel_(std::move(ccel)) {
    o_.root = std::move(root);
    o_.privlevel = static_cast<int>(vmpl);
  }
  std::string describe() const override { return "configfs-tsm (" + o_.root + ")"; }
  std::string tee() const override { return tee_; }
  Result<Evidence> get_evidence(ByteView report_data) override {
    auto r = tsm_get_report(report_data, o_);
    if (!r) return r.error();
    const char* want = tee_ == "tdx" ? "tdx_guest" : "sev_guest";
    if (r->provider != want) {
      return make_error(ErrorCode::kUnsupported,
                        "configfs-tsm provider '" + r->provider + "' is not " + evidence::tee_display_name(tee_) + " (" + want + ")", "provider");
    }
    Evidence e;
    e.source = describe();
    e.file.tee = tee_;
    e.file.report = std::move(r->outblob);
    if (tee_ == "snp") add_snp_cert_table(r->auxblob, e);
    if (tee_ == "tdx") attach_ccel(ccel_, e);
    return e;
  }

 private:
  TsmOptions o_;
  std::string tee_, ccel_;
};

class SevGuestSource final : public EvidenceSource {
 public:
  SevGuestSource(std::string path, unsigned vmpl, DeviceOpener open) : path_(std::move(path)), vmpl_(vmpl), open_(std::move(open)) {}
  std::string describe() const override { return path_; }
  std::string tee() const override { return "snp"; }
  Result<Evidence> get_evidence(ByteView report_data) override {
    CCI_TRY(check_report_data(report_data));
    auto dev = open_(path_);
    if (!dev) return dev.error();
    auto r = sev_guest_get_report(**dev, report_data, vmpl_);
    if (!r) return r.error();
    Evidence e;
    e.source = describe();
    e.file.tee = "snp";
    e.file.report = std::move(r->report);
    add_snp_cert_table(r->cert_table, e);
    return e;
  }

 private:
  std::string path_;
  unsigned vmpl_;
  DeviceOpener open_;
};

class CsvGuestSource final : public EvidenceSource {
 public:
  CsvGuestSource(std::string path, csv::ReportVersion v, DeviceOpener open) : path_(std::move(path)), version_(v), open_(std::move(open)) {}
  std::string describe() const override { return path_; }
  std::string tee() const override { return "csv"; }
  Result<Evidence> get_evidence(ByteView report_data) override {
    CCI_TRY(check_report_data(report_data));
    auto dev = open_(path_);
    if (!dev) return dev.error();
    auto page = csv_guest_get_report(**dev, report_data, version_);
    if (!page) return page.error();
    Evidence e;
    e.source = describe();
    e.file.tee = "csv";
    e.file.report = std::move(*page);
    return e;
  }

 private:
  std::string path_;
  csv::ReportVersion version_;
  DeviceOpener open_;
};

class SimSnpSource final : public EvidenceSource {
 public:
  SimSnpSource(std::string dir, sim::SnpReportRequest req) : dir_(std::move(dir)), req_(std::move(req)) {}
  std::string describe() const override { return "SIMULATED SEV-SNP (" + dir_ + ")"; }
  std::string tee() const override { return "sim-snp"; }
  Result<Evidence> get_evidence(ByteView report_data) override {
    CCI_TRY(check_report_data(report_data));
    sim::SnpReportRequest req = req_;
    req.report_data.assign(report_data.begin(), report_data.end());
    auto report = sim::snp_sim_report(dir_, req);
    if (!report) return report.error();
    auto vek = read_file(evidence::sim_snp_vcek_file(dir_), 1 << 16);
    if (!vek) return vek.error();
    auto chain = read_file(evidence::sim_snp_chain_file(dir_), 1 << 16);
    if (!chain) return chain.error();
    Evidence e;
    e.source = describe();
    e.file.tee = "sim-snp";
    e.file.report = std::move(*report);
    e.file.vek_pem = std::string(vek->begin(), vek->end());
    e.file.cert_chain_pem = std::string(chain->begin(), chain->end());
    return e;
  }

 private:
  std::string dir_;
  sim::SnpReportRequest req_;
};

class SimCsvSource final : public EvidenceSource {
 public:
  SimCsvSource(std::string dir, sim::CsvReportRequest req) : dir_(std::move(dir)), req_(std::move(req)) {}
  std::string describe() const override { return "SIMULATED CSV (" + dir_ + ")"; }
  std::string tee() const override { return "sim-csv"; }
  Result<Evidence> get_evidence(ByteView report_data) override {
    CCI_TRY(check_report_data(report_data));
    sim::CsvReportRequest req = req_;
    req.report_data.assign(report_data.begin(), report_data.end());
    auto page = sim::csv_sim_report(dir_, req);
    if (!page) return page.error();
    auto hrk = read_file(evidence::sim_csv_hrk_file(dir_), 1 << 16);
    if (!hrk) return hrk.error();
    Evidence e;
    e.source = describe();
    e.file.tee = "sim-csv";
    e.file.report = std::move(*page);
    e.file.hrk = std::move(*hrk);
    return e;
  }

 private:
  std::string dir_;
  sim::CsvReportRequest req_;
};

class SimTdxSource final : public EvidenceSource {
 public:
  SimTdxSource(std::string dir, sim::TdxQuoteRequest req, std::string ccel) : dir_(std::move(dir)), req_(std::move(req)), ccel_(std::move(ccel)) {}
  std::string describe() const override { return "SIMULATED Intel TDX (" + dir_ + ")"; }
  std::string tee() const override { return "sim-tdx"; }
  Result<Evidence> get_evidence(ByteView report_data) override {
    CCI_TRY(check_report_data(report_data));
    sim::TdxQuoteRequest req = req_;
    req.report_data.assign(report_data.begin(), report_data.end());
    auto quote = sim::tdx_sim_quote(dir_, req);
    if (!quote) return quote.error();
    Evidence e;
    e.source = describe();
    e.file.tee = "sim-tdx";
    e.file.report = std::move(*quote);
    // A simulated guest has no firmware event log; one the user names (--ccel) goes with it.
    std::error_code ec;
    if (!ccel_.empty() && std::filesystem::exists(ccel_, ec)) attach_ccel(ccel_, e);
    return e;
  }

 private:
  std::string dir_;
  sim::TdxQuoteRequest req_;
  std::string ccel_;
};

std::unique_ptr<EvidenceSource> hardware_source(const SourceOptions& o, std::vector<std::string>& tried) {
  const bool snp = o.tee == "auto" || o.tee == "snp";
  const bool tdx = o.tee == "auto" || o.tee == "tdx";
  const bool csv = o.tee == "auto" || o.tee == "csv";
  TsmOptions t;
  t.root = o.tsm_root;
  const bool tsm = tsm_available(t);
  // A TDX guest's kernel has the tdx_guest driver (/dev/tdx_guest) behind its configfs-tsm
  // provider; quotes come only through configfs-tsm (the device gives no quote on its own).
  const bool tdx_guest = guest_device_present(o.tdx_guest);
  if (tdx && (tdx_guest || o.tee == "tdx")) {
    if (tsm) return std::make_unique<TsmSource>(o.tsm_root, 0, "tdx", o.ccel);
    tried.push_back("configfs-tsm for TDX (" + o.tsm_root + ": absent" + (tdx_guest ? "; " + o.tdx_guest + " is there: Linux 6.7+ with CONFIG_TSM_REPORTS needed" : "") + ")");
  }
  if (snp && !(o.tee == "auto" && tdx_guest)) {
    if (tsm) return std::make_unique<TsmSource>(o.tsm_root, o.vmpl, "snp");
    tried.push_back("configfs-tsm (" + o.tsm_root + ": absent)");
    if (guest_device_present(o.sev_guest)) return std::make_unique<SevGuestSource>(o.sev_guest, o.vmpl, o.open_device);
    tried.push_back(o.sev_guest + " (absent)");
  }
  if (csv) {
    if (guest_device_present(o.csv_guest)) return std::make_unique<CsvGuestSource>(o.csv_guest, o.csv_version, o.open_device);
    tried.push_back(o.csv_guest + " (absent)");
  }
  return nullptr;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : "; ") + x;
  return s;
}

}  // namespace

void attach_ccel(const std::string& path, Evidence& e) {
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec)) {
    e.warnings.push_back("no CC event log at " + (path.empty() ? std::string("(none named)") : path) +
                         ": a verifier cannot replay RTMR0-3 from this evidence (give it one with cci-verify report --event-log)");
    return;
  }
  auto log = read_file(path, 16u << 20);
  if (!log) {
    e.warnings.push_back("the CC event log " + path + " could not be read: " + log.error().message);
    return;
  }
  e.file.event_log = std::move(*log);
}

void add_snp_cert_table(ByteView table, Evidence& e) {
  if (table.empty()) return;
  auto entries = snp::parse_cert_table(table);
  if (!entries) {
    e.warnings.push_back("the certificate table is unreadable (" + entries.error().message + "): certificates left out");
    return;
  }
  std::string chain;
  for (const auto& entry : *entries) {
    auto cert = crypto::Certificate::from_der(entry.data);
    if (!cert) {
      if (entry.kind != "unknown") e.warnings.push_back("the " + entry.kind + " in the certificate table is not a certificate: left out");
      continue;
    }
    if (entry.kind == "vcek" || entry.kind == "vlek") e.file.vek_pem = cert->pem();
    else if (entry.kind != "unknown") chain += cert->pem();
  }
  if (!chain.empty()) e.file.cert_chain_pem = chain;
}

Status apply_guest_request(SourceOptions& o, const GuestRequest& g) {
  o.vmpl = g.vmpl;
  const std::string& tee = o.tee;
  if (tee == "csv" || tee == "sim-csv" || tee == "auto") {
    if (g.report_version == 2) o.csv_version = csv::ReportVersion::kV2;
    else if (g.report_version == 1 || g.report_version == 5) o.csv_version = csv::ReportVersion::kV1;
    else return make_error(ErrorCode::kUsage, "a CSV report version is 1 or 2", "report-version");
  }
  o.sim_csv.version = o.csv_version;
  if (tee == "sim-snp") {
    if (!g.measurement_hex.empty()) {
      auto m = from_hex(g.measurement_hex, "--measurement", 48);
      if (!m) return make_error(ErrorCode::kUsage, m.error().message + " (an SNP measurement is 96 hex digits)", "measurement");
      o.sim_snp.measurement = std::move(*m);
    }
    o.sim_snp.debug = g.debug;
    o.sim_snp.version = g.report_version;
    o.sim_snp.vmpl = g.vmpl;
  } else if (tee == "sim-tdx") {
    if (!g.measurement_hex.empty()) {
      auto m = from_hex(g.measurement_hex, "--measurement", 48);
      if (!m) return make_error(ErrorCode::kUsage, m.error().message + " (an MRTD is 96 hex digits)", "measurement");
      o.sim_tdx.mr_td = std::move(*m);
    }
    if (g.report_version != 4 && g.report_version != 5) return make_error(ErrorCode::kUsage, "a TDX quote version is 4 or 5", "report-version");
    o.sim_tdx.version = g.report_version;
    o.sim_tdx.debug = g.debug;
  } else if (tee == "sim-csv") {
    if (!g.measurement_hex.empty()) {
      auto m = from_hex(g.measurement_hex, "--measurement", 32);
      if (!m) return make_error(ErrorCode::kUsage, m.error().message + " (a CSV measure is 64 hex digits)", "measurement");
      o.sim_csv.measure = std::move(*m);
    }
    o.sim_csv.debug = g.debug;
  }
  return {};
}

Result<std::unique_ptr<EvidenceSource>> select_evidence_source(const SourceOptions& o) {
  if (o.tee == "sim-snp" || o.tee == "sim-csv" || o.tee == "sim-tdx") {
    if (o.sim_dir.empty()) return make_error(ErrorCode::kUsage, "--tee " + o.tee + " needs --sim-dir DIR (from cci-run sim init)", "sim-dir");
    if (o.tee == "sim-snp") return std::unique_ptr<EvidenceSource>(std::make_unique<SimSnpSource>(o.sim_dir, o.sim_snp));
    if (o.tee == "sim-tdx") return std::unique_ptr<EvidenceSource>(std::make_unique<SimTdxSource>(o.sim_dir, o.sim_tdx, o.ccel));
    return std::unique_ptr<EvidenceSource>(std::make_unique<SimCsvSource>(o.sim_dir, o.sim_csv));
  }
  if (o.tee != "auto" && o.tee != "snp" && o.tee != "csv" && o.tee != "tdx") {
    return make_error(ErrorCode::kUsage, "--tee must be auto, snp, csv, tdx, sim-snp, sim-csv or sim-tdx, not '" + o.tee + "'", "tee");
  }
  std::vector<std::string> tried;
  if (auto s = hardware_source(o, tried)) return s;
  return make_error(ErrorCode::kIo,
                    "no TEE evidence source for --tee " + o.tee + "; tried " + join(tried) +
                        ". On a machine without SEV-SNP, TDX or CSV, name a simulator: --tee sim-snp|sim-csv|sim-tdx --sim-dir DIR",
                    "tee");
}

}  // namespace cci::attest
