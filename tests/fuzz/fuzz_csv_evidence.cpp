// Fuzz target: CSV evidence envelopes (trustee JSON, legacy JSON, librats, raw) and the report
// parser on whatever they yield.
#include <cstdint>

#include "csv/evidence.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const cci::ByteView in(data, size);
  (void)cci::csv::looks_like_csv(in);
  auto ev = cci::csv::extract_evidence(in);
  if (ev) (void)cci::csv::parse_report(ev->report, ev->version);
  return 0;
}
