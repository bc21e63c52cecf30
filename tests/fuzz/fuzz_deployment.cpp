// Fuzz target: the strict cci.yaml reader, the deployment manifest envelope parser, and the
// model section a server trusts once the signature verified (any JSON as the predicate).
// (Envelope inputs are checked against a fixed key: structure errors come before the
// signature check, which is the code under test.)
#include <cstdint>
#include <utility>

#include "crypto/keys.h"
#include "manifest/deployment.h"
#include "manifest/release.h"

namespace {
const cci::crypto::PublicKey& fixed_key() {
  static const cci::crypto::PublicKey key = [] {
    static const char pem[] =
        "-----BEGIN PUBLIC KEY-----\n"
        "MCowBQYDK2VwAyEArl9c4fnv3u5uWV48CPzCg41MlaT/JznIbZSqQiN4Aa4=\n"
        "-----END PUBLIC KEY-----\n";
    auto loaded = cci::crypto::load_public_key_pem(cci::as_bytes(pem));
    return std::move(*loaded);
  }();
  return key;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)cci::manifest::parse_deployment_yaml(text, "/nonexistent", "fuzz.yaml");
  (void)cci::manifest::verify_deployment_manifest(cci::ByteView(data, size), fixed_key());
  cci::manifest::VerifiedManifest m;
  m.predicate = cci::manifest::Json::parse(text, nullptr, false);
  if (!m.predicate.is_discarded()) (void)cci::manifest::deployment_model_statement(m);
  return 0;
}
