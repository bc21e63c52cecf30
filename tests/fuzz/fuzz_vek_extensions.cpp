// Fuzz target: the AMD VCEK/VLEK extension decoders, fed (a) the input as every extension's
// raw value and (b) the input as a DER certificate whose real extensions are decoded.
#include <cstdint>

#include "crypto/x509.h"
#include "snp/vek.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  cci::Bytes value(data, data + size);
  (void)cci::snp::parse_vek_extensions(
      [&value](const std::string&) -> cci::Result<std::optional<cci::Bytes>> { return std::optional<cci::Bytes>(value); });
  auto cert = cci::crypto::Certificate::from_der(cci::ByteView(data, size));
  if (cert) {
    (void)cci::snp::parse_vek_extensions([&cert](const std::string& oid) { return cert->extension_value(oid); });
    (void)cert->rsa_pss_params();
    (void)cert->subject_common_name();
  }
  return 0;
}
