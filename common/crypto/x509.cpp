#include "crypto/x509.h"

#include "base/file_io.h"

#include "crypto/x509_internal.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

namespace cci::crypto {

std::string name_text(const X509_NAME* name) {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  return memory_bio_text(bio.get());
}

std::time_t asn1_to_time(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return timegm(&tm);
}

Result<Certificate> Certificate::from_der(ByteView der) {
  clear_ossl_errors();
  const unsigned char* p = der.data();
  UniquePtr<X509> c(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!c) return ossl_error(ErrorCode::kMalformed, "not a DER X.509 certificate");
  if (p != der.data() + der.size()) {
    return make_error(ErrorCode::kMalformed, "trailing bytes after the DER certificate");
  }
  auto encoded = std::make_shared<const Bytes>(to_der(i2d_X509, c.get()));
  return Certificate(std::move(c), std::move(encoded));
}

Result<Certificate> Certificate::from_pem(ByteView pem) {
  auto all = parse_pem_bundle(pem);
  if (!all) return all.error();
  return std::move(all->front());
}

std::string Certificate::subject() const { return name_text(X509_get_subject_name(cert_.get())); }
std::string Certificate::issuer() const { return name_text(X509_get_issuer_name(cert_.get())); }
std::time_t Certificate::not_before() const { return asn1_to_time(X509_get0_notBefore(cert_.get())); }
std::time_t Certificate::not_after() const { return asn1_to_time(X509_get0_notAfter(cert_.get())); }

Result<PublicKey> Certificate::public_key() const {
  UniquePtr<EVP_PKEY> k(X509_get_pubkey(cert_.get()));
  if (!k) return ossl_error(ErrorCode::kMalformed, "certificate public key cannot be decoded");
  return PublicKey(std::move(k));
}


std::string Certificate::pem() const {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert_.get()) != 1) return {};
  return memory_bio_text(bio.get());
}

Bytes Certificate::fingerprint_sha256() const { return digest(DigestAlg::kSha256, der()); }

std::optional<std::uint32_t> Certificate::key_usage() const {
  std::uint32_t ku = X509_get_key_usage(cert_.get());
  if (ku == UINT32_MAX) return std::nullopt;  // extension absent
  return ku;
}

std::optional<bool> Certificate::has_extended_key_usage(int nid) const {
  int crit = 0;
  UniquePtr<EXTENDED_KEY_USAGE> eku(
      static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert_.get(), NID_ext_key_usage, &crit, nullptr)));
  if (!eku) return std::nullopt;
  for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku.get(), i)) == nid) return true;
  }
  return false;
}

bool Certificate::allows_digital_signature() const {
  const auto ku = key_usage();
  return !ku || (*ku & X509v3_KU_DIGITAL_SIGNATURE) != 0;
}

std::optional<bool> Certificate::allows_code_signing() const { return has_extended_key_usage(NID_code_sign); }

Certificate Certificate::clone() const {
  X509_up_ref(cert_.get());
  return Certificate(UniquePtr<X509>(cert_.get()), der_);
}

Crl Crl::clone() const {
  X509_CRL_up_ref(crl_.get());
  return Crl(UniquePtr<X509_CRL>(crl_.get()), der_);
}

