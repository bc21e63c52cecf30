// A Rekor v1 log entry kept beside an artifact (for example a deployment manifest logged by the
// release pipeline with `cosign sign-blob --tlog-upload`), checked offline:
//   - the forms read: the Rekor API's answer for one entry (GET /api/v1/log/entries/UUID:
//     {UUID: {body, integratedTime, logID, logIndex, verification: {inclusionProof: {checkpoint,
//     hashes, logIndex, rootHash, treeSize}, signedEntryTimestamp}}}, hashes and root in hex) and
//     cosign's "rekor bundle" ({SignedEntryTimestamp, Payload: {body, integratedTime, logIndex,
//     logID}});
//   - the signed entry timestamp with the log's key; the inclusion proof and its signed checkpoint
//     when the entry carries one (RFC 9162 section 2.1.3.2, C2SP tlog-checkpoint);
//   - the body (rekord 0.0.1 or hashedrekord 0.0.1): the logged SHA-256 is the artifact's and the
//     logged signature verifies over the artifact with the logged key (a public key or a
//     certificate's), which is returned for the caller to compare with the key it trusts.
// Failures name the check: bundle (the file), tlog-set, tlog-inclusion-proof, tlog-checkpoint,
// tlog-body, rekord-artifact-hash, signature.
#pragma once

#include <ctime>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keys.h"
#include "sigstore/bundle.h"

namespace cci::sigstore {

inline constexpr size_t kMaxRekorEntryBytes = 1u << 20;

Result<TlogEntry> parse_rekor_entry(ByteView json);

struct LoggedArtifact {
  std::int64_t log_index = 0;
  std::time_t integrated_time = 0;
  std::string kind;          // "rekord" | "hashedrekord"
  std::optional<crypto::PublicKey> signer;  // the logged key (the certificate's, for a certificate)
  bool proof_checked = false;
};

// `log_key`: the log's key (from a trusted root by the entry's log id, or given); `log_name`: the
// name its checkpoint signatures carry (the log's host, e.g. rekor.sigstore.dev; empty: the
// checkpoint origin's first part).
// `expected_signer`, when given: the logged key must be it (field "signature" otherwise).
Result<LoggedArtifact> verify_rekor_entry(const TlogEntry& e, const crypto::PublicKey& log_key, const std::string& log_name, ByteView artifact,
                                          const crypto::PublicKey* expected_signer = nullptr);
// The same with the log found in a trusted root by the entry's log id, its key valid at the
// entry's integratedTime (tlog-key-unknown, tlog-key-validity otherwise).
Result<LoggedArtifact> verify_rekor_entry(const TlogEntry& e, const TrustedRoot& root, ByteView artifact, const crypto::PublicKey* expected_signer = nullptr);

}  // namespace cci::sigstore
