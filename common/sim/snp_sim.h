// A simulated SEV-SNP platform for machines without one (CI, laptops): a certificate chain
// shaped like AMD's (ARK RSA-4096 and ASK RSA-4096, both RSASSA-PSS; VCEK ECDSA P-384 with the
// real AMD extensions for the product's TCB layout and hardware ID) and reports in the exact
// binary format, signed as the firmware signs them. Every certificate's subject says
// "SIMULATED"; verifiers accept the chain only when told to trust this directory by name.
//
// Directory layout (DIR/amd): ark.pem ask.pem vcek.pem cert_chain.pem crl.der (public) and
// ark.key ask.key vcek.key (mode 0600), platform.json (product, chip ID, TCB, firmware).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "snp/report.h"

namespace cci::sim {

// The guest the simulated platform launched: what its reports say unless a request overrides
// it. A simulator initialised with a deployment manifest's launch digest plays that deployment.
struct SnpGuest {
  Bytes measurement = Bytes(48, 0);  // MEASUREMENT
  Bytes host_data = Bytes(32, 0);    // HOST_DATA
  std::uint64_t policy = 0x30000;    // guest policy: SMT allowed, bit 17 (reserved, one); debug is bit 19
};

struct SnpPlatform {
  snp::Product product = snp::Product::kMilan;
  Bytes chip_id;       // 64 bytes (Turin: the last 56 are zero); random when empty
  snp::Tcb tcb;        // reported = committed = current = launch
  std::uint8_t fw_major = 1, fw_minor = 55, fw_build = 21;
  SnpGuest guest;
};
SnpPlatform default_snp_platform(snp::Product p);

// Creates DIR/amd; fails if it exists (no silent overwrite of keys).
Status init_snp_sim(const std::string& dir, const SnpPlatform& platform);

struct SnpReportRequest {
  Bytes report_data = Bytes(64, 0);    // exactly 64 bytes
  std::optional<Bytes> measurement;    // 48 bytes; default: the platform's guest
  std::optional<std::uint64_t> policy; // default: the platform's guest
  bool debug = false;                  // sets the policy's debug bit (19)
  std::uint32_t version = 5;           // 2, 3 or 5
  std::uint32_t vmpl = 0;
  std::optional<Bytes> host_data;      // 32 bytes; default: the platform's guest
};

// A signed 1184-byte report from the simulated platform in DIR (keys checked: 0600, owner).
Result<Bytes> snp_sim_report(const std::string& dir, const SnpReportRequest& req);


}  // namespace cci::sim
