// The evidence-source flags shared by cci-run attest and cci-run cert, and opening the source
// they name (with the simulator warning every simulated run must print).
#include "commands.h"

namespace cci::tools::run {

void add_evidence_source_flags(CLI::App* sub, attest::SourceOptions& so) {
  sub->add_option("--tee", so.tee,
                  "auto (configfs-tsm: TDX when /dev/tdx_guest is there, else SEV-SNP; then /dev/sev-guest, then /dev/csv-guest), snp, tdx, "
                  "csv, or a simulator by name: sim-snp, sim-csv, sim-tdx")
      ->capture_default_str();
  sub->add_option("--tsm-root", so.tsm_root, "configfs-tsm report directory")->capture_default_str();
  sub->add_option("--ccel", so.ccel, "TDX: the CC event log to put into the evidence (the ACPI CCEL table's log area)")->capture_default_str();
  sub->add_option("--sev-guest", so.sev_guest, "SEV-SNP guest device")->capture_default_str();
  sub->add_option("--csv-guest", so.csv_guest, "Hygon CSV guest device")->capture_default_str();
  sub->add_option("--tdx-guest", so.tdx_guest, "Intel TDX guest device (its presence marks a TDX guest; quotes come through configfs-tsm)")
      ->capture_default_str();
  sub->add_option("--sim-dir", so.sim_dir, "Simulated platform directory (cci-run sim init)");
}

Result<std::unique_ptr<attest::EvidenceSource>> open_evidence_source(const attest::SourceOptions& so, const cli::Context& ctx) {
  auto source = attest::select_evidence_source(so);
  if (!source) return source.error();
  if (so.tee.rfind("sim-", 0) == 0) ctx.warn((*source)->describe() + ": this evidence proves nothing about hardware");
  return source;
}

}  // namespace cci::tools::run
