// Fuzz target: the TDX quote parser, and the PCK certificate SGX-extension decoder fed (a) the
// input as the extension's raw value and (b) the extension of the leaf of a parsed quote's chain.
#include <cstdint>

#include "crypto/x509.h"
#include "tdx/pck.h"
#include "tdx/quote.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const cci::ByteView in(data, size);
  (void)cci::tdx::parse_pck_extensions(in);
  auto q = cci::tdx::parse_quote(in);
  if (q) {
    auto chain = cci::crypto::parse_pem_bundle(cci::as_bytes(q->pck_chain_pem));
    if (chain && !chain->empty()) {
      auto ext = (*chain)[0].extension_value(cci::tdx::kOidSgxExtensions);
      if (ext && *ext) (void)cci::tdx::parse_pck_extensions(**ext);
    }
  }
  return 0;
}
