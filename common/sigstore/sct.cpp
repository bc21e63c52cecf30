#include "sigstore/sct.h"

#include "base/der.h"
#include "base/hex.h"
#include "crypto/digest.h"

namespace cci::sigstore {
namespace {

struct Sct {
  std::uint8_t version = 0;
  Bytes log_id;
  std::uint64_t timestamp_ms = 0;
  Bytes extensions;
  std::uint8_t hash_alg = 0, sig_alg = 0;
  Bytes signature;
};

Error bad(const std::string& why) { return Error::make(ErrorCode::kMalformed, "SCT list: " + why, "certificate"); }

// Big-endian reads from the front of `in`.
bool take(ByteView& in, size_t n, ByteView& out) {
  if (in.size() < n) return false;
  out = in.first(n);
  in = in.subspan(n);
  return true;
}
bool take_uint(ByteView& in, size_t n, std::uint64_t& v) {
  ByteView b;
  if (!take(in, n, b)) return false;
  v = 0;
  for (std::uint8_t x : b) v = v << 8 | x;
  return true;
}
bool take_vec(ByteView& in, size_t len_bytes, ByteView& out) {
  std::uint64_t n = 0;
  return take_uint(in, len_bytes, n) && take(in, static_cast<size_t>(n), out);
}

Result<std::vector<Sct>> parse_list(ByteView extn_value) {
  const der::Reader r("SCT list", "certificate");
  ByteView in = extn_value;
  CCI_ASSIGN(os, r.expect(in, der::kOctetString, "the extension"));
  if (!in.empty()) return bad("bytes after the OCTET STRING");
  ByteView all = os.value, list;
  if (!take_vec(all, 2, list) || !all.empty()) return bad("the list length does not match its bytes");
  std::vector<Sct> out;
  while (!list.empty()) {
    ByteView one, id, ext, sig;
    if (!take_vec(list, 2, one)) return bad("an SCT runs past the list");
    Sct s;
    std::uint64_t v = 0, ts = 0, h = 0, a = 0;
    if (!take_uint(one, 1, v) || !take(one, 32, id) || !take_uint(one, 8, ts) || !take_vec(one, 2, ext) || !take_uint(one, 1, h) || !take_uint(one, 1, a) ||
        !take_vec(one, 2, sig) || !one.empty()) {
      return bad("an SCT does not parse (RFC 6962 section 3.2)");
    }
    s.version = static_cast<std::uint8_t>(v);
    s.log_id.assign(id.begin(), id.end());
    s.timestamp_ms = ts;
    s.extensions.assign(ext.begin(), ext.end());
    s.hash_alg = static_cast<std::uint8_t>(h);
    s.sig_alg = static_cast<std::uint8_t>(a);
    s.signature.assign(sig.begin(), sig.end());
    out.push_back(std::move(s));
    if (out.size() > 64) return bad("more than 64 SCTs");
  }
  if (out.empty()) return bad("empty");
  return out;
}

void put_uint(Bytes& b, std::uint64_t v, size_t n) {
  for (size_t i = n; i-- > 0;) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace

Status verify_embedded_sct(const crypto::Certificate& leaf, const crypto::Certificate& issuer, const TrustedRoot& root) {
  CCI_ASSIGN(ext, leaf.extension_value(kSctListOid));
  if (!ext) return Error::make(ErrorCode::kVerificationFailed, "SCT: the certificate carries no embedded SCTs", "sct");
  CCI_ASSIGN(scts, parse_list(*ext));
  CCI_ASSIGN(tbs, leaf.tbs_without_extension(kSctListOid));
  CCI_ASSIGN(issuer_key, issuer.public_key());
  const Bytes issuer_key_hash = crypto::digest(crypto::DigestAlg::kSha256, issuer_key.spki_der());
  if (tbs.size() >= (1u << 24)) return bad("a TBSCertificate too long to sign");
  std::string why = "no SCT is by a CT log of the trusted root";
  for (const auto& s : scts) {
    if (s.version != 0) {
      why = "an SCT of version " + std::to_string(s.version) + " (only v1 is defined)";
      continue;
    }
    const LogKey* log = find_log(root.ctlogs, s.log_id);
    if (!log) continue;
    const auto at = static_cast<std::time_t>(s.timestamp_ms / 1000);
    if (!log->valid.covers(at)) {
      why = "the SCT by " + log->base_url + " is outside the log's validity window";
      continue;
    }
    // RFC 6962 section 3.2 digitally-signed struct for a precert_entry.
    Bytes m;
    put_uint(m, 0, 1);  // sct_version v1
    put_uint(m, 0, 1);  // signature_type certificate_timestamp
    put_uint(m, s.timestamp_ms, 8);
    put_uint(m, 1, 2);  // entry_type precert_entry
    m.insert(m.end(), issuer_key_hash.begin(), issuer_key_hash.end());
    put_uint(m, tbs.size(), 3);
    m.insert(m.end(), tbs.begin(), tbs.end());
    put_uint(m, s.extensions.size(), 2);
    m.insert(m.end(), s.extensions.begin(), s.extensions.end());
    if (s.hash_alg != 4 /* sha256 */ || (s.sig_alg != 3 /* ecdsa */ && s.sig_alg != 1 /* rsa */)) {
      why = "the SCT by " + log->base_url + " uses an algorithm other than SHA-256 with ECDSA or RSA";
      continue;
    }
    crypto::SignOptions o;
    o.digest = crypto::DigestAlg::kSha256;
    if (crypto::verify(log->key, m, s.signature, o)) return {};
    why = "the SCT by " + log->base_url + " does not verify with the log's key";
  }
  return Error::make(ErrorCode::kVerificationFailed, "SCT: " + why, "sct");
}

}  // namespace cci::sigstore
