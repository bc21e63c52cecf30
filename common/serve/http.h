// HTTP/1.1 on a TlsConnection, parsed and written by Boost.Beast (Debian libboost-dev), never
// by hand. Bodies and the Authorization header live in wiped memory (SecureString). Limits are
// the caller's: a header block or body over them is an error naming the limit.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "base/secure_alloc.h"
#include "crypto/tls.h"

namespace cci::serve {

using crypto::TlsConnection;

struct HttpLimits {
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1 << 20;
};

struct HttpRequest {
  std::string method, target, content_type;
  SecureString authorization;  // the Authorization header, if any
  SecureString body;
  bool keep_alive = true;
};

// Requests on one connection, in order. The reader keeps what it read past the end of a request,
// so pipelined requests (RFC 9112 §9.3.2: a client may send several before the first answer)
// are all served, in the order sent. next() gives nullopt when the client closed the connection
// between requests. Errors carry field "body-limit" (413), "header-limit" (431) or "http" (400).
class HttpReader {
 public:
  HttpReader(TlsConnection& c, HttpLimits limits);
  ~HttpReader();
  HttpReader(const HttpReader&) = delete;
  HttpReader& operator=(const HttpReader&) = delete;
  Result<std::optional<HttpRequest>> next();
  // Bytes of a next request already received (here or inside TLS): no need to wait for more.
  bool has_buffered_data() const;

 private:
  struct State;
  TlsConnection& c_;
  HttpLimits limits_;
  std::unique_ptr<State> s_;
};

// One request from a fresh reader (what it read past the request is dropped: for one-shot use).
Result<std::optional<HttpRequest>> read_request(TlsConnection& c, const HttpLimits& limits);

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  SecureString body;
  std::map<std::string, std::string> headers;
};
Status write_response(TlsConnection& c, const HttpResponse& r, bool keep_alive);

// A streamed response (server-sent events): the head with Transfer-Encoding: chunked, then one
// chunk per write, then the last chunk. Each call is one TLS record (up to 16 KiB); `last` sends
// the data and the last chunk together.
Status write_stream_head(TlsConnection& c, int status, const std::string& content_type, bool keep_alive);
Status write_chunk(TlsConnection& c, std::string_view data, bool last = false);
Status write_last_chunk(TlsConnection& c);

// Client side: one request and its whole response (chunked or not), body at most max_body bytes.
struct ClientRequest {
  std::string method = "GET", target = "/", host, content_type = "application/json";
  SecureString authorization, body;
};
Result<HttpResponse> round_trip(TlsConnection& c, const ClientRequest& r, size_t max_body = 16u << 20);

// Client side, streamed (server-sent events): the status, with each piece of a chunked body
// handed to `on_body` as it arrives (return false to stop reading).
Result<int> round_trip_streamed(TlsConnection& c, const ClientRequest& r, const std::function<bool(std::string_view)>& on_body);

const char* status_reason(int status);

}  // namespace cci::serve
