// Fuzz target: the extended-report certificate table (GUID table).
#include <cstdint>

#include "snp/cert_table.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  (void)cci::snp::parse_cert_table(cci::ByteView(data, size));
  return 0;
}
