// Fresh evidence (docs/security.md, Goal 2 "Freshness"; the replay weakness of static
// RA-TLS certificates, docs/security.md Goal 2 limits): after the TLS 1.3 handshake the client sends a random nonce; the
// server answers with new evidence whose claims repeat the certificate's (same key, purpose,
// manifest, deployment) and add
//   "nonce"        : the client's nonce
//   "cci-exporter" : TLS-Exporter("EXPORTER-cci-attest", nonce, 32) of this connection
// so an answer recorded on another connection, or for another nonce, fails the check.
#pragma once

#include "ratls/claims.h"

namespace cci::ratls {

inline constexpr char kExporterLabel[] = "EXPORTER-cci-attest";
inline constexpr size_t kNonceBytes = 32, kExporterBytes = 32;
// POST /v1/attestation/model-key {"key": base64(32-byte DEK), "binding": hex(exporter)}: the model
// owner proves that the connection it verified is the one the server reads the key from (a TLS
// terminator in between computes another value): RFC 8446 section 7.5 exporter with this label and
// an empty context, 32 bytes.
inline constexpr char kModelKeyExporterLabel[] = "EXPORTER-cci-model-key";

Claims fresh_claims(const Claims& certificate_claims, ByteView nonce, ByteView exporter);

// Confidential GPUs (docs/nvidia-gpu.md, "CPU + GPU"): a server with GPUs answers the fresh
// request with their evidence too. Each GPU's SPDM request nonce is
//   SHA-256("cci-gpu-nonce" || nonce || exporter)
// so GPU evidence is as fresh and as bound to the connection as the CPU report, and the fresh
// claims carry "cci-gpu" = SHA-256(the GPU evidence bytes), so the CPU report vouches for exactly
// the GPU evidence sent (evidence of other GPUs, or of another request, fails one of the two).
inline constexpr char kGpuNonceLabel[] = "cci-gpu-nonce";
Bytes gpu_nonce(ByteView nonce, ByteView exporter);
// The verifier's check of the GPU evidence received against the fresh claims.
Status check_gpu_binding(const Claims& fresh, ByteView gpu_evidence);

// Offline evidence with GPUs (cci-run attest --gpu; no connection, so no exporter): each GPU's
// request nonce is SHA-256("cci-attest-gpu-nonce" || nonce), and the CPU report's REPORT_DATA is
//   SHA-512("cci-attest-gpu" || u8 len(nonce) || nonce || SHA-256(the GPU evidence bytes))
// so the CPU report vouches for exactly that GPU evidence, answering that nonce (labels apart
// from the fresh answer's, so neither kind of evidence passes for the other).
inline constexpr char kAttestGpuNonceLabel[] = "cci-attest-gpu-nonce";
inline constexpr char kAttestGpuReportDataLabel[] = "cci-attest-gpu";
Bytes attest_gpu_nonce(ByteView nonce);
Bytes attest_report_data(ByteView nonce, ByteView gpu_evidence);  // 64 bytes; nonce 1..64 bytes

// The verifier's check of the claims inside a fresh answer.
Status check_fresh_claims(const Claims& fresh, const Claims& certificate_claims, ByteView nonce, ByteView exporter);

}  // namespace cci::ratls
