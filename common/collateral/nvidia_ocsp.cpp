#include "collateral/nvidia_ocsp.h"

#include <ctime>

#include "base/hex.h"
#include "collateral/cache_files.h"
#include "crypto/digest.h"
#include "crypto/ocsp.h"
#include "crypto/random.h"

namespace cci::collateral {

std::string OcspCache::file_for(const crypto::Certificate& cert) const {
  return dir_ + "/nvidia/ocsp/" + to_hex(cert.fingerprint_sha256()) + ".der";
}

Result<std::optional<Bytes>> OcspCache::answer(const crypto::Certificate& cert) const {
  return detail::read_if_present(file_for(cert), crypto::kMaxOcspResponseSize);
}

Status OcspCache::store(const crypto::Certificate& cert, ByteView der) const { return detail::store(file_for(cert), der); }

OcspFetched fetch_ocsp(const crypto::Certificate& cert, const crypto::Certificate& issuer, const OcspCache& cache, const OcspFetchOptions& o) {
  OcspFetched out;
  out.subject = cert.subject_common_name();
  out.file = cache.file_for(cert);
  const std::time_t now = std::time(nullptr);
  if (!o.refresh) {
    auto cached = cache.answer(cert);
    if (cached && *cached) {
      auto a = crypto::check_ocsp_response(**cached, cert, issuer, now);
      if (a && a->current_at(now)) {
        out.data = std::move(**cached);
        return out;
      }
    }
  }
  if (!o.url.empty()) {
    out.url = o.url;
  } else {
    const auto urls = cert.ocsp_urls();
    out.url = urls.empty() ? kNvidiaOcspUrl : urls.front();
  }
  auto fail = [&out](Error e) {
    out.error = std::move(e);
    return out;
  };
  auto nonce = crypto::random_bytes(32);
  if (!nonce) return fail(nonce.error());
  auto req = crypto::ocsp_request(cert, issuer, *nonce);
  if (!req) return fail(req.error());
  HttpRequest http;
  http.method = "POST";
  http.url = out.url;
  http.body.assign(req->begin(), req->end());
  http.content_type = "application/ocsp-request";
  http.headers = {"Accept: application/ocsp-response"};
  HttpOptions ho = o.http;
  ho.allow_plain_http = true;  // answers prove themselves: see the header
  ho.max_body = crypto::kMaxOcspResponseSize;
  auto resp = http_once(http, ho);
  if (!resp) return fail(resp.error());
  if (resp->status != 200) return fail(Error::make(ErrorCode::kIo, out.url + ": HTTP " + std::to_string(resp->status) + " for the OCSP request about " + out.subject, "ocsp"));
  auto a = crypto::check_ocsp_response(resp->body, cert, issuer, now, *nonce);
  if (!a) return fail(Error::make(ErrorCode::kInvalidInput, "OCSP answer from " + out.url + " refused: " + a.error().message, "ocsp"));
  if (!a->current_at(now)) {
    return fail(Error::make(ErrorCode::kInvalidInput, "OCSP answer from " + out.url + " about " + out.subject + " is not current (thisUpdate .. nextUpdate misses now)", "ocsp"));
  }
  if (auto st = cache.store(cert, resp->body); !st) return fail(st.error());
  out.downloaded = true;
  out.data = std::move(resp->body);
  return out;
}

}  // namespace cci::collateral
