// HTTP GET for collateral services (AMD KDS, Hygon KDS, Intel PCS) through libcurl: a hard timeout per
// attempt, a cap on the body size, and retries with back-off where the server asks for them
// (HTTP 429 with Retry-After, and 500/502/503/504). Nothing fetched is trusted: callers
// verify every byte against pinned roots.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::collateral {

struct HttpOptions {
  long timeout_ms = 30000;     // per attempt, connection included
  int max_attempts = 4;        // total tries for 429 / 5xx answers
  long max_wait_s = 60;        // cap on one back-off wait (Retry-After or exponential)
  size_t max_body = 1 << 20;   // a longer answer is an error, not truncated
  std::string user_agent = "cci";
  // Plain http:// URLs are refused unless the caller names it (--insecure-http-kds): TLS keeps a
  // network attacker from answering for the key server, whatever the answer's own checks.
  bool allow_plain_http = false;
  // Told about each wait ("HTTP 429 from ...: retrying in 2 s"); may be empty.
  std::function<void(const std::string&)> note;
  // Waits `seconds`; defaults to sleeping. Tests can count instead.
  std::function<void(long seconds)> wait;
  // The flag that allows plain http, for the refusal's message.
  std::string plain_http_flag = "--insecure-http-kds";
  // "sha256//BASE64" (crypto::public_key_pin): the server's key must be this one; the usual CA
  // checks are then replaced by the pin (a self-signed server certificate given by the user).
  std::string pinned_public_key;
};

// A request other than a plain GET (the KBS protocol: JSON bodies, a session cookie).
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::string body;                  // sent with content_type when not empty (binary bodies too)
  std::string content_type = "application/json";
  std::vector<std::string> headers;  // "Name: value"
};

struct HttpResponse {
  long status = 0;
  Bytes body;
  std::optional<long> retry_after_s;  // Retry-After in seconds, when sent as a number
  std::vector<std::string> set_cookies;  // each Set-Cookie value, as sent
  // Every other header, name lower-cased, value trimmed (at most 64 kept; Intel's PCS sends the
  // issuer chains of its answers this way).
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> header(const std::string& lower_name) const {
    for (const auto& [k, v] : headers) {
      if (k == lower_name) return v;
    }
    return std::nullopt;
  }
};

// One GET. Transport failures (refused, DNS, timeout, oversized body) are kIo errors naming
// the URL; any HTTP status is a response. An http:// URL without allow_plain_http is kUsage.
Result<HttpResponse> http_get_once(const std::string& url, const HttpOptions& o);
// One request of any method, with the same rules.
Result<HttpResponse> http_once(const HttpRequest& r, const HttpOptions& o);

// GET with retries; the body of a 200 answer, else a kIo error naming the URL and status.
Result<Bytes> http_get(const std::string& url, const HttpOptions& o);
// The same, keeping the answer's headers.
Result<HttpResponse> http_get_response(const std::string& url, const HttpOptions& o);

}  // namespace cci::collateral
