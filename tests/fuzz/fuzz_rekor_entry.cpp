// Fuzz target: Rekor log entries (common/sigstore/rekor_entry), the file a user gives beside an
// artifact: parsed, and when it parses, verified with a fixed log key (the seeds' log key) over
// the seeds' artifact, so the SET, inclusion-proof, checkpoint and body checks all run.
#include <cstdint>
#include <string>

#include "crypto/keys.h"
#include "sigstore/rekor_entry.h"

namespace {
const char kLogKey[] = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE847SD5bu/hRfKThjkVdI441+Ka5R
Ny4pl8ACbF3uk0c/wxJk7qgOGlBv0aSSOJF/eti4RcVZkbQRCe7GIaamww==
-----END PUBLIC KEY-----
)";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  static const auto log_key = cci::crypto::load_public_key_pem(cci::as_bytes(std::string(kLogKey)));
  auto e = cci::sigstore::parse_rekor_entry(cci::ByteView(data, size));
  if (!e || !log_key) return 0;
  const std::string artifact = "hello\n";
  (void)cci::sigstore::verify_rekor_entry(*e, *log_key, "", cci::as_bytes(artifact));
  return 0;
}
