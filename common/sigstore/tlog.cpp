#include "sigstore/tlog.h"

#include "base/hex.h"
#include "crypto/digest.h"

namespace cci::sigstore {
namespace {

Bytes sha256_of(std::uint8_t prefix, ByteView a, ByteView b = {}) {
  crypto::Hasher h(crypto::DigestAlg::kSha256);
  h.update(ByteView(&prefix, 1));
  h.update(a);
  h.update(b);
  return h.finish();
}

Error malformed(const std::string& m, const std::string& field) { return Error::make(ErrorCode::kMalformed, m, field); }

// The number of bits set, and the bit length, of a 64-bit value.
unsigned popcount(std::uint64_t x) {
  unsigned n = 0;
  for (; x; x &= x - 1) ++n;
  return n;
}
unsigned bit_length(std::uint64_t x) {
  unsigned n = 0;
  for (; x; x >>= 1) ++n;
  return n;
}

}  // namespace

Bytes leaf_hash(ByteView entry) { return sha256_of(0x00, entry); }
Bytes node_hash(ByteView left, ByteView right) { return sha256_of(0x01, left, right); }

Status verify_inclusion(ByteView leaf, std::uint64_t index, std::uint64_t tree_size, const std::vector<Bytes>& proof, ByteView root) {
  if (index >= tree_size) return malformed("inclusion proof: index " + std::to_string(index) + " is not below the tree size " + std::to_string(tree_size), "inclusionProof.logIndex");
  if (leaf.size() != kHashSize || root.size() != kHashSize) return malformed("inclusion proof: the leaf or root hash is not 32 bytes", "inclusionProof.rootHash");
  if (proof.size() > kMaxProofHashes) return malformed("inclusion proof: more than 64 hashes", "inclusionProof.hashes");
  for (const auto& h : proof) {
    if (h.size() != kHashSize) return malformed("inclusion proof: a hash is not 32 bytes", "inclusionProof.hashes");
  }
  // RFC 9162 section 2.1.3.2, in the decomposition of the transparency-dev libraries: the path
  // below the point where index and the last leaf diverge ("inner"), then the right border.
  const std::uint64_t last = tree_size - 1;
  const unsigned inner = bit_length(index ^ last);
  const unsigned border = popcount(index >> inner);
  if (proof.size() != inner + border) {
    return malformed("inclusion proof: " + std::to_string(proof.size()) + " hashes, a leaf at " + std::to_string(index) + " of " + std::to_string(tree_size) +
                         " needs " + std::to_string(inner + border),
                     "inclusionProof.hashes");
  }
  Bytes h(leaf.begin(), leaf.end());
  for (unsigned i = 0; i < inner; ++i) {
    h = ((index >> i) & 1) == 0 ? node_hash(h, proof[i]) : node_hash(proof[i], h);
  }
  for (unsigned i = inner; i < proof.size(); ++i) h = node_hash(proof[i], h);
  if (h != Bytes(root.begin(), root.end())) {
    return Error::make(ErrorCode::kVerificationFailed, "inclusion proof: the path from the entry does not lead to the root hash " + to_hex(root), "inclusionProof");
  }
  return {};
}

Result<Checkpoint> parse_checkpoint(std::string_view note) {
  auto bad = [](const std::string& m) { return malformed("checkpoint: " + m, "inclusionProof.checkpoint"); };
  if (note.size() > kMaxCheckpointBytes) return bad("longer than " + std::to_string(kMaxCheckpointBytes) + " bytes");
  const size_t split = note.find("\n\n");
  if (split == std::string_view::npos) return bad("no blank line between the text and its signatures");
  Checkpoint c;
  c.signed_text = std::string(note.substr(0, split + 1));
  std::vector<std::string> lines;
  for (size_t at = 0; at < c.signed_text.size();) {
    const size_t nl = c.signed_text.find('\n', at);
    lines.push_back(c.signed_text.substr(at, nl - at));
    at = nl + 1;
  }
  if (lines.size() < 3) return bad("fewer than three lines (origin, size, root hash)");
  c.origin = lines[0];
  if (c.origin.empty()) return bad("the origin line is empty");
  const std::string& size = lines[1];
  if (size.empty() || size.size() > 20 || (size.size() > 1 && size[0] == '0') || size.find_first_not_of("0123456789") != std::string::npos) {
    return bad("the tree size '" + size + "' is not a decimal number");
  }
  try {
    c.tree_size = std::stoull(size);
  } catch (...) {
    return bad("the tree size '" + size + "' is out of range");
  }
  auto root = base64_decode(lines[2], "checkpoint root hash");
  if (!root || root->size() != kHashSize) return bad("the root hash is not 32 bytes of base64");
  c.root_hash = std::move(*root);
  c.extensions.assign(lines.begin() + 3, lines.end());
  for (const auto& e : c.extensions) {
    if (e.empty()) return bad("an empty extension line");
  }
  // Signature lines: "\u2014 NAME BASE64\n", each.
  static const std::string kDash = "\xE2\x80\x94 ";
  std::string_view rest = note.substr(split + 2);
  if (rest.empty()) return bad("no signature lines");
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) return bad("a signature line does not end with a newline");
    std::string_view line = rest.substr(0, nl);
    rest = rest.substr(nl + 1);
    if (line.substr(0, kDash.size()) != kDash) return bad("a signature line does not start with an em dash");
    line = line.substr(kDash.size());
    const size_t sp = line.rfind(' ');
    if (sp == std::string_view::npos || sp == 0) return bad("a signature line has no name");
    auto blob = base64_decode(line.substr(sp + 1), "checkpoint signature");
    if (!blob || blob->size() < 5) return bad("a signature is not base64 of a key hint and a signature");
    NoteSignature s;
    s.name = std::string(line.substr(0, sp));
    s.key_hint.assign(blob->begin(), blob->begin() + 4);
    s.signature.assign(blob->begin() + 4, blob->end());
    c.signatures.push_back(std::move(s));
  }
  return c;
}

