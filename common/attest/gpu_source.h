// GPU evidence for a fresh answer (ratls/fresh.h, "cci-gpu"): every confidential GPU's attestation
// report answering one 32-byte nonce, with its certificate chain, as the NVIDIA attestation SDK's
// serialized evidence (a JSON list of {arch, nonce, evidence, certificate}; common/nvgpu).
//   nvml  NVML (libnvidia-ml.so.1, loaded at run time: cci needs no NVIDIA package to build) on
//         GPUs in confidential-computing mode: nvmlSystemGetConfComputeState (CC on and DevTools
//         off, else refused), then per device nvmlDeviceGetConfComputeGpuAttestationReport with
//         the nonce and nvmlDeviceGetConfComputeGpuCertificate (the attestation chain, PEM)
//   sim   the simulated GPU of `cci-run sim init DIR --vendor nvidia`, used only when named
#pragma once

#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::attest {

class GpuSource {
 public:
  virtual ~GpuSource() = default;
  virtual std::string describe() const = 0;
  virtual bool simulated() const = 0;
  // `nonce`: exactly 32 bytes. The SDK's JSON for every GPU.
  virtual Result<Bytes> evidence(ByteView nonce) = 0;
};

// kind "nvml" (library: `nvml_library`, default libnvidia-ml.so.1) or "sim" (sim_dir).
Result<std::unique_ptr<GpuSource>> select_gpu_source(const std::string& kind, const std::string& sim_dir,
                                                     const std::string& nvml_library = "libnvidia-ml.so.1");

}  // namespace cci::attest
