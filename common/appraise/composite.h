// One verdict over a CPU TEE and the confidential GPUs behind it (docs/nvidia-gpu.md, "CPU +
// GPU"): a fresh answer carries GPU evidence whose SPDM nonce is derived from the client's nonce
// and the TLS exporter, and whose SHA-256 the CPU report's claims name ("cci-gpu"; ratls/fresh.h).
// The binding is checked by ratls::check_gpu_binding; this composes the two appraisals.
#pragma once

#include <optional>

#include "appraise/appraise.h"

namespace cci::appraise {

// The request for a fresh answer's GPU evidence, from the CPU report's: vendor nvidia, the
// derived nonce (32 bytes) as the expected request nonce, the same clock, revocation setting,
// simulator roots, policy and RIM files; the CPU's collateral and measurements dropped.
Request fresh_gpu_request(Request cpu, Bytes gpu_evidence, ByteView gpu_nonce);

// The CPU verdict's checks, then the GPUs' (nvgpu.*, each check id as the GPU appraiser names it);
// the findings of both, the GPU policy keys judged on the GPU evidence alone (the CPU report's
// not-applicable lines for them are dropped). Without GPU evidence (`gpu` empty), a policy that
// sets gpu_count fails: the server showed no GPU. Accepted only when both are; rejected when
// either is; otherwise cannot evaluate.
Verdict compose_with_gpus(Verdict cpu, std::optional<Verdict> gpu, const Json& policy);

}  // namespace cci::appraise
