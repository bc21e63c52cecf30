#include "ratls/claims.h"

#include "ratls/cbor_util.h"

#include <algorithm>
#include <memory>
#include <set>
#include <vector>

#include "crypto/digest.h"

namespace cci::ratls {
namespace {

using cbor::bytes_item;
using cbor::bytes_of;
using cbor::Item;
using cbor::serialize;
using cbor::text_item;
using cbor::text_of;

Error bad(const std::string& msg, const std::string& field) { return make_error(ErrorCode::kMalformed, "RA-TLS claims: " + msg, field); }

Result<Item> load_strict(ByteView data, const std::string& what) { return cbor::load_strict(data, kMaxClaimsBytes, what); }

// [1, bstr hash]: the hash-alg-id form of "pubkey-hash".
Result<Bytes> pubkey_hash_value(ByteView sha256) {
  Item arr(cbor_new_definite_array(2));
  Item alg(cbor_build_uint8(1));
  Item h = bytes_item(sha256);
  if (!arr || !cbor_array_push(arr.get(), alg.get()) || !cbor_array_push(arr.get(), h.get())) return make_error(ErrorCode::kInternal, "CBOR");
  return serialize(arr.get());
}


Result<Bytes> decode_pubkey_hash(const cbor_item_t* v) {
  if (!cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v)) return bad("pubkey-hash must be a byte string", "pubkey-hash");
  auto inner = load_strict(bytes_of(v), "pubkey-hash");
  if (!inner) return inner.error();
  const cbor_item_t* a = inner->get();
  if (!cbor_isa_array(a) || !cbor_array_is_definite(a) || cbor_array_size(a) != 2) return bad("pubkey-hash must hold [alg, hash]", "pubkey-hash");
  cbor_item_t* alg = cbor_array_get(a, 0);
  cbor_item_t* h = cbor_array_get(a, 1);
  Item alg_owner(alg), h_owner(h);
  if (!cbor_isa_uint(alg) || cbor_get_int(alg) != 1) return bad("pubkey-hash algorithm must be 1 (sha-256)", "pubkey-hash");
  if (!cbor_isa_bytestring(h) || !cbor_bytestring_is_definite(h) || cbor_bytestring_length(h) != 32) {
    return bad("pubkey-hash must be 32 bytes of SHA-256", "pubkey-hash");
  }
  return bytes_of(h);
}

}  // namespace

Result<Bytes> encode_claims(const Claims& c) {
  if (c.pubkey_sha256.size() != 32 || c.manifest_sha256.size() != 32) return make_error(ErrorCode::kUsage, "claims need 32-byte SHA-256 values");
  auto pk = pubkey_hash_value(c.pubkey_sha256);
  if (!pk) return pk.error();
  std::vector<std::pair<std::string, Item>> entries;
  entries.emplace_back("pubkey-hash", bytes_item(*pk));
  entries.emplace_back("cci-purpose", text_item(c.purpose));
  entries.emplace_back("cci-manifest", bytes_item(c.manifest_sha256));
  if (c.deploy) entries.emplace_back("cci-deploy", text_item(*c.deploy));
  if (c.key_source) entries.emplace_back("cci-key-source", text_item(*c.key_source));
  if (c.nonce) entries.emplace_back("nonce", bytes_item(*c.nonce));
  if (c.exporter) entries.emplace_back("cci-exporter", bytes_item(*c.exporter));
  if (c.gpu_sha256) {
    if (c.gpu_sha256->size() != 32) return make_error(ErrorCode::kUsage, "cci-gpu needs a 32-byte SHA-256");
    entries.emplace_back("cci-gpu", bytes_item(*c.gpu_sha256));
  }
  // Deterministic order: by encoded key, i.e. shorter text keys first, then bytewise.
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.first.size() != b.first.size() ? a.first.size() < b.first.size() : a.first < b.first;
  });
  Item map(cbor_new_definite_map(entries.size()));
  for (auto& [k, v] : entries) {
    Item key = text_item(k);
    if (!v || !cbor_map_add(map.get(), cbor_pair{key.get(), v.get()})) return make_error(ErrorCode::kInternal, "CBOR map");
  }
  return serialize(map.get());
}

