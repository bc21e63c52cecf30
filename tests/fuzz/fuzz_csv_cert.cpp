// Fuzz target: Hygon's CA-cert (HRK/HSK) and CSV-cert (CEK/PEK) parsers, the SM2 key
// construction from their coordinates, and a self-signature check on whatever parses.
#include <cstdint>

#include "csv/cert.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const cci::ByteView in(data, size);
  if (auto ca = cci::csv::parse_ca_cert(in, "HRK")) (void)cci::csv::verify_hygon_signature(ca->pub, ca->signed_bytes(), ca->sig);
  if (auto c = cci::csv::parse_csv_cert(in, "PEK")) {
    (void)c->sig1.empty();
    (void)cci::csv::verify_hygon_signature(c->pub, c->signed_bytes(), c->sig1);
  }
  if (size >= cci::csv::kCaCertSize + cci::csv::kCsvCertSize) {
    (void)cci::csv::parse_ca_cert(in.first(cci::csv::kCaCertSize), "HSK");
    (void)cci::csv::parse_csv_cert(in.subspan(cci::csv::kCaCertSize, cci::csv::kCsvCertSize), "CEK");
  }
  return 0;
}
