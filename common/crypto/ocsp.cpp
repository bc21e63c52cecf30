// OCSP requests and responses (RFC 6960) through OpenSSL's OCSP module; see ocsp.h.
#include "crypto/ocsp.h"

#include <openssl/ocsp.h>

#include <cstring>

#include "crypto/ossl.h"
#include "crypto/x509_internal.h"

namespace cci::crypto {

template <>
struct Deleter<OCSP_REQUEST> {
  void operator()(OCSP_REQUEST* p) const { OCSP_REQUEST_free(p); }
};
template <>
struct Deleter<OCSP_RESPONSE> {
  void operator()(OCSP_RESPONSE* p) const { OCSP_RESPONSE_free(p); }
};
template <>
struct Deleter<OCSP_BASICRESP> {
  void operator()(OCSP_BASICRESP* p) const { OCSP_BASICRESP_free(p); }
};
template <>
struct Deleter<OCSP_CERTID> {
  void operator()(OCSP_CERTID* p) const { OCSP_CERTID_free(p); }
};

namespace {

Result<UniquePtr<OCSP_RESPONSE>> parse_response(ByteView der) {
  if (der.empty()) return make_error(ErrorCode::kMalformed, "OCSP response is empty", "ocsp");
  if (der.size() > kMaxOcspResponseSize) {
    return make_error(ErrorCode::kMalformed, "OCSP response is " + std::to_string(der.size()) + " bytes (at most " + std::to_string(kMaxOcspResponseSize) + ")", "ocsp");
  }
  const unsigned char* p = der.data();
  UniquePtr<OCSP_RESPONSE> resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!resp) return ossl_error(ErrorCode::kMalformed, "not a DER OCSP response");
  if (p != der.data() + der.size()) return make_error(ErrorCode::kMalformed, "trailing bytes after the DER OCSP response", "ocsp");
  return resp;
}

// The BasicOCSPResponse of a successful OCSPResponse.
Result<UniquePtr<OCSP_BASICRESP>> basic_of(ByteView der) {
  CCI_ASSIGN(resp, parse_response(der));
  const int rs = OCSP_response_status(resp.get());
  if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return make_error(ErrorCode::kMalformed, std::string("OCSP responseStatus is ") + OCSP_response_status_str(rs) + " (" + std::to_string(rs) + "), not successful", "ocsp.responseStatus");
  }
  UniquePtr<OCSP_BASICRESP> bs(OCSP_response_get1_basic(resp.get()));
  if (!bs) return ossl_error(ErrorCode::kMalformed, "OCSP response is not a BasicOCSPResponse");
  return bs;
}

// The SingleResponse about `cert`, matched with the CertID digest the responder chose.
OCSP_SINGLERESP* find_single(OCSP_BASICRESP* bs, const Certificate& cert, const Certificate& issuer) {
  const int n = OCSP_resp_count(bs);
  for (int i = 0; i < n; ++i) {
    OCSP_SINGLERESP* single = OCSP_resp_get0(bs, i);
    const OCSP_CERTID* cid = single ? OCSP_SINGLERESP_get0_id(single) : nullptr;
    if (!cid) continue;
    ASN1_OBJECT* md_oid = nullptr;
    if (OCSP_id_get0_info(nullptr, &md_oid, nullptr, nullptr, const_cast<OCSP_CERTID*>(cid)) != 1 || !md_oid) continue;
    const EVP_MD* md = EVP_get_digestbyobj(md_oid);
    if (!md) continue;
    UniquePtr<OCSP_CERTID> mine(OCSP_cert_to_id(md, cert.get(), issuer.get()));
    if (mine && OCSP_id_cmp(mine.get(), cid) == 0) return single;
  }
  return nullptr;
}

