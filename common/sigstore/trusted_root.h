// A Sigstore trusted root (application/vnd.dev.sigstore.trustedroot+json;version=0.1, the
// protobuf-specs TrustedRoot message in its JSON form): the transparency logs' and CT logs' keys
// and the certificate authorities (Fulcio) and timestamp authorities with their validity windows.
// Given by file; nothing in it is fetched. Parsed strictly: every field used is type-checked, keys
// and certificates must parse, times are RFC 3339. Log keys in PKCS#1 form are left out.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace cci::sigstore {

// The public-good root is 7 KB; a server hands the root to its workers inside a 1 MiB control frame.
inline constexpr size_t kMaxTrustedRootBytes = 256u << 10;

struct TimeWindow {
  std::time_t start = 0;
  std::optional<std::time_t> end;  // absent: open-ended
  bool covers(std::time_t t) const { return t >= start && (!end || t <= *end); }
};

struct LogKey {
  std::string base_url;
  Bytes log_id;  // SHA-256 of the key's DER SPKI, as the trusted root says
  crypto::PublicKey key;
  TimeWindow valid;
};

struct CertAuthority {
  std::string uri;
  std::vector<crypto::Certificate> chain;  // as listed: the issuing certificate first, the root last
  TimeWindow valid;
};

struct TrustedRoot {
  std::vector<LogKey> tlogs, ctlogs;
  std::vector<CertAuthority> cas, tsas;
};

Result<TrustedRoot> parse_trusted_root(ByteView json);

// The log with this id whose window covers `at`; nullptr when none (the caller names why).
const LogKey* find_log(const std::vector<LogKey>& logs, ByteView log_id);

}  // namespace cci::sigstore