std::string Certificate::subject_common_name() const {
  X509_NAME* name = X509_get_subject_name(cert_.get());
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return {};
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

Result<std::optional<Bytes>> Certificate::extension_value(const std::string& oid) const {
  clear_ossl_errors();
  UniquePtr<ASN1_OBJECT> obj(OBJ_txt2obj(oid.c_str(), 1));
  if (!obj) return make_error(ErrorCode::kInternal, "bad OID " + oid);
  int idx = X509_get_ext_by_OBJ(cert_.get(), obj.get(), -1);
  if (idx < 0) return std::optional<Bytes>();
  if (X509_get_ext_by_OBJ(cert_.get(), obj.get(), idx) >= 0) {
    return make_error(ErrorCode::kMalformed, "certificate carries extension " + oid + " more than once", oid);
  }
  const ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(X509_get_ext(cert_.get(), idx));
  const unsigned char* d = ASN1_STRING_get0_data(v);
  return std::optional<Bytes>(Bytes(d, d + ASN1_STRING_length(v)));
}

Result<Bytes> Certificate::signature_algorithm_der() const {
  const X509_ALGOR* outer = nullptr;
  X509_get0_signature(nullptr, &outer, cert_.get());
  const X509_ALGOR* inner = X509_get0_tbs_sigalg(cert_.get());
  if (!outer || !inner) return make_error(ErrorCode::kMalformed, "certificate has no signature algorithm");
  Bytes a = to_der(i2d_X509_ALGOR, outer);
  Bytes b = to_der(i2d_X509_ALGOR, inner);
  if (a.empty() || b.empty()) return make_error(ErrorCode::kMalformed, "cannot encode the signature algorithm");
  if (a != b) return make_error(ErrorCode::kMalformed, "the certificate's two signature algorithm fields differ");
  return a;
}

namespace {
std::string algor_digest_name(const X509_ALGOR* a) {
  if (a == nullptr) return "SHA1";  // RFC 4055 default
  const ASN1_OBJECT* obj = nullptr;
  X509_ALGOR_get0(&obj, nullptr, nullptr, a);
  const char* sn = OBJ_nid2sn(OBJ_obj2nid(obj));
  return sn ? sn : "unknown";
}
}  // namespace

Result<PssParams> pss_params_of(const X509_ALGOR* alg, const char* what) {
  const ASN1_OBJECT* obj = nullptr;
  int ptype = 0;
  const void* pval = nullptr;
  X509_ALGOR_get0(&obj, &ptype, &pval, alg);
  if (OBJ_obj2nid(obj) != NID_rsassaPss) return make_error(ErrorCode::kMalformed, std::string(what) + " is not signed with RSASSA-PSS");
  if (ptype != V_ASN1_SEQUENCE) return make_error(ErrorCode::kMalformed, "RSASSA-PSS parameters are missing");
  UniquePtr<RSA_PSS_PARAMS> pss(static_cast<RSA_PSS_PARAMS*>(
      ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), alg->parameter)));
  if (!pss) return make_error(ErrorCode::kMalformed, "RSASSA-PSS parameters cannot be decoded");
  PssParams out;
  out.digest = algor_digest_name(pss->hashAlgorithm);
  out.mgf1_digest = "SHA1";
  if (pss->maskGenAlgorithm) {
    const ASN1_OBJECT* mgf = nullptr;
    X509_ALGOR_get0(&mgf, nullptr, nullptr, pss->maskGenAlgorithm);
    if (OBJ_obj2nid(mgf) != NID_mgf1) return make_error(ErrorCode::kMalformed, "RSASSA-PSS mask generation is not MGF1");
    UniquePtr<X509_ALGOR> mh(static_cast<X509_ALGOR*>(
        ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR), pss->maskGenAlgorithm->parameter)));
    if (!mh) return make_error(ErrorCode::kMalformed, "MGF1 parameters cannot be decoded");
    out.mgf1_digest = algor_digest_name(mh.get());
  }
  if (pss->saltLength) out.salt_length = ASN1_INTEGER_get(pss->saltLength);
  if (pss->trailerField) out.trailer_field = ASN1_INTEGER_get(pss->trailerField);
  return out;
}

Result<PssParams> Certificate::rsa_pss_params() const {
  clear_ossl_errors();
  auto der = signature_algorithm_der();
  if (!der) return der.error();
  const X509_ALGOR* alg = nullptr;
  X509_get0_signature(nullptr, &alg, cert_.get());
  return pss_params_of(alg, "certificate");
}

Result<Bytes> Certificate::tbs_without_extension(const std::string& oid) const {
  clear_ossl_errors();
  UniquePtr<ASN1_OBJECT> obj(OBJ_txt2obj(oid.c_str(), 1));
  if (!obj) return make_error(ErrorCode::kUsage, "not a dotted OID: " + oid, "oid");
  const int idx = X509_get_ext_by_OBJ(cert_.get(), obj.get(), -1);
  if (idx < 0 || X509_get_ext_by_OBJ(cert_.get(), obj.get(), idx) >= 0) {
    return make_error(ErrorCode::kInvalidInput, "the certificate does not carry extension " + oid + " exactly once", "certificate");
  }
  UniquePtr<X509> copy(X509_dup(cert_.get()));
  if (!copy) return ossl_error(ErrorCode::kInternal, "X509_dup");
  X509_EXTENSION_free(X509_delete_ext(copy.get(), idx));
  unsigned char* der = nullptr;
  const int n = i2d_re_X509_tbs(copy.get(), &der);
  if (n <= 0) return ossl_error(ErrorCode::kInternal, "re-encoding the TBSCertificate");
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

std::vector<std::pair<std::string, std::string>> Certificate::subject_alt_names() const {
  std::vector<std::pair<std::string, std::string>> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert_.get(), NID_subject_alt_name, nullptr, nullptr));
  auto text = [](const ASN1_STRING* s) { return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<size_t>(ASN1_STRING_length(s))); };
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    switch (g->type) {
      case GEN_EMAIL: out.emplace_back("email", text(g->d.rfc822Name)); break;
      case GEN_URI: out.emplace_back("uri", text(g->d.uniformResourceIdentifier)); break;
      case GEN_DNS: out.emplace_back("dns", text(g->d.dNSName)); break;
      case GEN_IPADD: {
        static const char* kHex = "0123456789abcdef";
        std::string h;
        const std::string raw = text(g->d.iPAddress);
        for (unsigned char c : raw) {
          h.push_back(kHex[c >> 4]);
          h.push_back(kHex[c & 15]);
        }
        out.emplace_back("ip", h);
        break;
      }
      default: out.emplace_back("other", ""); break;
    }
  }
  GENERAL_NAMES_free(names);
  clear_ossl_errors();
  return out;
}

