// Fuzz target: the NVIDIA GPU attestation report parser (SPDM 1.1 GET_MEASUREMENTS request +
// MEASUREMENTS response, NVIDIA's opaque data), fed the input as the report's bytes and as its
// hex text; Blackwell's DiceTcbInfo certificate extension (its first FWID); and the attestation
// SDK's serialized evidence JSON, each report in it parsed too.
#include <cstdint>
#include <cstdlib>

#include "nvgpu/report.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const cci::ByteView in(data, size);
  auto r = cci::nvgpu::parse_report(in);
  if (r && (r->signed_bytes.size() + cci::nvgpu::kSignatureSize != size)) std::abort();  // the signature is exactly the last 96 bytes
  if (auto hex = cci::nvgpu::report_from_hex_text(in)) (void)cci::nvgpu::parse_report(*hex);
  if (auto f = cci::nvgpu::dice_tcb_info_fwid(in); f && f->size() > size) std::abort();
  if (auto ev = cci::nvgpu::parse_serialized_evidence(in)) {
    for (const auto& e : *ev) (void)cci::nvgpu::parse_report(e.report);
  }
  return 0;
}
