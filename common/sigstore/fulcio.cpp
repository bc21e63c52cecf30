#include "sigstore/fulcio.h"

#include "base/der.h"
#include "base/text.h"

namespace cci::sigstore {

Result<crypto::Certificate> verify_fulcio_chain(const crypto::Certificate& leaf, const TrustedRoot& root, std::time_t signed_at) {
  if (!leaf.valid_at(signed_at)) {
    return Error::make(ErrorCode::kVerificationFailed,
                       "Fulcio certificate: valid " + rfc3339_utc(leaf.not_before()) + " to " + rfc3339_utc(leaf.not_after()) + ", not at the signing time " +
                           rfc3339_utc(signed_at),
                       "certificate");
  }
  std::string why = "no certificate authority in the trusted root";
  for (const auto& ca : root.cas) {
    if (!ca.valid.covers(signed_at)) {
      why = "no certificate authority of the trusted root is valid at the signing time " + rfc3339_utc(signed_at);
      continue;
    }
    std::vector<crypto::Certificate> middle;
    for (size_t i = 0; i + 1 < ca.chain.size(); ++i) middle.push_back(ca.chain[i].clone());
    const crypto::Certificate anchor[] = {ca.chain.back().clone()};
    auto st = crypto::verify_chain(leaf, middle, anchor, signed_at);
    if (st) {
      for (const auto& c : ca.chain) {
        if (leaf.names_issuer(c) && leaf.signed_by(c)) return c.clone();
      }
    }
    why = "not issued by " + (ca.uri.empty() ? ca.chain.back().subject_common_name() : ca.uri) + (st ? "" : ": " + st.error().message);
  }
  return Error::make(ErrorCode::kVerificationFailed, "Fulcio certificate: " + why, "certificate");
}

Result<SignerIdentity> fulcio_identity(const crypto::Certificate& leaf) {
  SignerIdentity who;
  int found = 0;
  for (const auto& [kind, value] : leaf.subject_alt_names()) {
    if (kind != "email" && kind != "uri") continue;
    who.san_kind = kind;
    who.san = value;
    ++found;
  }
  if (found != 1) return make_error(ErrorCode::kMalformed, "Fulcio certificate: " + std::to_string(found) + " e-mail or URI subjectAltNames, not one", "certificate");
  CCI_ASSIGN(v2, leaf.extension_value("1.3.6.1.4.1.57264.1.8"));
  if (v2) {
    const der::Reader r("Fulcio certificate", "certificate");
    ByteView in = *v2;
    CCI_ASSIGN(s, r.expect(in, 0x0c, "the OIDC issuer (1.3.6.1.4.1.57264.1.8)"));
    if (!in.empty()) return r.bad("the OIDC issuer (1.3.6.1.4.1.57264.1.8)", "has bytes after its UTF8String");
    who.issuer.assign(s.value.begin(), s.value.end());
  } else {
    CCI_ASSIGN(v1, leaf.extension_value("1.3.6.1.4.1.57264.1.1"));
    if (!v1) return make_error(ErrorCode::kMalformed, "Fulcio certificate: no OIDC issuer extension (1.3.6.1.4.1.57264.1.8 or .1.1)", "certificate");
    who.issuer.assign(v1->begin(), v1->end());
  }
  if (who.issuer.empty()) return make_error(ErrorCode::kMalformed, "Fulcio certificate: the OIDC issuer is empty", "certificate");
  return who;
}

Status match_identity(const SignerIdentity& who, const std::string& identity, const std::string& issuer) {
  if (who.san != identity) {
    return Error::make(ErrorCode::kVerificationFailed, "signer identity: the certificate names " + who.san + ", not " + identity, "identity");
  }
  if (who.issuer != issuer) {
    return Error::make(ErrorCode::kVerificationFailed, "signer identity: issued by " + who.issuer + ", not " + issuer, "issuer");
  }
  return {};
}

}  // namespace cci::sigstore
