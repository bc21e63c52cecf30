#include "attest/evidence_source.h"

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

class TsmSource final : public EvidenceSource {
 public:
  TsmSource(std::string root, unsigned vmpl) {
    o_.root = std::move(root);
    o_.privlevel = static_cast<int>(vmpl);
  }
  std::string describe() const override { return "configfs-tsm (" + o_.root + ")"; }
  std::string tee() const override { return "snp"; }
  Result<Evidence> get_evidence(ByteView report_data) override {
    auto r = tsm_get_report(report_data, o_);
    if (!r) return r.error();
    if (r->provider != "sev_guest") {
      return make_error(ErrorCode::kUnsupported, "configfs-tsm provider '" + r->provider + "' is not SEV-SNP (sev_guest)", "provider");
    }
    Evidence e;
    e.source = describe();
    e.file.tee = "snp";
    e.file.report = std::move(r->outblob);
    add_snp_cert_table(r->auxblob, e);
    return e;
  }

 private:
  TsmOptions o_;
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

std::unique_ptr<EvidenceSource> hardware_source(const SourceOptions& o, std::vector<std::string>& tried) {
  const bool snp = o.tee == "auto" || o.tee == "snp";
  const bool csv = o.tee == "auto" || o.tee == "csv";
  if (snp) {
    TsmOptions t;
    t.root = o.tsm_root;
    if (tsm_available(t)) return std::make_unique<TsmSource>(o.tsm_root, o.vmpl);
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
  if (o.tee == "sim-snp" || o.tee == "sim-csv") {
    if (o.sim_dir.empty()) return make_error(ErrorCode::kUsage, "--tee " + o.tee + " needs --sim-dir DIR (from cci-run sim init)", "sim-dir");
    if (o.tee == "sim-snp") return std::unique_ptr<EvidenceSource>(std::make_unique<SimSnpSource>(o.sim_dir, o.sim_snp));
    return std::unique_ptr<EvidenceSource>(std::make_unique<SimCsvSource>(o.sim_dir, o.sim_csv));
  }
  if (o.tee != "auto" && o.tee != "snp" && o.tee != "csv") {
    return make_error(ErrorCode::kUsage, "--tee must be auto, snp, csv, sim-snp or sim-csv, not '" + o.tee + "'", "tee");
  }
  std::vector<std::string> tried;
  if (auto s = hardware_source(o, tried)) return s;
  return make_error(ErrorCode::kIo,
                    "no TEE evidence source for --tee " + o.tee + "; tried " + join(tried) +
                        ". On a machine without SEV-SNP or CSV, name a simulator: --tee sim-snp|sim-csv --sim-dir DIR",
                    "tee");
}

}  // namespace cci::attest
