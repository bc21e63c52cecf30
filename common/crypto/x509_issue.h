// Issuing X.509 certificates and CRLs: for the TEE simulator's vendor-shaped chains and for
// tests. Nothing here is used on a verification path.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crypto/keys.h"
#include "crypto/x509.h"

namespace cci::crypto {

// How the issuer signs: AMD's RSASSA-PSS (SHA-384, MGF1-SHA-384, salt 48), ECDSA with SHA-384,
// or ECDSA with SHA-256 (Intel's SGX/TDX PKI).
enum class IssueSignature { kRsaPssSha384, kEcdsaSha384, kEcdsaSha256 };

struct RawExtension {
  std::string oid;  // dotted form
  Bytes value;      // DER of the extnValue contents
  bool critical = false;
};

struct CertificateSpec {
  std::vector<std::pair<std::string, std::string>> subject;  // {"CN", "ARK-Milan"}, {"O", "..."}: in order
  std::uint64_t serial = 1;
  std::time_t not_before = 0;
  std::time_t not_after = 0;
  bool ca = false;
  std::optional<int> path_len;               // CA only
  std::optional<std::string> key_usage;      // OpenSSL config form: "critical,keyCertSign,cRLSign"
  std::optional<std::string> crl_url;        // a single CRL distribution point
  bool end_entity = false;                   // adds critical basicConstraints CA:FALSE (when !ca)
  std::optional<std::string> extended_key_usage;  // OpenSSL config form: "serverAuth"
  std::vector<std::string> dns_names;        // subjectAltName DNS entries
  std::vector<RawExtension> extensions;      // vendor extensions, in order
};

// Self-signed when `issuer` is null (then `issuer_key` must be the subject's own key).
Result<Certificate> issue_certificate(const CertificateSpec& spec, const PublicKey& subject_key, const PrivateKey& issuer_key,
                                      const Certificate* issuer, IssueSignature how);

struct CrlSpec {
  std::time_t this_update = 0;
  std::optional<std::time_t> next_update;
  std::vector<std::uint64_t> revoked_serials;
};

Result<Crl> issue_crl(const CrlSpec& spec, const PrivateKey& issuer_key, const Certificate& issuer, IssueSignature how);

Result<PrivateKey> generate_rsa_key(int bits);

}  // namespace cci::crypto
