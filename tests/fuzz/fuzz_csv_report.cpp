// Fuzz target: the Hygon CSV report parser (auto-detected layout, then forced V1 and V2),
// and the accessors the verifier uses on a parsed report.
#include <cstdint>

#include "crypto/digest.h"
#include "csv/report.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const cci::ByteView in(data, size);
  for (auto v : {std::optional<cci::csv::ReportVersion>(), std::optional(cci::csv::ReportVersion::kV1), std::optional(cci::csv::ReportVersion::kV2)}) {
    auto r = cci::csv::parse_report(in, v);
    if (!r) continue;
    (void)r->signed_bytes();
    if (r->version == cci::csv::ReportVersion::kV1) (void)cci::crypto::hmac(cci::crypto::DigestAlg::kSm3, r->mnonce, r->hmac_input());
    (void)r->pek.pub.key();
  }
  return 0;
}
