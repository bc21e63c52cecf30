#include "ratls/attested_cert.h"

#include "crypto/digest.h"
#include "crypto/random.h"
#include "crypto/x509_issue.h"
#include "ratls/cbor_util.h"

namespace cci::ratls {
namespace {

using cbor::Item;

Error bad(const std::string& msg, const std::string& field) { return make_error(ErrorCode::kMalformed, "attested certificate: " + msg, field); }

// tag(T)([bstr, ...])
Result<Bytes> encode_tagged_list(std::uint64_t tag, const std::vector<ByteView>& items) {
  Item arr(cbor_new_definite_array(items.size()));
  for (ByteView b : items) {
    Item i = cbor::bytes_item(b);
    if (!arr || !i || !cbor_array_push(arr.get(), i.get())) return make_error(ErrorCode::kInternal, "CBOR array");
  }
  Item tagged(cbor_build_tag(tag, arr.get()));
  if (!tagged) return make_error(ErrorCode::kInternal, "CBOR tag");
  return cbor::serialize(tagged.get());
}

Result<std::pair<std::uint64_t, std::vector<Bytes>>> decode_tagged_list(ByteView data, const std::string& what, size_t min_items, size_t max_items) {
  auto item = cbor::load_strict(data, kMaxExtensionBytes, what);
  if (!item) return item.error();
  if (!cbor_isa_tag(item->get())) return bad(what + " is not a CBOR tag", what);
  const std::uint64_t tag = cbor_tag_value(item->get());
  Item arr(cbor_tag_item(item->get()));
  if (!cbor_isa_array(arr.get()) || !cbor_array_is_definite(arr.get())) return bad(what + " must tag a definite-length array", what);
  const size_t n = cbor_array_size(arr.get());
  if (n < min_items || n > max_items) return bad(what + " has " + std::to_string(n) + " items", what);
  std::vector<Bytes> out;
  for (size_t i = 0; i < n; ++i) {
    Item el(cbor_array_get(arr.get(), i));
    if (!cbor::is_bytes(el.get())) return bad(what + " item " + std::to_string(i) + " is not a byte string", what);
    out.push_back(cbor::bytes_of(el.get()));
  }
  return std::make_pair(tag, std::move(out));
}

bool known_tag(std::uint64_t t) { return t == kTagSnp || t == kTagCsv || t == kTagIntelTeeQuote; }

}  // namespace

Result<Bytes> encode_tagged_evidence(const TaggedEvidence& e) { return encode_tagged_list(e.tag, {e.evidence, e.claims}); }

Result<TaggedEvidence> decode_tagged_evidence(ByteView data) {
  auto l = decode_tagged_list(data, "tagged evidence", 2, 2);
  if (!l) return l.error();
  if (!known_tag(l->first)) return bad("evidence tag " + std::to_string(l->first) + " is not SEV-SNP (0x1a7504), CSV (0x1a7506) or an Intel TEE quote (60000)", "tag");
  return TaggedEvidence{l->first, std::move(l->second[0]), std::move(l->second[1])};
}

Result<Bytes> encode_endorsements(const Endorsements& e) {
  std::vector<ByteView> views(e.items.begin(), e.items.end());
  return encode_tagged_list(e.tag, views);
}

Result<Endorsements> decode_endorsements(ByteView data) {
  auto l = decode_tagged_list(data, "endorsements", 1, 8);
  if (!l) return l.error();
  if (!known_tag(l->first)) return bad("endorsements tag " + std::to_string(l->first) + " is not SEV-SNP (0x1a7504), CSV (0x1a7506) or an Intel TEE quote (60000)", "tag");
  return Endorsements{l->first, std::move(l->second)};
}

Result<crypto::Certificate> make_attested_certificate(const crypto::PrivateKey& key, const TaggedEvidence& evidence,
                                                      const std::optional<Endorsements>& endorsements, const AttestedCertSpec& spec) {
  crypto::CertificateSpec cs;
  cs.subject = {{"CN", spec.common_name}};
  auto serial = crypto::random_bytes(8);
  if (!serial) return serial.error();
  cs.serial = 1;
  for (auto b : *serial) cs.serial = (cs.serial << 8) | b;
  cs.serial &= 0x7FFFFFFFFFFFFFFFull;  // a positive INTEGER
  cs.not_before = spec.not_before;
  cs.not_after = spec.not_after;
  cs.end_entity = true;
  cs.key_usage = "critical,digitalSignature";
  cs.extended_key_usage = "serverAuth";
  cs.dns_names = spec.dns_names;
  auto ev = encode_tagged_evidence(evidence);
  if (!ev) return ev.error();
  cs.extensions.push_back({kOidTaggedEvidence, std::move(*ev), false});
  if (endorsements) {
    auto en = encode_endorsements(*endorsements);
    if (!en) return en.error();
    cs.extensions.push_back({kOidEndorsements, std::move(*en), false});
  }
  return crypto::issue_certificate(cs, key.public_key(), key, nullptr, crypto::IssueSignature::kEcdsaSha384);
}

Result<AttestedCertificate> read_attested_certificate(const crypto::Certificate& cert, std::time_t at, std::time_t max_validity) {
  if (!cert.signed_by(cert)) return bad("the self-signature does not verify", "signature");
  if (!cert.valid_at(at)) return bad("not valid at the time of checking", "validity");
  if (cert.not_after() - cert.not_before() > max_validity) return bad("valid for longer than " + std::to_string(max_validity) + " s", "validity");
  if (X509_check_ca(cert.get()) != 0) return bad("it is a CA certificate (CA:FALSE required)", "basicConstraints");
  auto ext = cert.extension_value(kOidTaggedEvidence);
  if (!ext) return ext.error();  // carried twice
  if (!*ext) return bad("no evidence extension (2.23.133.5.4.9)", "evidence");
  auto ev = decode_tagged_evidence(**ext);
  if (!ev) return ev.error();
  AttestedCertificate out;
  out.evidence = std::move(*ev);
  auto en = cert.extension_value(kOidEndorsements);
  if (!en) return en.error();
  if (*en) {
    auto e = decode_endorsements(**en);
    if (!e) return e.error();
    if (e->tag != out.evidence.tag) return bad("endorsements are for another TEE than the evidence", "endorsements");
    out.endorsements = std::move(*e);
  }
  auto claims = decode_claims(out.evidence.claims);
  if (!claims) return claims.error();
  out.claims = std::move(*claims);
  auto pub = cert.public_key();
  if (!pub) return pub.error();
  if (!crypto::ct_equal(crypto::digest(crypto::DigestAlg::kSha256, pub->spki_der()), out.claims.pubkey_sha256)) {
    return make_error(ErrorCode::kVerificationFailed, "attested certificate: pubkey-hash is not this certificate's key", "pubkey-hash");
  }
  return out;
}

}  // namespace cci::ratls
