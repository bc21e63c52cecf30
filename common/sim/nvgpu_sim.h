// A simulated NVIDIA GPU in confidential-computing mode, for machines without one: NVIDIA's
// device PKI in miniature (a root, identity, provisioner and device CA and the attestation key's
// certificate with the FWID extension 2.23.133.5.4.1; ECDSA P-384 with SHA-384 throughout, five
// certificates as a Hopper GPU's chain), a RIM signing PKI, a driver RIM and a VBIOS RIM (SWID
// tags with NVIDIA's enveloped XML signature, made with libxmlsec1), and attestation reports in
// the exact SPDM 1.1 GET_MEASUREMENTS / MEASUREMENTS format (DMTF DSP0274) with NVIDIA's opaque
// data, signed by the attestation key, as the attestation SDK's serialized evidence. Every
// certificate's subject says SIMULATED; verifiers accept the roots only when told to trust this
// directory by name (cci-verify --trust-sim-root DIR).
//
// DIR/nvidia: device_root.pem chain.pem rim_root.pem driver_rim.xml vbios_rim.xml
// platform.json, and device_root.key identity.key provisioner.key device.key rim_root.key
// rim_signer.key attestation.key (mode 0600).
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::sim {

struct NvgpuPlatform {
  std::string driver_version = "550.90.07";
  std::string vbios_version = "96.00.9f.00.01";  // five hex parts, as reports decode it
  std::uint32_t feature_flag = 0;                // 0 SPT, 1 MPT, 2 PPCIE
  bool versioned_opaque = false;                 // the NVDAOD 2.0 opaque data layout (typed entries)
};

// Creates DIR/nvidia; fails if it exists (no silent overwrite of keys). Certificates are valid for
// 25 years from a day ago.
Status init_nvgpu_sim(const std::string& dir, const NvgpuPlatform& platform);

// The attestation SDK's serialized evidence for `gpus` simulated GPUs, each report answering
// `nonce` (32 bytes). GPU 1 is DIR's device (chain.pem, attestation.key); GPUs 2.. are other
// devices, their device and attestation keys and certificates (from DIR's provisioner CA) made
// for this call, so no two entries name one device. `measurement_flip`: the index
// (0..63) of a measurement to report changed, for negative tests; -1 for none.
Result<Bytes> nvgpu_sim_evidence(const std::string& dir, ByteView nonce, unsigned gpus, int measurement_flip = -1);

}  // namespace cci::sim