std::vector<std::string> Certificate::ocsp_urls() const {
  std::vector<std::string> out;
  STACK_OF(OPENSSL_STRING)* urls = X509_get1_ocsp(cert_.get());
  for (int i = 0; urls && i < sk_OPENSSL_STRING_num(urls); ++i) out.emplace_back(sk_OPENSSL_STRING_value(urls, i));
  X509_email_free(urls);
  clear_ossl_errors();
  return out;
}

bool Certificate::signed_by(const Certificate& issuer) const {
  clear_ossl_errors();
  UniquePtr<EVP_PKEY> key(X509_get_pubkey(issuer.get()));
  bool ok = key && X509_verify(cert_.get(), key.get()) == 1;
  clear_ossl_errors();
  return ok;
}

Result<std::vector<Certificate>> parse_pem_bundle(ByteView pem) {
  clear_ossl_errors();
  if (pem.empty()) return make_error(ErrorCode::kMalformed, "no PEM certificate found (empty input)");
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return ossl_error(ErrorCode::kInternal, "BIO_new_mem_buf");
  std::vector<Certificate> out;
  for (;;) {
    X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (raw == nullptr) break;
    UniquePtr<X509> owned(raw);
    Bytes der = to_der(i2d_X509, owned.get());
    if (der.empty()) return ossl_error(ErrorCode::kMalformed, "certificate cannot be re-encoded");
    auto c = Certificate::from_der(der);  // re-parse strictly
    if (!c) return c.error();
    out.push_back(std::move(*c));
  }
  clear_ossl_errors();  // the loop ends with a "no start line" error by design
  if (out.empty()) return make_error(ErrorCode::kMalformed, "no PEM certificate found");
  return out;
}

bool Certificate::names_issuer(const Certificate& issuer) const {
  return X509_NAME_cmp(X509_get_issuer_name(cert_.get()), X509_get_subject_name(issuer.get())) == 0;
}

Status verify_chain(const Certificate& leaf, std::span<const Certificate> intermediates,
                    std::span<const Certificate> trusted, std::time_t at, bool anchors_are_intermediates) {
  clear_ossl_errors();
  UniquePtr<X509_STORE> store(X509_STORE_new());
  UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) return ossl_error(ErrorCode::kInternal, "X509 store allocation");
  for (const auto& t : trusted) {
    if (X509_STORE_add_cert(store.get(), t.get()) != 1) return ossl_error(ErrorCode::kInternal, "X509_STORE_add_cert");
  }
  for (const auto& i : intermediates) {
    if (X509_up_ref(i.get()) != 1) return ossl_error(ErrorCode::kInternal, "X509_up_ref");
    if (sk_X509_push(untrusted.get(), i.get()) <= 0) {
      X509_free(i.get());
      return ossl_error(ErrorCode::kInternal, "sk_X509_push");
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), untrusted.get()) != 1) {
    return ossl_error(ErrorCode::kInternal, "X509_STORE_CTX_init");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, at);
  if (anchors_are_intermediates) X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_PARTIAL_CHAIN);
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    X509* bad = X509_STORE_CTX_get_current_cert(ctx.get());
    std::string who = bad ? name_text(X509_get_subject_name(bad)) : std::string("?");
    clear_ossl_errors();
    return make_error(ErrorCode::kVerificationFailed,
                      "certificate chain does not verify at depth " + std::to_string(depth) + " (" + who +
                          "): " + X509_verify_cert_error_string(err));
  }
  return {};
}

Result<std::vector<Certificate>> load_certificate_files(const std::vector<std::string>& paths) {
  std::vector<Certificate> out;
  for (const auto& p : paths) {
    auto pem = read_file(p, 1u << 20);
    if (!pem) return pem.error();
    if (as_chars(*pem).find("-----BEGIN") == std::string_view::npos) {
      auto der = Certificate::from_der(*pem);
      if (!der) return make_error(ErrorCode::kMalformed, p + ": neither PEM nor a DER certificate: " + der.error().message, p);
      out.push_back(std::move(*der));
      continue;
    }
    auto certs = parse_pem_bundle(*pem);
    if (!certs) return make_error(ErrorCode::kInvalidInput, p + ": " + certs.error().message, p);
    for (auto& c : *certs) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace cci::crypto
