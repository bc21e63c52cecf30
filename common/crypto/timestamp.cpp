#include "crypto/timestamp.h"

#include <openssl/pkcs7.h>
#include <openssl/ts.h>

#include "crypto/ossl.h"
#include "crypto/x509_internal.h"

namespace cci::crypto {
namespace {

struct TsRespFree {
  void operator()(TS_RESP* p) const { TS_RESP_free(p); }
};
struct TsVerifyCtxFree {
  void operator()(TS_VERIFY_CTX* p) const { TS_VERIFY_CTX_free(p); }
};

Error bad(ErrorCode code, const std::string& why) { return Error::make(code, "RFC 3161 timestamp: " + why, "tsa-timestamp"); }

}  // namespace

Result<TimestampToken> verify_rfc3161(ByteView response_der, ByteView message, std::span<const Certificate> tsa_chain) {
  clear_ossl_errors();
  if (response_der.size() > kMaxTimestampResponseSize) return bad(ErrorCode::kMalformed, "larger than " + std::to_string(kMaxTimestampResponseSize) + " bytes");
  if (tsa_chain.empty()) return bad(ErrorCode::kVerificationFailed, "no timestamp authority to check it against");
  const unsigned char* p = response_der.data();
  std::unique_ptr<TS_RESP, TsRespFree> resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(response_der.size())));
  if (!resp || p != response_der.data() + response_der.size()) {
    clear_ossl_errors();
    return bad(ErrorCode::kMalformed, "not one DER TimeStampResp");
  }
  const ASN1_INTEGER* status = TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp.get()));
  const long s = status ? ASN1_INTEGER_get(status) : -1;
  if (s != 0 && s != 1) return bad(ErrorCode::kVerificationFailed, "status " + std::to_string(s) + " is not granted");
  TS_TST_INFO* info = TS_RESP_get_tst_info(resp.get());
  if (info == nullptr || TS_RESP_get_token(resp.get()) == nullptr) return bad(ErrorCode::kMalformed, "a granted response without a token");
  TimestampToken out;
  out.gen_time = asn1_to_time(TS_TST_INFO_get_time(info));
  if (out.gen_time == 0) return bad(ErrorCode::kMalformed, "genTime does not decode");
  const X509_ALGOR* alg = TS_MSG_IMPRINT_get_algo(TS_TST_INFO_get_msg_imprint(info));
  const int md = alg ? OBJ_obj2nid(alg->algorithm) : NID_undef;
  if (md != NID_sha256 && md != NID_sha384 && md != NID_sha512) return bad(ErrorCode::kVerificationFailed, "the message imprint is not SHA-256, SHA-384 or SHA-512");

  UniquePtr<X509_STORE> store(X509_STORE_new());
  UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  if (!store || !untrusted) return ossl_error(ErrorCode::kInternal, "RFC 3161 timestamp: allocation");
  if (X509_STORE_add_cert(store.get(), tsa_chain.back().get()) != 1) return ossl_error(ErrorCode::kInternal, "RFC 3161 timestamp: trust anchor");
  for (size_t i = 0; i + 1 < tsa_chain.size(); ++i) {
    if (X509_up_ref(tsa_chain[i].get()) != 1 || sk_X509_push(untrusted.get(), tsa_chain[i].get()) <= 0) {
      return ossl_error(ErrorCode::kInternal, "RFC 3161 timestamp: chain");
    }
  }
  // Certificates are judged at the genTime, never at the clock (RFC 3161 section 4.3).
  X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()), out.gen_time);

  std::unique_ptr<TS_VERIFY_CTX, TsVerifyCtxFree> ctx(TS_VERIFY_CTX_new());
  UniquePtr<BIO> data(BIO_new_mem_buf(message.data(), static_cast<int>(message.size())));
  if (!ctx || !data) return ossl_error(ErrorCode::kInternal, "RFC 3161 timestamp: allocation");
  TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_DATA);
  TS_VERIFY_CTX_set_store(ctx.get(), store.release());     // owned by ctx from here
  TS_VERIFY_CTX_set_certs(ctx.get(), untrusted.release());  // owned by ctx from here
  TS_VERIFY_CTX_set_data(ctx.get(), data.release());        // owned by ctx from here
  if (TS_RESP_verify_response(ctx.get(), resp.get()) != 1) {
    Error e = ossl_error(ErrorCode::kVerificationFailed, "RFC 3161 timestamp: does not verify against the timestamp authority " + tsa_chain.front().subject_common_name());
    e.field = "tsa-timestamp";
    return e;
  }
  out.tsa = tsa_chain.front().subject();
  return out;
}

}  // namespace cci::crypto
