// Fuzz target: OMS bundle JSON and the in-toto statement inside it.
#include <cstdint>

#include "manifest/oms.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  cci::ByteView in(data, size);
  auto bundle = cci::manifest::oms::parse_bundle(in);
  if (bundle) (void)cci::manifest::oms::parse_statement(bundle->payload);
  (void)cci::manifest::oms::parse_statement(in);
  return 0;
}