Bytes rekor_key_hint(const crypto::PublicKey& key) {
  const Bytes id = crypto::digest(crypto::DigestAlg::kSha256, key.spki_der());
  return Bytes(id.begin(), id.begin() + 4);
}

Status verify_checkpoint(const Checkpoint& c, const crypto::PublicKey& key, const std::string& name) {
  const Bytes hint = rekor_key_hint(key);
  std::string why = "no signature line by " + name;
  for (const auto& s : c.signatures) {
    if (s.name != name) continue;
    if (s.key_hint != hint) {
      why = "the signature by " + name + " names another key (hint " + to_hex(s.key_hint) + ", the log's is " + to_hex(hint) + ")";
      continue;
    }
    crypto::SignOptions o;
    if (key.type() == crypto::KeyType::kEcP256) o.digest = crypto::DigestAlg::kSha256;
    if (crypto::verify(key, as_bytes(c.signed_text), s.signature, o)) return {};
    why = "the signature by " + name + " does not verify with the log's key";
  }
  return Error::make(ErrorCode::kVerificationFailed, "checkpoint: " + why, "inclusionProof.checkpoint");
}

std::string set_payload(ByteView entry, std::int64_t integrated_time, ByteView log_id, std::int64_t log_index) {
  // Keys in code-point order, no whitespace, integers as they are: RFC 8785 for these values
  // (base64 and hex need no escaping).
  return "{\"body\":\"" + base64_encode(entry) + "\",\"integratedTime\":" + std::to_string(integrated_time) + ",\"logID\":\"" + to_hex(log_id) +
         "\",\"logIndex\":" + std::to_string(log_index) + "}";
}

Status verify_set(ByteView entry, std::int64_t integrated_time, ByteView log_id, std::int64_t log_index, ByteView set, const crypto::PublicKey& key) {
  if (integrated_time < 0 || log_index < 0) return malformed("signed entry timestamp: a negative integratedTime or logIndex", "tlogEntries");
  crypto::SignOptions o;
  if (key.type() == crypto::KeyType::kEcP256) o.digest = crypto::DigestAlg::kSha256;
  if (!crypto::verify(key, as_bytes(set_payload(entry, integrated_time, log_id, log_index)), set, o)) {
    return Error::make(ErrorCode::kVerificationFailed,
                       "signed entry timestamp: the log's signature does not cover this entry, integratedTime " + std::to_string(integrated_time) + " and logIndex " +
                           std::to_string(log_index),
                       "inclusionPromise.signedEntryTimestamp");
  }
  return {};
}

Bytes dsse_pae(std::string_view payload_type, ByteView payload) {
  const std::string head = "DSSEv1 " + std::to_string(payload_type.size()) + " " + std::string(payload_type) + " " + std::to_string(payload.size()) + " ";
  Bytes out(head.begin(), head.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

}  // namespace cci::sigstore
