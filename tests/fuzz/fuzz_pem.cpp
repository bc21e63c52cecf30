// Fuzz target: PEM certificate bundles, PEM public keys and DER certificates.
#include <cstdint>

#include "crypto/keys.h"
#include "crypto/x509.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  cci::ByteView in(data, size);
  (void)cci::crypto::parse_pem_bundle(in);
  (void)cci::crypto::load_public_key_pem(in);
  (void)cci::crypto::load_public_key_der(in);
  if (auto c = cci::crypto::Certificate::from_der(in)) {
    (void)c->subject();
    (void)c->not_after();
    (void)c->public_key();
  }
  return 0;
}
