// Where evidence comes from, behind one interface: get_evidence(REPORT_DATA[64]).
//   configfs-tsm      /sys/kernel/config/tsm/report (providers sev_guest and tdx_guest; a
//                     guest with /dev/tdx_guest is a TDX guest, any other an SEV-SNP one)
//   /dev/sev-guest    SNP_GET_EXT_REPORT / SNP_GET_REPORT
//   /dev/csv-guest    CSV_CMD_GET_REPORT (Hygon has no configfs-tsm provider)
//   sim-snp, sim-csv, sim-tdx  the simulators of `cci-run sim init`, used only when named
// --tee auto tries the hardware sources in that order and, when none is there, fails with a
// list of what it tried: it never falls back to a simulator.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "evidence/evidence_file.h"
#include "attest/guest_device.h"
#include "base/bytes.h"
#include "base/result.h"
#include "csv/report.h"
#include "sim/csv_sim.h"
#include "sim/snp_sim.h"
#include "sim/tdx_sim.h"

namespace cci::attest {

struct Evidence {
  evidence::EvidenceFile file;
  std::string source;                 // what produced it, e.g. "/dev/sev-guest"
  std::vector<std::string> warnings;  // e.g. a certificate table that could not be read
};

class EvidenceSource {
 public:
  virtual ~EvidenceSource() = default;
  virtual std::string describe() const = 0;
  // What its evidence files name (evidence::EvidenceFile::tee): "snp", "csv", "tdx", "sim-snp", ...
  virtual std::string tee() const = 0;
  // `report_data` must be exactly 64 bytes.
  virtual Result<Evidence> get_evidence(ByteView report_data) = 0;
};

using DeviceOpener = std::function<Result<std::unique_ptr<GuestDevice>>(const std::string& path)>;

struct SourceOptions {
  std::string tee = "auto";  // auto, snp, csv, tdx, sim-snp, sim-csv, sim-tdx
  std::string tsm_root = "/sys/kernel/config/tsm/report";
  std::string sev_guest = "/dev/sev-guest";
  std::string csv_guest = "/dev/csv-guest";
  std::string tdx_guest = "/dev/tdx_guest";
  // TDX: the CC event log the firmware leaves in the ACPI CCEL table's log area (Linux exposes it
  // here); read into the evidence when present.
  std::string ccel = "/sys/firmware/acpi/tables/data/CCEL";
  unsigned vmpl = 0;                                     // SNP
  csv::ReportVersion csv_version = csv::ReportVersion::kV1;
  std::string sim_dir;                                   // sim-*: the platform directory
  sim::SnpReportRequest sim_snp;                         // sim-snp: everything but report_data
  sim::CsvReportRequest sim_csv;                         // sim-csv: everything but report_data
  sim::TdxQuoteRequest sim_tdx;                          // sim-tdx: everything but report_data
  DeviceOpener open_device = open_guest_device;          // tests put a fake device here
};

// What cci-run attest asks of the source: the report version and VMPL (hardware and simulator),
// and for a simulator the measurement and a debug policy (the simulators' report requests).
struct GuestRequest {
  std::string measurement_hex;  // simulator only: SNP and TDX (MRTD) 48 bytes, CSV 32
  bool debug = false;           // simulator only
  unsigned report_version = 5;  // SNP 2, 3 or 5; CSV 1 or 2 (5 means 1); simulated TDX quote 4 or 5
  unsigned vmpl = 0;            // SNP
};
Status apply_guest_request(SourceOptions& o, const GuestRequest& g);

// The source `o.tee` names (auto: the first hardware source present).
Result<std::unique_ptr<EvidenceSource>> select_evidence_source(const SourceOptions& o);

// TDX: the CC event log at `path` into the evidence (at most 16 MiB); absent: a warning, since a
// verifier cannot then check RTMR0-3.
void attach_ccel(const std::string& path, Evidence& e);

// SNP certificates from a provider's certificate table (auxblob / extended report) as PEM.
void add_snp_cert_table(ByteView table, Evidence& e);

}  // namespace cci::attest
