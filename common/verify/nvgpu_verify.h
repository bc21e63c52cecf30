// "Did an NVIDIA GPU sign this?" for GPU attestation reports (common/nvgpu), as NVIDIA's local
// GPU verifier and attestation SDK check them, in order:
//   the report parses (SPDM 1.1 GET_MEASUREMENTS + MEASUREMENTS, DMTF DSP0274) with the header
//     values a signed measurement report must have;
//   the device certificate chain: exactly five certificates, leaf (the GPU's attestation key)
//     first, each issued by the next; the first four chain to the NVIDIA Device Identity CA
//     pinned here by the SHA-256 of its DER (the chain's own fifth certificate is never
//     trusted), every one valid at `at`;
//   the report's signature: ECDSA P-384 with SHA-384 over the request and the response without
//     the signature (SPDM 1.1 has no signing-context prefix), by the attestation key;
//   the request nonce equals the verifier's (the response nonce is the GPU's and only signed);
//   the FWID: where the report carries one (opaque field 20), it equals the one in the
//     attestation key's certificate (Hopper: extension 2.23.133.5.4.1, its last 48 bytes;
//     Blackwell: TCG DiceTcbInfo 2.23.133.5.4.1.1, the digest of its first FWID).
// Reference values (RIMs), revocation (OCSP) and policy are decided elsewhere.
#pragma once

#include <ctime>
#include <optional>
#include <string>

#include "crypto/x509.h"
#include "nvgpu/report.h"
#include "verify/check.h"
#include "verify/verified.h"

namespace cci::verify {

// SHA-256 of the DER of the NVIDIA Device Identity CA (CN=NVIDIA Device Identity CA, O=NVIDIA, P-384).
Bytes pinned_nvidia_device_root_fingerprint();

struct GpuEvidence {
  ByteView report;
  std::string chain_pem;                      // five PEM certificates, leaf first
  std::optional<Bytes> nonce;                 // the verifier's 32-byte challenge; absent: cannot evaluate freshness
  std::time_t at = 0;                         // certificates must be valid then
  std::optional<crypto::Certificate> root;    // instead of the pinned root (tests)
};

struct GpuVerification {
  bool passed = false;
  CheckList checks;
  std::optional<nvgpu::Report> report;        // parsed: authentic only if `passed`
  std::optional<Verified<nvgpu::Report>> verified;  // the report, when every check passed
  std::optional<crypto::Certificate> attestation_key_cert;
  // The device's own certificate (the chain's second, "GSP BROM" on Hopper), once the chain
  // holds: its key is the GPU's identity across firmware changes (the attestation key is not).
  std::optional<crypto::Certificate> device_cert;
  bool complete = false;                      // every check ran
};

// Check ids: nvgpu.report or nvgpu.spdm_header (the parse), nvgpu.device_chain,
// nvgpu.report_signature, nvgpu.request_nonce, nvgpu.fwid. Stops where later checks would be
// meaningless (a report that does not parse, a chain that does not hold).
GpuVerification verify_gpu_report(const GpuEvidence& ev);

}  // namespace cci::verify
