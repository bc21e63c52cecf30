// Fuzz target: the incremental-signing state file (cci-measure model --incremental).
#include <cstdint>
#include <string_view>

#include "manifest/incremental.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  (void)cci::manifest::parse_incremental_state(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
