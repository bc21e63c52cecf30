// The evidence file cci-run attest writes and cci-verify report reads (schema cci.evidence.v1):
//   {"schema": "cci.evidence.v1", "tee": "snp" | "csv" | "tdx" | "sim-snp" | "sim-csv" | "sim-tdx",
//    "report": base64 (TDX: the quote, its PCK chain inside),
//    "certificates": {"vek": PEM, "cert_chain": PEM}   (SNP, optional)
//                    {"hrk": base64}                     (CSV, optional),
//    "simulated": true (sim-* only)}
// Certificates in it are candidates like any other: the verifier checks them against its
// pinned roots (or, by explicit opt-in, a simulator's).
#pragma once

#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::evidence {

struct EvidenceFile {
  std::string tee;  // "snp", "csv", "tdx", "sim-snp", "sim-csv", "sim-tdx"
  Bytes report;
  std::optional<std::string> vek_pem, cert_chain_pem;
  std::optional<Bytes> hrk;  // CSV: a candidate root (checked against the pin like any other)
  // Confidential GPUs beside the CPU TEE (cci-run attest --gpu): the NVIDIA attestation SDK's
  // evidence, bound to the report's REPORT_DATA (ratls/fresh.h, attest_report_data).
  std::optional<Bytes> gpu_evidence;
  // TDX: the CC event log (the ACPI CCEL table's log area, TCG crypto-agile), unauthenticated:
  // the verifier replays it against the quote's RTMRs.
  std::optional<Bytes> event_log;
  bool simulated() const { return tee.rfind("sim-", 0) == 0; }
  bool is_snp() const { return tee == "snp" || tee == "sim-snp"; }
};

// "SEV-SNP", "CSV", "Intel TDX" (simulated ones alike): for messages.
std::string tee_display_name(const std::string& tee);

bool looks_like_evidence_file(ByteView data);
Result<EvidenceFile> parse_evidence_file(ByteView data);
std::string write_evidence_file(const EvidenceFile& e);  // JSON text, newline-terminated

}  // namespace cci::evidence
