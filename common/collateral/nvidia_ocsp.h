// OCSP answers about NVIDIA GPU certificates (device chains, RIM signers): asked live of the
// responder a certificate names (Authority Information Access; NVIDIA's is
// http://ocsp.ndis.nvidia.com) with a fresh nonce, checked (signature by the issuer or its
// appointed responder, the nonce, current now), then cached under CACHE/nvidia/ocsp/ by the
// SHA-256 of the certificate's DER. Plain http is the norm for OCSP (RFC 6960 Appendix A) and is
// allowed here: an answer proves itself, so a network attacker can only withhold one (exit 3),
// never forge one. The appraiser checks every cached answer again at its own time.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "collateral/http.h"
#include "crypto/x509.h"

namespace cci::collateral {

inline constexpr const char* kNvidiaOcspUrl = "http://ocsp.ndis.nvidia.com";

struct OcspFetchOptions {
  std::string url;        // every request to this responder; empty: the certificate's AIA, else kNvidiaOcspUrl
  bool refresh = false;   // ask even when the cache holds an answer current now
  HttpOptions http;
};

class OcspCache {
 public:
  explicit OcspCache(std::string dir) : dir_(std::move(dir)) {}
  std::string file_for(const crypto::Certificate& cert) const;
  // The cached answer about `cert`, if any (unchecked: a candidate).
  Result<std::optional<Bytes>> answer(const crypto::Certificate& cert) const;
  Status store(const crypto::Certificate& cert, ByteView der) const;

 private:
  std::string dir_;
};

struct OcspFetched {
  std::string subject;  // the certificate's CN
  std::string url, file;
  bool downloaded = false;
  std::optional<Error> error;
  Bytes data;  // the checked answer
};

// One certificate's answer: the cache's when current now and not `refresh`, else the responder's.
OcspFetched fetch_ocsp(const crypto::Certificate& cert, const crypto::Certificate& issuer, const OcspCache& cache, const OcspFetchOptions& o);

}  // namespace cci::collateral
