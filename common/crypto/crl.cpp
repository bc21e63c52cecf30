#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto/x509.h"
#include "crypto/x509_internal.h"

namespace cci::crypto {
namespace {

bool looks_like_pem(ByteView in) {
  static constexpr std::string_view kBegin = "-----BEGIN X509 CRL-----";
  std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
  return text.find(kBegin) != std::string_view::npos;
}

}  // namespace

Result<Crl> Crl::parse(ByteView in) {
  clear_ossl_errors();
  if (in.empty()) return make_error(ErrorCode::kMalformed, "CRL is empty", "crl");
  Bytes der;
  if (looks_like_pem(in)) {
    UniquePtr<BIO> bio(BIO_new_mem_buf(in.data(), static_cast<int>(in.size())));
    if (!bio) return ossl_error(ErrorCode::kInternal, "BIO_new_mem_buf");
    UniquePtr<X509_CRL> c(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    if (!c) return ossl_error(ErrorCode::kMalformed, "PEM block is not an X.509 CRL");
    der = to_der(i2d_X509_CRL, c.get());
    in = der;  // re-parsed strictly below
  }
  const unsigned char* p = in.data();
  UniquePtr<X509_CRL> c(d2i_X509_CRL(nullptr, &p, static_cast<long>(in.size())));
  if (!c) return ossl_error(ErrorCode::kMalformed, "not a DER X.509 CRL");
  if (p != in.data() + in.size()) return make_error(ErrorCode::kMalformed, "trailing bytes after the DER CRL", "crl");
  return Crl(std::move(c), Bytes(in.begin(), in.end()));
}

std::string Crl::pem() const {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl_.get()) != 1) return {};
  return memory_bio_text(bio.get());
}

std::string Crl::issuer() const { return name_text(X509_CRL_get_issuer(crl_.get())); }
std::time_t Crl::this_update() const { return asn1_to_time(X509_CRL_get0_lastUpdate(crl_.get())); }

std::optional<std::time_t> Crl::next_update() const {
  const ASN1_TIME* t = X509_CRL_get0_nextUpdate(crl_.get());
  if (t == nullptr) return std::nullopt;
  return asn1_to_time(t);
}

Result<PssParams> Crl::rsa_pss_params() const {
  clear_ossl_errors();
  // The TBS copy of the algorithm is compared with this one by X509_CRL_verify (signed_by).
  const X509_ALGOR* outer = nullptr;
  X509_CRL_get0_signature(crl_.get(), nullptr, &outer);
  if (!outer) return make_error(ErrorCode::kMalformed, "CRL has no signature algorithm", "crl");
  return pss_params_of(outer, "CRL");
}

bool Crl::signed_by(const Certificate& issuer) const {
  clear_ossl_errors();
  UniquePtr<EVP_PKEY> key(X509_get_pubkey(issuer.get()));
  bool ok = key && X509_CRL_verify(crl_.get(), key.get()) == 1;
  clear_ossl_errors();
  return ok;
}

bool Crl::lists(const Certificate& cert) const {
  X509_REVOKED* entry = nullptr;
  int r = X509_CRL_get0_by_serial(crl_.get(), &entry, X509_get0_serialNumber(cert.get()));
  clear_ossl_errors();
  return r == 1;  // 2 would be "removeFromCRL", which un-revokes
}

size_t Crl::revoked_count() const {
  STACK_OF(X509_REVOKED)* list = X509_CRL_get_REVOKED(crl_.get());
  return list ? static_cast<size_t>(sk_X509_REVOKED_num(list)) : 0;
}


}  // namespace cci::crypto
