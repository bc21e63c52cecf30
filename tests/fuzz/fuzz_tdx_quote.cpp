// Fuzz target: the TDX quote parser; the PCK certificate SGX-extension decoder fed (a) the input
// as the extension's raw value and (b) the extension of the leaf of a parsed quote's chain; and
// the collateral readers (the input as a PCS body and as the inner TCB Info / QE Identity); and
// the TCG2 event-log reader with the TD's replay rule (index 1..4 = RTMR0..3, SHA-384), and its
// description for cci-verify show (event types, texts); and the percent-decoding of the PCS's
// issuer-chain headers (never longer than its input); the Azure HCL report reader.
#include <cstdint>
#include <cstdlib>

#include "appraise/event_log_view.h"
#include "collateral/intel_pcs.h"
#include "crypto/x509.h"
#include "eventlog/tcg2.h"
#include "tdx/azure_hcl.h"
#include "tdx/collateral.h"
#include "tdx/pck.h"
#include "tdx/quote.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const cci::ByteView in(data, size);
  (void)cci::tdx::parse_pck_extensions(in);
  if (auto h = cci::tdx::parse_azure_hcl(in); h && h->variable_data.size() > size) std::abort();
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
  auto events = cci::eventlog::parse_tcg2_log(in);
  if (events) {
    (void)cci::eventlog::replay(*events, cci::eventlog::kTpmAlgSha384, cci::crypto::DigestAlg::kSha384, 1, 4);
    (void)cci::appraise::describe_event_log(in, q ? std::optional(q->body.rtmr) : std::nullopt);
  }
  const std::string text(in.begin(), in.end());
  (void)cci::tdx::parse_tcb_info(text);
  (void)cci::tdx::parse_qe_identity(text);
  if (auto d = cci::collateral::percent_decode(text); d && d->size() > text.size()) std::abort();
  return 0;
}