// Whether the response's ResponderID names `c` (byName, or byKey: SHA-1 of its public key).
bool responder_is(OCSP_BASICRESP* bs, X509* c) {
  const ASN1_OCTET_STRING* key = nullptr;
  const X509_NAME* name = nullptr;
  if (OCSP_resp_get0_id(bs, &key, &name) != 1) return false;
  if (name) return X509_NAME_cmp(name, X509_get_subject_name(c)) == 0;
  if (!key) return false;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_pubkey_digest(c, EVP_sha1(), md, &len) != 1) return false;
  return static_cast<unsigned>(ASN1_STRING_length(key)) == len && std::memcmp(ASN1_STRING_get0_data(key), md, len) == 0;
}

// The nonce extension's value is the DER of an OCTET STRING holding the nonce (RFC 8954).
bool nonce_matches(OCSP_BASICRESP* bs, ByteView nonce) {
  const int idx = OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1);
  if (idx < 0) return false;
  X509_EXTENSION* ext = OCSP_BASICRESP_get_ext(bs, idx);
  const ASN1_OCTET_STRING* v = ext ? X509_EXTENSION_get_data(ext) : nullptr;
  if (!v) return false;
  Bytes want;
  want.push_back(0x04);
  if (nonce.size() < 0x80) {
    want.push_back(static_cast<std::uint8_t>(nonce.size()));
  } else {
    want.push_back(0x81);
    want.push_back(static_cast<std::uint8_t>(nonce.size()));
  }
  want.insert(want.end(), nonce.begin(), nonce.end());
  return static_cast<size_t>(ASN1_STRING_length(v)) == want.size() && std::memcmp(ASN1_STRING_get0_data(v), want.data(), want.size()) == 0;
}

}  // namespace

const char* ocsp_status_name(OcspStatus s) {
  switch (s) {
    case OcspStatus::kGood: return "good";
    case OcspStatus::kRevoked: return "revoked";
    case OcspStatus::kUnknown: return "unknown";
  }
  return "unknown";
}

bool OcspAnswer::current_at(std::time_t at, std::time_t skew_s, std::time_t max_age_s) const {
  if (at + skew_s < this_update) return false;
  if (next_update) return at <= *next_update;
  return at - this_update <= max_age_s;
}

Result<Bytes> ocsp_request(const Certificate& cert, const Certificate& issuer, ByteView nonce, const std::string& digest) {
  clear_ossl_errors();
  const EVP_MD* md = digest == "sha1" ? EVP_sha1() : digest == "sha384" ? EVP_sha384() : nullptr;
  if (!md) return make_error(ErrorCode::kUsage, "OCSP CertID digest must be sha1 or sha384, not " + digest, "ocsp");
  if (nonce.size() > 128) return make_error(ErrorCode::kUsage, "OCSP nonce longer than 128 bytes", "ocsp");
  UniquePtr<OCSP_REQUEST> req(OCSP_REQUEST_new());
  UniquePtr<OCSP_CERTID> id(OCSP_cert_to_id(md, cert.get(), issuer.get()));
  if (!req || !id) return ossl_error(ErrorCode::kInternal, "building an OCSP request");
  if (!OCSP_request_add0_id(req.get(), id.get())) return ossl_error(ErrorCode::kInternal, "OCSP_request_add0_id");
  id.release();  // owned by the request now
  if (!nonce.empty() && OCSP_request_add1_nonce(req.get(), const_cast<unsigned char*>(nonce.data()), static_cast<int>(nonce.size())) != 1) {
    return ossl_error(ErrorCode::kInternal, "OCSP_request_add1_nonce");
  }
  Bytes der = to_der(i2d_OCSP_REQUEST, req.get());
  if (der.empty()) return ossl_error(ErrorCode::kInternal, "encoding an OCSP request");
  return der;
}

Status ocsp_response_well_formed(ByteView response) {
  clear_ossl_errors();
  return status_of(basic_of(response));
}

bool ocsp_response_names(ByteView response, const Certificate& cert, const Certificate& issuer) {
  auto bs = basic_of(response);
  const bool found = bs && find_single(bs->get(), cert, issuer) != nullptr;
  clear_ossl_errors();
  return found;
}

