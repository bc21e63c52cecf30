// Fuzz target: the X.509 CRL parser (DER or PEM) and every accessor the SNP revocation check
// uses on an unverified CRL.
#include <cstdint>

#include "crypto/x509.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  auto crl = cci::crypto::Crl::parse(cci::ByteView(data, size));
  if (crl) {
    (void)crl->issuer();
    (void)crl->this_update();
    (void)crl->next_update();
    (void)crl->rsa_pss_params();
    (void)crl->revoked_count();
    (void)crl->der();
  }
  return 0;
}
