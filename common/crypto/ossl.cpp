#include "crypto/ossl.h"

#include <openssl/err.h>

namespace cci::crypto {

Error ossl_error(ErrorCode code, const std::string& what) {
  std::string msg = what;
  unsigned long e = 0;
  bool first = true;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += first ? " (" : "; ";
    msg += buf;
    first = false;
  }
  if (!first) msg += ")";
  return make_error(code, msg);
}

void clear_ossl_errors() { ERR_clear_error(); }

}  // namespace cci::crypto

#include <openssl/crypto.h>

namespace cci::crypto {
std::string memory_bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

std::string openssl_version() { return OpenSSL_version(OPENSSL_VERSION); }
}  // namespace cci::crypto
