#include "crypto/random.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "crypto/ossl.h"

namespace cci::crypto {

Result<Bytes> random_bytes(size_t n) {
  Bytes out(n);
  if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
    return ossl_error(ErrorCode::kInternal, "RAND_bytes failed");
  }
  return out;
}

bool ct_equal(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void secure_clear(void* p, size_t n) { OPENSSL_cleanse(p, n); }

}  // namespace cci::crypto
