// Fuzz target: the TDX quote parser; the PCK certificate SGX-extension decoder fed (a) the input
// as the extension's raw value and (b) the extension of the leaf of a parsed quote's chain; and
// the collateral readers (the input as a PCS body and as the inner TCB Info / QE Identity).
#include <cstdint>

#include "crypto/x509.h"
#include "tdx/collateral.h"
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
  for (const char* key : {"tcbInfo", "enclaveIdentity"}) {
    auto cut = cci::tdx::cut_signed_json(in, key);
    if (cut) {
      (void)cci::tdx::parse_tcb_info(cut->value);
      (void)cci::tdx::parse_qe_identity(cut->value);
    }
  }
  const std::string text(in.begin(), in.end());
  (void)cci::tdx::parse_tcb_info(text);
  (void)cci::tdx::parse_qe_identity(text);
  return 0;
}
