// X.509 certificates: strict parsing and chain verification at an explicit time.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keys.h"
#include "crypto/ossl.h"

namespace cci::crypto {

// RSASSA-PSS parameters of a signature (RFC 4055), defaults filled in.
struct PssParams {
  std::string digest;  // "SHA384", ...
  std::string mgf1_digest;
  long salt_length = 20;
  long trailer_field = 1;
};

class Certificate;
// Certificates from files: PEM (one or more) or a single DER certificate each (as AMD KDS serves
// VCEKs). Errors name the file.
Result<std::vector<Certificate>> load_certificate_files(const std::vector<std::string>& paths);

class Certificate {
 public:
  // DER must be exactly one certificate with no trailing bytes.
  static Result<Certificate> from_der(ByteView der);
  // The first certificate of a PEM text.
  static Result<Certificate> from_pem(ByteView pem);

  X509* get() const { return cert_.get(); }
  // Another handle on the same (immutable) certificate.
  Certificate clone() const;
  std::string subject() const;  // one-line RFC 2253 form
  std::string issuer() const;
  std::time_t not_before() const;
  std::time_t not_after() const;
  Result<PublicKey> public_key() const;
  // The DER encoding (OpenSSL's i2d_X509), made once when the certificate is parsed: verifiers
  // compare and key caches by it on every call.
  const Bytes& der() const { return *der_; }
  std::string pem() const;  // "-----BEGIN CERTIFICATE-----" ... with a final newline
  Bytes fingerprint_sha256() const;
  // Key usage bits (X509v3_KU_*) if the extension is present.
  std::optional<std::uint32_t> key_usage() const;
  // True if the extendedKeyUsage extension is present and lists `nid`; nullopt when absent.
  std::optional<bool> has_extended_key_usage(int nid) const;
  // keyUsage allows digitalSignature (true when the extension is absent: no restriction).
  bool allows_digital_signature() const;
  // extendedKeyUsage lists codeSigning; nullopt when the extension is absent (no restriction).
  std::optional<bool> allows_code_signing() const;
  // The subject's commonName (first one); empty when absent.
  std::string subject_common_name() const;
  // The raw extnValue bytes of the extension with dotted OID `oid` (nullopt when absent;
  // kMalformed when the certificate carries it more than once).
  Result<std::optional<Bytes>> extension_value(const std::string& oid) const;
  // The OCSP responder URLs of the Authority Information Access extension (RFC 5280 4.2.2.1).
  std::vector<std::string> ocsp_urls() const;
  // The DER TBSCertificate re-encoded without the extension `oid` (RFC 6962 section 3.2: the
  // precertificate a CT log signed is the certificate without its SCT list); kInvalidInput
  // when the certificate does not carry that extension exactly once.
  Result<Bytes> tbs_without_extension(const std::string& oid) const;
  // subjectAltName entries (RFC 5280 4.2.1.6) as (kind, value): "email" (rfc822Name), "uri", "dns",
  // "ip" (the raw octets as hex) or "other" (otherName, its value empty); empty without the extension.
  std::vector<std::pair<std::string, std::string>> subject_alt_names() const;
  // DER of the outer signatureAlgorithm; kMalformed if the TBS copy differs from it.
  Result<Bytes> signature_algorithm_der() const;
  // RSASSA-PSS parameters of the signature (RFC 4055); kMalformed when the certificate is
  // not signed with RSASSA-PSS or the parameters cannot be decoded. Defaults are filled in.
  Result<PssParams> rsa_pss_params() const;
  // Whether `issuer`'s public key verifies this certificate's signature.
  bool signed_by(const Certificate& issuer) const;
  // Whether this certificate's issuer name equals `issuer`'s subject name (X509_NAME_cmp).
  bool names_issuer(const Certificate& issuer) const;
  bool valid_at(std::time_t at) const { return not_before() <= at && at <= not_after(); }

 private:
  Certificate(UniquePtr<X509> c, std::shared_ptr<const Bytes> der) : cert_(std::move(c)), der_(std::move(der)) {}
  UniquePtr<X509> cert_;
  std::shared_ptr<const Bytes> der_;  // shared by clones, like the X509
};

// A certificate revocation list (RFC 5280 §5), parsed strictly: DER with no trailing bytes,
// or the first "X509 CRL" PEM block.
class Crl {
 public:
  static Result<Crl> parse(ByteView der_or_pem);
  // Another handle on the same (immutable) CRL.
  Crl clone() const;

  std::string issuer() const;  // one-line RFC 2253 form
  std::time_t this_update() const;
  std::optional<std::time_t> next_update() const;  // nullopt when the CRL has none
  Result<PssParams> rsa_pss_params() const;
  // Whether `issuer`'s public key verifies the CRL's signature.
  bool signed_by(const Certificate& issuer) const;
  // Whether `cert`'s serial number is listed (the caller checks that this CRL's issuer is
  // the certificate's issuer).
  bool lists(const Certificate& cert) const;
  size_t revoked_count() const;
  const Bytes& der() const { return der_; }  // the DER exactly as given (decoded from PEM)
  std::string pem() const;  // "-----BEGIN X509 CRL-----" ... with a final newline

 private:
  Crl(UniquePtr<X509_CRL> c, Bytes der) : crl_(std::move(c)), der_(std::move(der)) {}
  UniquePtr<X509_CRL> crl_;
  Bytes der_;
};

// Every certificate of a PEM bundle, in order. Fails if there is none.
Result<std::vector<Certificate>> parse_pem_bundle(ByteView pem);

// Verifies that `leaf` chains to one of `trusted` through `intermediates`, at time `at`
// (validity periods are checked against it, never against the clock). Trusted
// certificates are the only anchors: no partial chains. The error names the failing
// certificate and OpenSSL's reason.
// With `anchors_are_intermediates`, a trusted certificate need not be self-signed (OpenSSL's
// partial-chain mode): for callers that verified that certificate under its root already.
Status verify_chain(const Certificate& leaf, std::span<const Certificate> intermediates,
                    std::span<const Certificate> trusted, std::time_t at, bool anchors_are_intermediates = false);

}  // namespace cci::crypto
