// Fuzz target: Sigstore bundles (common/sigstore/bundle), the file a user gives: parsed, and when
// it parses, verified against a small synthetic trusted root (its log under the all-zero log id and
// its CA the seeds' issuer) so that the log, body, timestamp and certificate checks all run.
#include <cstdint>
#include <string>

#include "crypto/x509.h"
#include "sigstore/bundle.h"

namespace {

const char kCa[] = R"(-----BEGIN CERTIFICATE-----
MIIBnDCCAUOgAwIBAgIUWkgPbDtp8hiXOQkhpnRqLo2WW+YwCgYIKoZIzj0EAwIw
JDEQMA4GA1UECgwHZXhhbXBsZTEQMA4GA1UEAwwHZnV6ei1jYTAeFw0yNjEyMDYx
NTIwNDdaFw0zNjEyMDMxNTIwNDdaMCQxEDAOBgNVBAoMB2V4YW1wbGUxEDAOBgNV
BAMMB2Z1enotY2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATzjtIPlu7+FF8p
OGORV0jjjX4prlE3LimXwAJsXe6TRz/DEmTuqA4aUG/RpJI4kX962LhFxVmRtBEJ
7sYhpqbDo1MwUTAdBgNVHQ4EFgQU/A3xB/wkdtiG5J7NdFTe+2yNShIwHwYDVR0j
BBgwFoAU/A3xB/wkdtiG5J7NdFTe+2yNShIwDwYDVR0TAQH/BAUwAwEB/zAKBggq
hkjOPQQDAgNHADBEAiApScqXgK+vnZ8ylfnqirXy5fwYWXVHL0tfBMrA8XxOjQIg
QRTcifclke4zJ4eqK78JB5TKzIsvGeDpXPXPO9dBfvs=
-----END CERTIFICATE-----
)";

cci::sigstore::TrustedRoot make_root() {
  cci::sigstore::TrustedRoot r;
  auto ca = cci::crypto::Certificate::from_pem(cci::as_bytes(std::string(kCa)));
  if (!ca) return r;
  auto key = ca->public_key();
  if (!key) return r;
  r.tlogs.push_back(cci::sigstore::LogKey{"https://log.example", cci::Bytes(32, 0), std::move(*key), {}});
  cci::sigstore::CertAuthority a;
  a.chain.push_back(ca->clone());
  r.cas.push_back(std::move(a));
  cci::sigstore::CertAuthority t;
  t.chain.push_back(ca->clone());
  r.tsas.push_back(std::move(t));
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  static const cci::sigstore::TrustedRoot root = make_root();
  auto b = cci::sigstore::parse_bundle(cci::ByteView(data, size));
  if (!b) return 0;
  const cci::sigstore::ExpectedSigner who{"dev@example.com", "", "https://issuer.example"};
  const std::uint8_t artifact[] = {'x'};
  (void)cci::sigstore::verify_bundle(*b, root, who, cci::ByteView(artifact, 1), 1800000000);
  return 0;
}