Result<Claims> decode_claims(ByteView cbor) {
  auto item = load_strict(cbor, "claims");
  if (!item) return item.error();
  const cbor_item_t* m = item->get();
  if (!cbor_isa_map(m) || !cbor_map_is_definite(m)) return bad("must be a definite-length map", "claims");
  Claims c;
  std::set<std::string> seen;
  const cbor_pair* pairs = cbor_map_handle(m);
  for (size_t i = 0; i < cbor_map_size(m); ++i) {
    const cbor_item_t* k = pairs[i].key;
    const cbor_item_t* v = pairs[i].value;
    if (!cbor_isa_string(k) || !cbor_string_is_definite(k)) return bad("keys must be text", "claims");
    const std::string key = text_of(k);
    if (!seen.insert(key).second) return bad("key '" + key + "' appears twice", key);
    auto need_bytes = [&](size_t want) -> Result<Bytes> {
      if (!cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v)) return bad(key + " must be a byte string", key);
      if (want && cbor_bytestring_length(v) != want) return bad(key + " must be " + std::to_string(want) + " bytes", key);
      return bytes_of(v);
    };
    auto need_text = [&]() -> Result<std::string> {
      if (!cbor_isa_string(v) || !cbor_string_is_definite(v) || cbor_string_length(v) > 256) return bad(key + " must be short text", key);
      return text_of(v);
    };
    if (key == "pubkey-hash") {
      auto h = decode_pubkey_hash(v);
      if (!h) return h.error();
      c.pubkey_sha256 = std::move(*h);
    } else if (key == "cci-purpose") {
      auto t = need_text();
      if (!t) return t.error();
      c.purpose = *t;
    } else if (key == "cci-manifest") {
      auto b = need_bytes(32);
      if (!b) return b.error();
      c.manifest_sha256 = std::move(*b);
    } else if (key == "cci-deploy") {
      auto t = need_text();
      if (!t) return t.error();
      c.deploy = *t;
    } else if (key == "cci-key-source") {
      auto t = need_text();
      if (!t) return t.error();
      if (*t != "push" && *t != "kbs" && *t != "cdh" && *t != "file") return bad("cci-key-source must be push, kbs, cdh or file", key);
      c.key_source = *t;
    } else if (key == "nonce") {
      auto b = need_bytes(0);
      if (!b) return b.error();
      if (b->empty() || b->size() > 64) return bad("nonce must be 1 to 64 bytes", key);
      c.nonce = std::move(*b);
    } else if (key == "cci-exporter") {
      auto b = need_bytes(32);
      if (!b) return b.error();
      c.exporter = std::move(*b);
    } else if (key == "cci-gpu") {
      auto b = need_bytes(32);
      if (!b) return b.error();
      c.gpu_sha256 = std::move(*b);
    } else {
      return bad("unknown key '" + key + "'", key);
    }
  }
  for (const char* required : {"pubkey-hash", "cci-purpose", "cci-manifest"}) {
    if (!seen.count(required)) return bad(std::string("missing ") + required, required);
  }
  if (c.gpu_sha256 && !(c.nonce && c.exporter)) return bad("cci-gpu belongs to fresh evidence (with nonce and cci-exporter) only", "cci-gpu");
  return c;
}

Bytes report_data_for_claims(ByteView claims_cbor) {
  Bytes rd = crypto::digest(crypto::DigestAlg::kSha256, claims_cbor);
  rd.resize(64, 0);
  return rd;
}

Claims identity_claims(const crypto::PublicKey& key, ByteView manifest, const std::string& purpose, const std::string& deploy) {
  Claims claims;
  claims.pubkey_sha256 = crypto::digest(crypto::DigestAlg::kSha256, key.spki_der());
  claims.manifest_sha256 = crypto::digest(crypto::DigestAlg::kSha256, manifest);
  claims.purpose = purpose;
  if (!deploy.empty()) claims.deploy = deploy;
  return claims;
}

}  // namespace cci::ratls
