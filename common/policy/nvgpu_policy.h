// "Are these the GPUs we expect?" for NVIDIA GPU evidence whose reports verify_gpu_report
// established (device chain to the pinned NVIDIA root, SPDM signature, nonce, FWID). The keys:
//   gpu_count               the number of GPUs the evidence must hold, exactly (not pinned
//                           when absent)
//   gpu_min_driver_version  the lowest driver version (opaque DRIVER_VERSION, "550.90.07")
//   gpu_min_vbios_version   the lowest VBIOS version (opaque VBIOS_VERSION, "96.00.9f.00.01",
//                           compared part by part as hex)
//   gpu_allow_ppcie         protected PCIe mode (opaque FEATURE_FLAG 2), in which NVLink traffic
//                           between the GPUs is plain text, is refused unless true; single- and
//                           multi-GPU passthrough (0, 1) pass; so do reports without the flag
//                           (drivers before 580 do not write it), saying that the mode is not stated.
// What NVIDIA's verifiers call secure boot (every measurement equal to a RIM's) is the
// measurement comparison of the appraiser; a debug GPU's chain does not reach the pinned roots.
// Keys of the CPU TEEs are not applicable; one named on the command line for GPU evidence fails.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nvgpu/report.h"
#include "verify/check.h"
#include "verify/verified.h"

namespace cci::policy {

// `gpus`: every GPU of the evidence, verified (policy is applied only when all are).
verify::CheckList evaluate_gpu_policy(const nlohmann::ordered_json& policy, const std::vector<verify::Verified<nvgpu::Report>>& gpus,
                                      const std::vector<std::string>& named_fields);

}  // namespace cci::policy
