// Fuzz target: the safetensors parser (header length, JSON header, offsets and tiling), and
// config.json parsing of the same bytes.
#include <cstdint>

#include "infer/model_config.h"
#include "infer/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const cci::ByteView in(data, size);
  if (auto t = cci::infer::parse_safetensors(in, "fuzz")) {
    for (const auto& [name, v] : *t) (void)v.numel();
  }
  (void)cci::infer::parse_model_config(in, "fuzz");
  return 0;
}
