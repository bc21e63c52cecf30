// Transparency-log proofs as Sigstore's Rekor v1 serves them, checked offline:
//   - the RFC 6962 / RFC 9162 Merkle tree: leaf hash SHA-256(0x00 || entry), node hash
//     SHA-256(0x01 || left || right), and the inclusion proof of one leaf in a tree of a given
//     size against a root hash (RFC 9162 section 2.1.3.2);
//   - the signed checkpoint that commits the log to that root (C2SP tlog-checkpoint in a C2SP
//     signed note: "ORIGIN\nSIZE\nBASE64(ROOT)\n[extension lines]\n\n" then signature lines
//     "\u2014 NAME BASE64(4-byte key hint || signature)\n"); Rekor signs with ECDSA P-256 /
//     SHA-256, its key hint the first 4 bytes of the log id, SHA-256 of the key's DER SPKI.
// The bundle around them (common/sigstore/bundle, later) picks the log key from the trusted
// root by log id and the entry's time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keys.h"

namespace cci::sigstore {

inline constexpr size_t kHashSize = 32;
inline constexpr size_t kMaxProofHashes = 64;   // a tree of 2^64 leaves needs no more
inline constexpr size_t kMaxCheckpointBytes = 4096;

Bytes leaf_hash(ByteView entry);
Bytes node_hash(ByteView left, ByteView right);

// kVerificationFailed when the proof does not lead from `leaf` (a leaf hash) at `index` to
// `root` in a tree of `tree_size` leaves; kMalformed for an index outside the tree, hashes that
// are not 32 bytes, or a proof of the wrong length for the index and size.
Status verify_inclusion(ByteView leaf, std::uint64_t index, std::uint64_t tree_size, const std::vector<Bytes>& proof, ByteView root);

struct NoteSignature {
  std::string name;
  Bytes key_hint;   // 4 bytes
  Bytes signature;  // the rest
};

struct Checkpoint {
  std::string origin;
  std::uint64_t tree_size = 0;
  Bytes root_hash;                     // 32 bytes
  std::vector<std::string> extensions;  // lines after the root, before the blank line
  std::string signed_text;             // the note's text: what its signatures cover
  std::vector<NoteSignature> signatures;
};

// Strict: an origin line, a decimal size without leading zeros, a base64 root of 32 bytes, a
// blank line, then at least one signature line; at most kMaxCheckpointBytes.
Result<Checkpoint> parse_checkpoint(std::string_view note);

// The key hint of a Rekor v1 key: the first 4 bytes of SHA-256(DER SPKI).
Bytes rekor_key_hint(const crypto::PublicKey& key);

// Verifies that a signature line by `name` whose key hint is `key`'s signs the checkpoint's text
// with `key` (ECDSA over SHA-256 for P-256 keys; Ed25519 as is). kVerificationFailed when none
// does (naming why: no line for that name, another key's hint, a bad signature).
Status verify_checkpoint(const Checkpoint& c, const crypto::PublicKey& key, const std::string& name);

// The signed entry timestamp (Rekor's inclusion promise): the log key's signature over the RFC
// 8785 canonical JSON {"body": BASE64(entry), "integratedTime": T, "logID": HEX(log id),
// "logIndex": I} (I the global index). kVerificationFailed when it does not verify.
std::string set_payload(ByteView entry, std::int64_t integrated_time, ByteView log_id, std::int64_t log_index);
Status verify_set(ByteView entry, std::int64_t integrated_time, ByteView log_id, std::int64_t log_index, ByteView set, const crypto::PublicKey& key);

// DSSE (in-toto/DSSE protocol, "Pre-Authentication Encoding"): what a DSSE signature covers,
// "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in ASCII decimal.
Bytes dsse_pae(std::string_view payload_type, ByteView payload);

}  // namespace cci::sigstore
