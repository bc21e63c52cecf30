// Helpers shared by x509.cpp and crl.cpp; not part of cci_crypto's public interface.
#pragma once

#include <openssl/x509.h>

#include <ctime>
#include <string>

#include "crypto/x509.h"

namespace cci::crypto {

std::string name_text(const X509_NAME* name);  // RFC 2253 one-line form; empty on failure
std::time_t asn1_to_time(const ASN1_TIME* t);  // 0 when absent or undecodable
// RSASSA-PSS parameters from a signature AlgorithmIdentifier; `what` names the signed object.
Result<PssParams> pss_params_of(const X509_ALGOR* alg, const char* what);

}  // namespace cci::crypto
