// Fuzz target: Rekor checkpoints (C2SP signed notes, common/sigstore/tlog) as a bundle carries
// them, unverified: the strict parser, then a signature check against a fixed key.
#include <cstdint>
#include <string_view>

#include "crypto/keys.h"
#include "sigstore/tlog.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  static const auto key = cci::crypto::generate_key(cci::crypto::KeyType::kEcP256);
  auto c = cci::sigstore::parse_checkpoint(std::string_view(reinterpret_cast<const char*>(data), size));
  if (c && key) (void)cci::sigstore::verify_checkpoint(*c, key->public_key(), "rekor.sigstore.dev");
  return 0;
}
