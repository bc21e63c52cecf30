#include "collateral/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace cci::collateral {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  Bytes* body;
  size_t max;
  bool too_big = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  const size_t len = size * n;
  if (s->body->size() + len > s->max) {
    s->too_big = true;
    return 0;  // aborts the transfer
  }
  s->body->insert(s->body->end(), data, data + len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<HttpResponse*>(user);
  const size_t len = size * n;
  std::string line(data, len);
  static constexpr std::string_view kName = "retry-after:", kCookie = "set-cookie:";
  if (line.size() > kCookie.size()) {
    std::string head = line.substr(0, kCookie.size());
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (head == kCookie && r->set_cookies.size() < 16) {
      std::string v = line.substr(kCookie.size());
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.pop_back();
      while (!v.empty() && v.front() == ' ') v.erase(v.begin());
      r->set_cookies.push_back(v);
    }
  }
  if (const size_t colon = line.find(':'); colon != std::string::npos && colon > 0 && r->headers.size() < 64) {
    std::string name = line.substr(0, colon), value = line.substr(colon + 1);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
    while (!value.empty() && value.front() == ' ') value.erase(value.begin());
    if (name != "set-cookie") r->headers.emplace_back(std::move(name), std::move(value));
  }
  if (line.size() > kName.size()) {
    std::string head = line.substr(0, kName.size());
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (head == kName) {
      char* end = nullptr;
      long v = std::strtol(line.c_str() + kName.size(), &end, 10);
      if (end != line.c_str() + kName.size() && v >= 0) r->retry_after_s = v;
    }
  }
  return len;
}

bool retryable(long status) { return status == 429 || status == 500 || status == 502 || status == 503 || status == 504; }

}  // namespace

Result<HttpResponse> http_get_once(const std::string& url, const HttpOptions& o) {
  HttpRequest r;
  r.url = url;
  return http_once(r, o);
}

Result<HttpResponse> http_once(const HttpRequest& req, const HttpOptions& o) {
  const std::string& url = req.url;
  const bool https = url.rfind("https://", 0) == 0, http = url.rfind("http://", 0) == 0;
  if (!https && !(http && o.allow_plain_http)) {
    return make_error(ErrorCode::kUsage,
                      http ? url + ": a key server over plain http is refused; use https, or name the risk with " + o.plain_http_flag
                           : url + ": key server URLs must start with https://",
                      "kds-url");
  }
  global_init_once();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return make_error(ErrorCode::kInternal, "curl_easy_init failed");
  HttpResponse r;
  Sink sink{&r.body, o.max_body};
  char err[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o.timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o.timeout_ms);
  curl_easy_setopt(c, CURLOPT_USERAGENT, o.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, curl_slist_free_all);
  for (const auto& h : req.headers) headers.reset(curl_slist_append(headers.release(), h.c_str()));
  if (!req.body.empty()) headers.reset(curl_slist_append(headers.release(), ("Content-Type: " + req.content_type).c_str()));
  if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
  } else if (req.method != "GET") {
    return make_error(ErrorCode::kInternal, "HTTP method " + req.method + " is not used by cci", "method");
  }
  if (!o.pinned_public_key.empty()) {
    // The pin stands in for the CA check (a self-signed server certificate the user gave).
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, o.pinned_public_key.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  if (sink.too_big) {
    return make_error(ErrorCode::kIo, url + ": answer larger than " + std::to_string(o.max_body) + " bytes", url);
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return make_error(ErrorCode::kIo, url + ": no answer within " + std::to_string(o.timeout_ms) + " ms (timeout)", url);
  }
  if (rc != CURLE_OK) return make_error(ErrorCode::kIo, url + ": " + (err[0] ? err : curl_easy_strerror(rc)), url);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

Result<Bytes> http_get(const std::string& url, const HttpOptions& o) {
  CCI_ASSIGN(r, http_get_response(url, o));
  return std::move(r.body);
}

Result<HttpResponse> http_get_response(const std::string& url, const HttpOptions& o) {
  long backoff = 1;
  for (int attempt = 1;; ++attempt) {
    auto r = http_get_once(url, o);
    if (!r) return r.error();
    if (r->status == 200) return std::move(*r);
    if (!retryable(r->status) || attempt >= o.max_attempts) {
      std::string why = r->status == 429 ? " (rate-limited; still refused after " + std::to_string(attempt) + " tries)" : "";
      return make_error(ErrorCode::kIo, url + ": HTTP " + std::to_string(r->status) + why, url);
    }
    long wait = std::min(r->retry_after_s.value_or(backoff), o.max_wait_s);
    backoff = std::min(backoff * 2, o.max_wait_s);
    if (o.note) o.note(url + ": HTTP " + std::to_string(r->status) + ", retrying in " + std::to_string(wait) + " s");
    if (o.wait) o.wait(wait);
    else std::this_thread::sleep_for(std::chrono::seconds(wait));
  }
}

}  // namespace cci::collateral
