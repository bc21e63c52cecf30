// cci-verify report, cert and remote: their options (both vendors), turned into one appraisal
// request, and the verdict's output (one format for every vendor).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "appraise/appraise.h"
#include "cli/keyless.h"
#include "cli/tool.h"
#include "manifest/release.h"
#include "kds_flags.h"

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
  std::string tdx_collateral;
  std::string azure_hcl;  // TDX on Azure: the HCL report the quote binds
  std::vector<std::string> driver_rims, vbios_rims;  // NVIDIA GPUs: RIM files
  std::vector<std::string> ocsp;                     // NVIDIA GPUs: OCSP responses (DER)
  std::string event_log;  // CC event log (V2: replayed against RTMR1-4)
  std::vector<std::string> trust_sim_roots;  // cci-run sim directories trusted by name
  // Both
  std::string at = "now";
  std::string policy_file;
  std::string manifest;
  std::string manifest_key;
  cli::KeylessFlags release_keyless;  // remote/cert: a keyless model bundle's signer, instead of manifest_key
  std::vector<std::string> measurements;
  std::string report_data;
  std::string nonce;
  std::string vm_id, vm_version, user_pubkey_digest;  // CSV launch-session values
  std::map<std::string, std::string> fields;  // field flags (--host-data …) by policy key: compose with the policy
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

// The expected-field flags (--host-data, --min-tcb, … from policy::field_flags()) on `sub`.
void add_field_flags(CLI::App* sub, ReportOptions& o);

// The report pipeline (common/appraise) on evidence already in memory (raw report, Azure HCL,
// hex, CSV forms, or a cci.evidence.v1 document): the flags become one appraise::Request, the
// verdict is printed as text or as the cci.verify.report.v1 document. o.file names the input.
int run_report_bytes(const ReportOptions& o, Bytes data, const cli::Context& ctx);
// The options for a CPU report's appraisal beside GPUs: without the GPUs' collateral (RIMs, OCSP
// answers), which is the GPU verdict's.
ReportOptions cpu_only(const ReportOptions& o);
// The same in two steps (cci-verify remote acts between them): the verdict, then its output and exit code.
Result<appraise::Verdict> appraise_bytes(const ReportOptions& o, Bytes data, const cli::Context& ctx);
int print_verdict(const ReportOptions& o, const appraise::Verdict& v, const cli::Context& ctx);
// cci-verify remote: the CPU verdict with the fresh answer's GPU evidence appraised (its request
// nonce `gpu_nonce`, ratls::gpu_nonce) and composed (appraise/composite.h), or with its absence.
Result<appraise::Verdict> with_fresh_gpus(const ReportOptions& o, appraise::Verdict cpu, std::optional<Bytes> gpu, ByteView gpu_nonce,
                                          const cli::Context& ctx);

}  // namespace cci::tools::verify
