// Fuzz target: hex and base64 decoders (with a round-trip property), shard names,
// UTF-8 validation and path ordering.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/hex.h"
#include "manifest/file_tree.h"
#include "manifest/model_hash.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  if (auto h = cci::from_hex(s, "fuzz")) {
    if (cci::to_hex(*h).size() != s.size()) std::abort();
  }
  if (auto b = cci::base64_decode(s, "fuzz")) {
    if (cci::base64_encode(*b) != s) std::abort();  // only canonical input decodes
  }
  (void)cci::manifest::parse_shard_name(s);
  (void)cci::manifest::is_valid_utf8(s);
  size_t half = s.size() / 2;
  std::string a = s.substr(0, half), b = s.substr(half);
  if (cci::manifest::path_less(a, b) && cci::manifest::path_less(b, a)) std::abort();  // asymmetry
  return 0;
}
