// A simulated Intel TDX platform for machines without one: Intel's PKI shape in miniature (a root
// CA, a PCK Platform CA, a PCK certificate with the SGX extensions of Intel's PCK certificate
// profile, a TCB Signing certificate; ECDSA P-256 with SHA-256 throughout), the collateral Intel's
// PCS would serve for its FMSPC (TCB Info v3 and QE Identity v2 signed over their exact bytes, the
// root CA and PCK CRLs), and quotes in the exact v4/v5 binary format: the TD report signed by an
// attestation key that a simulated QE report, signed by the PCK key, binds. Every certificate's
// subject says SIMULATED; verifiers accept the root only when told to trust this directory by
// name (cci-verify --trust-sim-root DIR).
//
// DIR/intel: root.pem pck_ca.pem pck.pem tcb_signing.pem platform.json, collateral/ (the six PCS
// files read_tdx_collateral takes), and root.key pck_ca.key pck.key tcb_signing.key
// attestation.key (mode 0600).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::sim {

// The TD the simulated platform launched: what its quotes say unless a request overrides it.
struct TdxGuest {
  Bytes mr_td = Bytes(48, 0);
  Bytes mr_config_id = Bytes(48, 0);
  std::array<Bytes, 4> rtmr = {Bytes(48, 0), Bytes(48, 0), Bytes(48, 0), Bytes(48, 0)};
  std::uint64_t td_attributes = 0x10000000;  // SEPT_VE_DISABLE (bit 28); DEBUG is bit 0
  std::uint64_t xfam = 0x602e7;              // x87, SSE, AVX, AVX-512 state, PK, AMX
};

struct TdxPlatform {
  std::array<std::uint8_t, 6> fmspc = {0x53, 0x49, 0x4d, 0x00, 0x00, 0x00};  // "SIM": no Intel platform's
  std::array<std::uint8_t, 16> cpu_svn = {3, 3, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0};
  std::uint16_t pce_svn = 13;
  // TEE_TCB_SVN: [0] the module's SVN, [1] its major version (TDX_01 in TCB Info), [2] late microcode.
  std::array<std::uint8_t, 16> tee_tcb_svn = {5, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  std::uint16_t qe_svn = 8;
  unsigned tcb_evaluation_number = 17;
  TdxGuest guest;
};

// Creates DIR/intel; fails if it exists (no silent overwrite of keys). The collateral is issued
// now and stays current for a year (nextUpdate), the certificates for 25 years.
Status init_tdx_sim(const std::string& dir, const TdxPlatform& platform);

struct TdxQuoteRequest {
  Bytes report_data = Bytes(64, 0);  // exactly 64 bytes
  std::optional<Bytes> mr_td;        // 48 bytes; default: the platform's guest
  bool debug = false;                // sets TD_ATTRIBUTES.DEBUG
  unsigned version = 4;              // 4 (TD 1.0 body) or 5 (TD 1.5 body)
};

// A signed quote from the simulated platform in DIR (keys checked: 0600, owner).
Result<Bytes> tdx_sim_quote(const std::string& dir, const TdxQuoteRequest& req);

}  // namespace cci::sim
