// A simulated Hygon CSV platform: HRK -> HSK -> CEK -> PEK in Hygon's binary certificate
// formats with SM2 keys and the right user IDs, and V1 reports (fields and PEK masked with a
// random anonce, HMAC-SM3 keyed by the mnonce) or V2 reports (RTMRs), signed as the firmware
// signs them. The simulated HRK carries csv::kSimulatedHrkMarker in its signed reserved
// bytes; verifiers accept it only when told to trust this directory by name.
//
// DIR/hygon: hrk.cert hsk_cek.cert pek.cert platform.json (public), *.key (0600).
#pragma once

#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "csv/report.h"

namespace cci::sim {

struct CsvPlatform {
  std::string chip_id;  // letters and digits; random "SIM..." when empty
  std::uint8_t api_major = 1, api_minor = 3;
  std::uint32_t build = 2337;
  // The guest it launched: what its reports say unless a request overrides it.
  Bytes measure = Bytes(32, 0);
  std::uint32_t policy = 0x45;  // NODBG | ES | CSV3
};

Status init_csv_sim(const std::string& dir, const CsvPlatform& platform);

struct CsvReportRequest {
  Bytes report_data = Bytes(64, 0);
  std::optional<Bytes> measure;          // 32 bytes; default: the platform's guest
  std::optional<std::uint32_t> policy;   // default: the platform's guest
  bool debug = false;                    // clears NODBG (bit 0)
  csv::ReportVersion version = csv::ReportVersion::kV1;
  Bytes mnonce;  // the guest's 16-byte mnonce (the HMAC key); empty: a random one
};

// The 4096-byte report page the firmware would write.
Result<Bytes> csv_sim_report(const std::string& dir, const CsvReportRequest& req);


}  // namespace cci::sim
