// Fuzz target: SNP report input detection (raw / hex / Azure HCL) and the report parser.
#include <cstdint>

#include "snp/report.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  cci::ByteView in(data, size);
  auto extracted = cci::snp::extract_report(in);
  if (extracted) {
    auto r = cci::snp::parse_report(extracted->report);
    if (r) {
      (void)cci::snp::decode_tcb(r->reported_tcb, cci::snp::Product::kTurin);
      if (r->cpuid_family) (void)cci::snp::product_from_cpuid(*r->cpuid_family, *r->cpuid_model);
    }
  }
  (void)cci::snp::parse_report(in);
  return 0;
}
