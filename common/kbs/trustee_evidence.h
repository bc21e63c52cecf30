// TEE evidence in the JSON shapes trustee's verifiers read (the KBS attest request's
// primary_evidence), for the hardware TEEs. guest-components' SNP attester sends
//   {"attestation_report": <the report as the Rust `sev` crate serialises its parsed struct>,
//    "cert_chain": [{"cert_type": "VCEK", "data": [DER bytes]}] | null}
// rather than the report's bytes: every field by name, byte arrays as arrays of numbers,
// TCB_VERSION as {"fmc","bootloader","tee","snp","microcode"} (fmc null before Turin), firmware
// versions as {"major","minor","build"}, and the signature as {"r","s"} (72 bytes each, as stored).
// The verifier rebuilds the report's bytes from these fields to check the signature, so the
// writer must carry every signed field (SEV-SNP ABI 56860, "ATTESTATION_REPORT Structure").
// Its CSV attester sends csv-rs's CsvEvidence:
//   {"attestation_report": {"magic":[16], "flags", "data":[4096]}  (the report page),
//    "cert_chain": {"pek": <the PEK certificate field by field>}, "serial_number": [64],
//    "cc_eventlog": base64 | null}
// with the PEK and chip ID of a V1 report unmasked in the page (csv-rs restores them).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "base/result.h"
#include "evidence/evidence_file.h"

namespace cci::kbs {

// A certificate for cert_chain: its type as the sev crate names it ("ARK", "ASK", "VCEK",
// "VLEK") and its DER bytes.
struct SnpCert {
  std::string type;
  Bytes der;
};

// primary_evidence for trustee's "snp" verifier from a raw 1184-byte report, versions 2, 3
// and 5 (version 5 adds the two mitigation vectors, launch_mit_vector and current_mit_vector,
// which the sev crate writes only for it; version 4 and later ones are kUnsupported rather
// than evidence whose signature the verifier could not rebuild). An empty `certs` writes
// "cert_chain": null.
Result<nlohmann::json> snp_evidence(ByteView report, const std::vector<SnpCert>& certs);

// primary_evidence for trustee's "csv" verifier from a CSV report as the firmware returns it
// (V1 or V2, alone or in its 4096-byte page; a V1 report's PEK and chip ID masked or already
// restored). A V1 report goes out as csv-rs passes it on: PEK and chip ID unmasked, the
// reserved bytes before the MAC zero (so its HMAC no longer holds; the signature, over
// [0, 0xB4), is untouched). `cc_eventlog` is the base64 event log, or null when none is kept.
// No HSK/CEK: the verifier takes them from Hygon's KDS by the serial number.
Result<nlohmann::json> csv_evidence(ByteView report, const std::optional<std::string>& cc_eventlog);

// primary_evidence for trustee's "tdx" verifier: {"cc_eventlog": base64 or null, "quote": the
// quote (v4/v5, its PCK chain inside) in standard base64}. The quote's structure is checked first.
Result<nlohmann::json> tdx_evidence(ByteView quote, const std::optional<std::string>& cc_eventlog);

// The TEE a KBS is told (kbs-types Tee) for evidence from cci's `tee` ("snp", "csv", "tdx",
// "sim-...") when the user asked for `requested` (--kbs-tee: "auto", "snp", "csv", "tdx", "sample").
// auto: the hardware's own ("snp", "csv", "tdx"), and "sample" for a simulator (trustee's sample
// verifier, which an operator enables only for tests). A simulator may be named snp or csv (its
// report in the hardware's shape, for a test KBS that trusts the simulator's roots; a real
// trustee refuses its chain). Refused (kUsage, field "kbs-tee"): "sample" for hardware, where it
// would send no hardware evidence at all, and a TEE that is not the source's.
Result<std::string> kbs_tee_for(const std::string& tee, const std::string& requested);

// primary_evidence for `kbs_tee` (from kbs_tee_for) from evidence over `report_data`: SNP with
// the VCEK or VLEK (the report's SIGNING_KEY says which) and the ASK and ARK from the evidence's
// chain, CSV as csv_evidence and TDX as tdx_evidence with the evidence's CC event log (null when it
// carries none), sample from
// `report_data` alone.
Result<nlohmann::json> primary_evidence(const std::string& kbs_tee, const evidence::EvidenceFile& ev, ByteView report_data);

}  // namespace cci::kbs
