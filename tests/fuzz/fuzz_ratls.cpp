// Fuzz target: the attested-TLS CBOR parsers (claims, tagged evidence, endorsements).
#include <cstdint>

#include "ratls/attested_cert.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const cci::ByteView in(data, size);
  (void)cci::ratls::decode_claims(in);
  if (auto e = cci::ratls::decode_tagged_evidence(in)) (void)cci::ratls::decode_claims(e->claims);
  (void)cci::ratls::decode_endorsements(in);
  return 0;
}
