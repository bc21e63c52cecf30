#include "crypto/x509_issue.h"

#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace cci::crypto {
namespace {

UniquePtr<ASN1_TIME> asn1_time(std::time_t t) { return UniquePtr<ASN1_TIME>(ASN1_TIME_set(nullptr, t)); }

// A digest-sign context for `how`, bound to `key`.
Result<UniquePtr<EVP_MD_CTX>> sign_context(const PrivateKey& key, IssueSignature how) {
  UniquePtr<EVP_MD_CTX> md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!md || EVP_DigestSignInit(md.get(), &pctx, how == IssueSignature::kEcdsaSha256 ? EVP_sha256() : EVP_sha384(), nullptr, key.get()) != 1) {
    return ossl_error(ErrorCode::kInternal, "EVP_DigestSignInit");
  }
  if (how == IssueSignature::kRsaPssSha384) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) != 1) {
      return ossl_error(ErrorCode::kInternal, "RSASSA-PSS parameters (is the issuer key RSA?)");
    }
  }
  return md;
}

Status add_conf_extension(X509* cert, const X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, const_cast<X509*>(issuer), cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return ossl_error(ErrorCode::kInternal, std::string("extension ") + OBJ_nid2sn(nid) + " = " + value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return ossl_error(ErrorCode::kInternal, "X509_add_ext");
  return {};
}

Status add_raw_extension(X509* cert, const RawExtension& e) {
  UniquePtr<ASN1_OBJECT> obj(OBJ_txt2obj(e.oid.c_str(), 1));
  ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
  if (!obj || !data || ASN1_OCTET_STRING_set(data, e.value.data(), static_cast<int>(e.value.size())) != 1) {
    ASN1_OCTET_STRING_free(data);
    return ossl_error(ErrorCode::kInternal, "extension " + e.oid);
  }
  X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), e.critical ? 1 : 0, data);
  ASN1_OCTET_STRING_free(data);
  int ok = ext ? X509_add_ext(cert, ext, -1) : 0;
  X509_EXTENSION_free(ext);
  if (ok != 1) return ossl_error(ErrorCode::kInternal, "X509_add_ext " + e.oid);
  return {};
}

Status set_subject(X509* cert, const std::vector<std::pair<std::string, std::string>>& entries) {
  X509_NAME* name = X509_get_subject_name(cert);
  for (const auto& [field, value] : entries) {
    if (X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1) {
      return ossl_error(ErrorCode::kUsage, "subject " + field + "=" + value);
    }
  }
  return {};
}

Status set_validity_and_serial(X509* cert, const CertificateSpec& spec) {
  auto nb = asn1_time(spec.not_before);
  auto na = asn1_time(spec.not_after);
  if (!nb || !na || X509_set1_notBefore(cert, nb.get()) != 1 || X509_set1_notAfter(cert, na.get()) != 1 ||
      ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), spec.serial) != 1) {
    return ossl_error(ErrorCode::kInternal, "certificate validity / serial");
  }
  return {};
}

Status add_extensions(X509* cert, const X509* issuer, const CertificateSpec& spec) {
  if (spec.ca) {
    std::string bc = "critical,CA:TRUE";
    if (spec.path_len) bc += ",pathlen:" + std::to_string(*spec.path_len);
    CCI_TRY(add_conf_extension(cert, issuer, NID_basic_constraints, bc));
  } else if (spec.end_entity) {
    CCI_TRY(add_conf_extension(cert, issuer, NID_basic_constraints, "critical,CA:FALSE"));
  }
  if (spec.extended_key_usage) CCI_TRY(add_conf_extension(cert, issuer, NID_ext_key_usage, *spec.extended_key_usage));
  if (!spec.dns_names.empty()) {
    std::string san;
    for (const auto& n : spec.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
    CCI_TRY(add_conf_extension(cert, issuer, NID_subject_alt_name, san));
  }
  if (spec.key_usage) CCI_TRY(add_conf_extension(cert, issuer, NID_key_usage, *spec.key_usage));
  if (spec.crl_url) CCI_TRY(add_conf_extension(cert, issuer, NID_crl_distribution_points, "URI:" + *spec.crl_url));
  for (const auto& e : spec.extensions) CCI_TRY(add_raw_extension(cert, e));
  return {};
}

}  // namespace

Result<PrivateKey> generate_rsa_key(int bits) {
  UniquePtr<EVP_PKEY> k(EVP_RSA_gen(static_cast<unsigned>(bits)));
  if (!k) return ossl_error(ErrorCode::kInternal, "RSA key generation");
  return PrivateKey(std::move(k));
}

Result<Certificate> issue_certificate(const CertificateSpec& spec, const PublicKey& subject_key, const PrivateKey& issuer_key,
                                      const Certificate* issuer, IssueSignature how) {
  clear_ossl_errors();
  UniquePtr<X509> cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return ossl_error(ErrorCode::kInternal, "X509_new");
  CCI_TRY(set_validity_and_serial(cert.get(), spec));
  CCI_TRY(set_subject(cert.get(), spec.subject));
  X509_NAME* issuer_name = issuer ? X509_get_subject_name(issuer->get()) : X509_get_subject_name(cert.get());
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1 || X509_set_pubkey(cert.get(), subject_key.get()) != 1) {
    return ossl_error(ErrorCode::kInternal, "certificate issuer / public key");
  }
  CCI_TRY(add_extensions(cert.get(), issuer ? issuer->get() : cert.get(), spec));
  auto md = sign_context(issuer_key, how);
  if (!md) return md.error();
  if (X509_sign_ctx(cert.get(), md->get()) <= 0) return ossl_error(ErrorCode::kInternal, "X509_sign_ctx");
  return Certificate::from_der(to_der(i2d_X509, cert.get()));
}

Result<Crl> issue_crl(const CrlSpec& spec, const PrivateKey& issuer_key, const Certificate& issuer, IssueSignature how) {
  clear_ossl_errors();
  UniquePtr<X509_CRL> crl(X509_CRL_new());
  auto last = asn1_time(spec.this_update);
  if (!crl || !last || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.get())) != 1 || X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1) {
    return ossl_error(ErrorCode::kInternal, "X509_CRL fields");
  }
  if (spec.next_update) {
    auto next = asn1_time(*spec.next_update);
    if (!next || X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) return ossl_error(ErrorCode::kInternal, "CRL nextUpdate");
  }
  for (std::uint64_t serial : spec.revoked_serials) {
    UniquePtr<ASN1_INTEGER> number(ASN1_INTEGER_new());
    X509_REVOKED* r = X509_REVOKED_new();
    if (!number || !r || ASN1_INTEGER_set_uint64(number.get(), serial) != 1 || X509_REVOKED_set_serialNumber(r, number.get()) != 1 ||
        X509_REVOKED_set_revocationDate(r, last.get()) != 1 || X509_CRL_add0_revoked(crl.get(), r) != 1) {
      X509_REVOKED_free(r);
      return ossl_error(ErrorCode::kInternal, "CRL entry");
    }
  }
  X509_CRL_sort(crl.get());
  auto md = sign_context(issuer_key, how);
  if (!md) return md.error();
  if (X509_CRL_sign_ctx(crl.get(), md->get()) <= 0) return ossl_error(ErrorCode::kInternal, "X509_CRL_sign_ctx");
  return Crl::parse(to_der(i2d_X509_CRL, crl.get()));
}

}  // namespace cci::crypto