Result<OcspAnswer> check_ocsp_response(ByteView response, const Certificate& cert, const Certificate& issuer, std::time_t at, ByteView expected_nonce) {
  clear_ossl_errors();
  CCI_ASSIGN(bs, basic_of(response));

  // The signer: the issuer, or a responder the issuer delegated to (RFC 6960 section 4.2.2.2).
  OcspAnswer out;
  X509* signer = nullptr;
  if (responder_is(bs.get(), issuer.get())) {
    signer = issuer.get();
    out.responder = "(the issuer)";
  } else {
    const STACK_OF(X509)* certs = OCSP_resp_get0_certs(bs.get());
    std::string why = "no certificate in the response matches its ResponderID";
    for (int i = 0; certs && i < sk_X509_num(certs); ++i) {
      X509* c = sk_X509_value(certs, i);
      if (!responder_is(bs.get(), c)) continue;
      auto cand = Certificate::from_der(to_der(i2d_X509, c));
      if (!cand) continue;
      const std::string cn = cand->subject_common_name();
      if (!cand->names_issuer(issuer) || !cand->signed_by(issuer)) {
        why = "responder " + cn + " was not issued by " + issuer.subject_common_name();
      } else if (cand->has_extended_key_usage(NID_OCSP_sign) != std::optional<bool>(true)) {
        why = "responder " + cn + " lacks the extended key usage id-kp-OCSPSigning";
      } else if (!cand->valid_at(at)) {
        why = "responder " + cn + " is not valid at the time asked about";
      } else {
        signer = c;
        out.responder = cn;
        break;
      }
    }
    if (!signer) {
      return make_error(ErrorCode::kVerificationFailed, "OCSP response for " + cert.subject_common_name() + " is signed by no acceptable responder: " + why, "ocsp.responderID");
    }
  }
  {
    UniquePtr<STACK_OF(X509)> only(sk_X509_new_null());
    UniquePtr<X509_STORE> store(X509_STORE_new());
    if (!only || !store || !sk_X509_push(only.get(), signer)) return ossl_error(ErrorCode::kInternal, "OCSP signer stack");
    X509_up_ref(signer);
    if (OCSP_basic_verify(bs.get(), only.get(), store.get(), OCSP_NOINTERN | OCSP_NOVERIFY | OCSP_NOCHECKS) != 1) {
      clear_ossl_errors();
      return make_error(ErrorCode::kVerificationFailed, "OCSP response for " + cert.subject_common_name() + ": the signature does not verify", "ocsp.signature");
    }
  }
  if (!expected_nonce.empty() && !nonce_matches(bs.get(), expected_nonce)) {
    return make_error(ErrorCode::kVerificationFailed, "OCSP response for " + cert.subject_common_name() + " does not carry the request's nonce (a replayed answer?)", "ocsp.nonce");
  }
  OCSP_SINGLERESP* single = find_single(bs.get(), cert, issuer);
  if (!single) {
    return make_error(ErrorCode::kVerificationFailed, "OCSP response says nothing about " + cert.subject_common_name() + " (no SingleResponse with its CertID)", "ocsp.certID");
  }
  int reason = -1;
  ASN1_GENERALIZEDTIME *rev = nullptr, *thisupd = nullptr, *nextupd = nullptr;
  const int st = OCSP_single_get0_status(single, &reason, &rev, &thisupd, &nextupd);
  out.this_update = asn1_to_time(thisupd);
  if (nextupd) out.next_update = asn1_to_time(nextupd);
  if (st == V_OCSP_CERTSTATUS_GOOD) {
    out.status = OcspStatus::kGood;
  } else if (st == V_OCSP_CERTSTATUS_REVOKED) {
    out.status = OcspStatus::kRevoked;
    if (rev) out.revoked_at = asn1_to_time(rev);
    if (reason >= 0) out.reason = OCSP_crl_reason_str(reason);
  } else {
    out.status = OcspStatus::kUnknown;
  }
  if (out.this_update == 0 || (nextupd && *out.next_update == 0)) {
    return make_error(ErrorCode::kMalformed, "OCSP response for " + cert.subject_common_name() + ": thisUpdate or nextUpdate does not decode", "ocsp.thisUpdate");
  }
  clear_ossl_errors();
  return out;
}

}  // namespace cci::crypto
