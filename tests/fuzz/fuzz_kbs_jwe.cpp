// Fuzz target: the KBS resource (flattened JWE) reader of common/kbs: the allow-list checks and,
// for what passes them, libjose's decryption with a fixed key. Whatever the input, it ends in a
// plaintext or an error naming a check, never a crash.
#include <cstdint>
#include <string_view>

#include "kbs/jwe.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  if (size > (64u << 10)) return 0;
  static const auto key = cci::kbs::TeeKey::generate();
  if (!key) return 0;
  auto r = cci::kbs::decrypt_resource(std::string_view(reinterpret_cast<const char*>(data), size), *key);
  if (!r && r.error().field.empty()) __builtin_trap();  // every refusal names its check
  return 0;
}
