// CSV evidence as it arrives (raw, librats csv_evidence, confidential-containers/trustee JSON), reduced to the report bytes plus what the
// envelope adds. Nothing in an envelope is trusted: a PEK or serial number it carries is only
// compared with the report's own.
//   raw        the report alone (2548 / 0xD34 bytes) or its 4096-byte firmware page
//   librats    the 4096-byte page, u32 length, HSK||CEK (untrusted: ignored for the chain)
//   trustee    {"attestation_report":{"magic","flags","data"[4096]},"cert_chain":{"pek",...},
//               "serial_number"[64],"cc_eventlog"} (csv-rs restored the PEK and chip ID)
//   trustee-legacy  {"attestation_report":{"body":{...},"sig_usage","sig_algo","anonce","sig"},
//               "cert_chain":{"pek"}}: no signer block; rebuilt as a V1 report with the
//               envelope's PEK (restored) and serial number
#pragma once

#include <optional>
#include <string>

#include "csv/report.h"

namespace cci::csv {

inline constexpr size_t kMaxEvidenceBytes = 4 << 20;

struct Evidence {
  std::string format;  // "raw", "librats", "trustee", "trustee-legacy"
  Bytes report;        // for parse_report
  std::optional<ReportVersion> version;  // when the envelope says
  std::optional<Bytes> envelope_pek;     // 2084-byte PEK from cert_chain.pek
  std::optional<std::string> envelope_serial;
  bool envelope_has_hsk_cek = false;  // present, and not used: the chain comes from trusted stores
  std::optional<Bytes> event_log;     // cc_eventlog, decoded
};

// Whether `data` looks like CSV evidence (by size or JSON shape) rather than SNP.
bool looks_like_csv(ByteView data);

Result<Evidence> extract_evidence(ByteView data);

}  // namespace cci::csv
