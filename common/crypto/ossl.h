// RAII ownership of OpenSSL objects (stateless per-type deleters, one word per pointer)
// and conversion of the OpenSSL error queue into cci::Error. Only common/crypto includes
// OpenSSL headers.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::crypto {

template <class T>
struct Deleter;
#define CCI_OSSL_DELETER(type, fn) \
  template <>                      \
  struct Deleter<type> {           \
    void operator()(type* p) const { fn(p); } \
  }
CCI_OSSL_DELETER(EVP_PKEY, EVP_PKEY_free);
CCI_OSSL_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
CCI_OSSL_DELETER(EVP_MD_CTX, EVP_MD_CTX_free);
CCI_OSSL_DELETER(EVP_CIPHER_CTX, EVP_CIPHER_CTX_free);
CCI_OSSL_DELETER(EVP_MD, EVP_MD_free);
CCI_OSSL_DELETER(EVP_MAC, EVP_MAC_free);
CCI_OSSL_DELETER(EVP_MAC_CTX, EVP_MAC_CTX_free);
CCI_OSSL_DELETER(BIO, BIO_free_all);
CCI_OSSL_DELETER(BIGNUM, BN_free);
CCI_OSSL_DELETER(ECDSA_SIG, ECDSA_SIG_free);
CCI_OSSL_DELETER(X509, X509_free);
CCI_OSSL_DELETER(X509_CRL, X509_CRL_free);
CCI_OSSL_DELETER(X509_STORE, X509_STORE_free);
CCI_OSSL_DELETER(X509_STORE_CTX, X509_STORE_CTX_free);
// ASN1_TIME and ASN1_INTEGER are both ASN1_STRING: one deleter serves both.
CCI_OSSL_DELETER(ASN1_TIME, ASN1_TIME_free);
CCI_OSSL_DELETER(EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free);
CCI_OSSL_DELETER(ASN1_OBJECT, ASN1_OBJECT_free);
CCI_OSSL_DELETER(RSA_PSS_PARAMS, RSA_PSS_PARAMS_free);
CCI_OSSL_DELETER(X509_ALGOR, X509_ALGOR_free);
#undef CCI_OSSL_DELETER

template <>
struct Deleter<STACK_OF(X509)> {
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
};

template <class T>
using UniquePtr = std::unique_ptr<T, Deleter<T>>;

// Builds an Error whose message is `what` followed by every entry of the OpenSSL error
// queue (which is left empty).
Error ossl_error(ErrorCode code, const std::string& what);

// Empties the OpenSSL error queue so that later failures are not misattributed.
void clear_ossl_errors();

}  // namespace cci::crypto

namespace cci::crypto {
// DER encoding through an OpenSSL i2d_* function; empty on failure.
template <class I2d, class T>
Bytes to_der(I2d i2d, const T* obj) {
  unsigned char* der = nullptr;
  int n = i2d(obj, &der);
  if (n <= 0) return {};
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

// The text a memory BIO holds (PEM, printed names); empty when it holds none.
std::string memory_bio_text(BIO* bio);

// "OpenSSL 3.0.x ..." of the library actually loaded.
std::string openssl_version();
}  // namespace cci::crypto
