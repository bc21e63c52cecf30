// What cci-verify report shares between vendors: its options, the policy in force, and the
// verdict output (one format for SNP and CSV).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/tool.h"
#include "manifest/release.h"
#include "policy/snp_policy.h"
#include "snp_collateral.h"
#include "verify/check.h"

namespace cci::tools::verify {

inline constexpr size_t kMaxEvidenceBytes = 4 << 20;

struct ReportOptions {
  std::string file;
  std::string vendor = "auto";  // auto | amd | hygon
  // SNP collateral
  std::string vek;
  std::vector<std::string> cert_chain;
  std::string cert_table;
  std::string product;
  std::string crl;
  // CSV collateral
  std::string hrk;
  std::string hsk_cek;
  std::string event_log;  // CC event log (V2: replayed against RTMR1-4)
  std::vector<std::string> trust_sim_roots;  // cci-run sim directories trusted by name
  // Both
  std::string at = "now";
  std::string policy_file;
  std::string manifest;
  std::string manifest_key;
  std::vector<std::string> measurements;
  std::string report_data;
  std::string nonce;
  std::string vm_id, vm_version, user_pubkey_digest;  // CSV launch-session values
  bool insecure_allow_debug = false;
  bool insecure_no_crl = false;
  bool insecure_unpinned_v1 = false;
  bool insecure_any_measurement = false;
  bool insecure_any_manifest = false;  // cert: the claims' manifest left unchecked
  // A release already verified (cert, remote): its deployment manifest gives the measurements
  // and the policy; a model bundle gives neither.
  std::shared_ptr<const manifest::Release> release;
  std::string release_label;
  bool allow_vlek = false;
  bool offline = false;
  KdsFlags kds;
  // Added to the verdict (cci-verify remote: the server's URL and key pin).
  cli::Json extra = cli::Json::object();
  std::vector<std::string> extra_lines;  // printed after an accepting verdict
};

// The policy in force: --policy, else the manifest's, else the built-in default; then the
// permissions the user named on the command line. `platform` ("snp" or "csv") picks the
// manifest's launch measurements and the measurement size (48 or 32 bytes).
struct PolicySetup {
  policy::Json policy = policy::default_policy();
  std::string source = "built-in default";
  std::vector<Bytes> measurements;
  std::optional<Bytes> report_data;
};
Result<PolicySetup> policy_setup(const ReportOptions& o, const std::string& platform);

// The verdict, as text or as the cci.verify.report.v1 document. `missing` marks a failure
// caused only by missing collateral (exit 3).
struct Verdict {
  std::string vendor;  // "amd" | "hygon"
  std::string format;
  const ::cci::verify::CheckList* checks = nullptr;
  const ::cci::verify::CheckList* findings = nullptr;  // null when the policy was not applied
  std::string policy_source;
  bool authentic = false, missing = false;
  cli::Json report;       // decoded fields (may be null)
  std::string what;       // "genuine Milan SEV-SNP report", "genuine Hygon CSV V1 report"
  std::string measurement_hex;
  bool simulated = false;  // the chain ends in a simulated root (--trust-sim-root)
};
int print_verdict(const ReportOptions& o, const Verdict& v, const cli::Context& ctx);

std::string hex_u(std::uint64_t v);  // "0x1f": decoded fields in the JSON report

// The report pipeline on evidence already in memory (raw report, Azure HCL, hex, CSV forms, or a
// cci.evidence.v1 document); o.file names it in messages.
int run_report_bytes(const ReportOptions& o, Bytes data, const cli::Context& ctx);

// `carried_hrk`: an HRK from a cci evidence file (a candidate, checked against the pin).
int run_csv_report(const ReportOptions& o, const Bytes& data, const cli::Context& ctx, std::optional<Bytes> carried_hrk = std::nullopt);
int run_csv_show(const std::string& file, const Bytes& data, const cli::Context& ctx);

}  // namespace cci::tools::verify
