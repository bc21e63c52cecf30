// Fuzz target: OCSP responses (crypto/ocsp.h) as the GPU appraiser reads them, unverified: the
// well-formedness check, the CertID lookup and the full check. An input is
//   u16 big-endian length, the certificate's DER, u16 length, its issuer's DER, the response;
// inputs that do not start with two certificates are taken whole as a response about none.
#include <cstdint>

#include "crypto/ocsp.h"
#include "crypto/x509.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  cci::ByteView in(data, size);
  auto take = [&in]() -> std::optional<cci::crypto::Certificate> {
    if (in.size() < 2) return std::nullopt;
    const size_t n = (size_t{in[0]} << 8) | in[1];
    if (in.size() < 2 + n) return std::nullopt;
    auto c = cci::crypto::Certificate::from_der(in.subspan(2, n));
    if (!c) return std::nullopt;
    in = in.subspan(2 + n);
    return std::move(*c);
  };
  auto cert = take();
  auto issuer = cert ? take() : std::nullopt;
  if (!cert || !issuer) in = cci::ByteView(data, size);
  (void)cci::crypto::ocsp_response_well_formed(in);
  if (cert && issuer) {
    (void)cci::crypto::ocsp_response_names(in, *cert, *issuer);
    auto a = cci::crypto::check_ocsp_response(in, *cert, *issuer, 1796601600, cci::ByteView(data, size > 16 ? 16 : size));
    if (a) (void)a->current_at(1796601600);
    auto b = cci::crypto::check_ocsp_response(in, *cert, *issuer, 1796601600);
    (void)b;
  }
  return 0;
}
