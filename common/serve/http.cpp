// The only translation unit that includes Boost.Beast. Beast reads and writes through
// TlsStream, a synchronous stream over TlsConnection.
#include "serve/http.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <cstring>

#include "crypto/random.h"

namespace cci::serve {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

using Fields = http::basic_fields<WipingAllocator<char>>;
using Body = http::basic_string_body<char, std::char_traits<char>, WipingAllocator<char>>;
using Buffer = beast::basic_flat_buffer<WipingAllocator<char>>;

// Beast's SyncReadStream / SyncWriteStream over a TLS connection.
class TlsStream {
 public:
  explicit TlsStream(TlsConnection& c) : c_(c) {}

  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    ec = {};
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it) {
      net::mutable_buffer b = *it;
      if (b.size() == 0) continue;
      auto n = c_.read_some(b.data(), b.size());
      if (!n) {
        error = n.error();
        ec = make_error_code(net::error::connection_reset);
        return 0;
      }
      if (*n == 0) ec = net::error::eof;
      return *n;
    }
    return 0;
  }
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers) {
    beast::error_code ec;
    const size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }
  // Small pieces go out together as one TLS record: a streamed chunk is three buffers (size line,
  // data, CRLF), and written one by one they were three records, three sends and up to three
  // wake-ups of the reader for every piece of streamed text. The gathered copy is wiped.
  template <class ConstBuffers>
  size_t write_some(const ConstBuffers& buffers, beast::error_code& ec) {
    ec = {};
    std::array<unsigned char, kGatherBytes> gather;
    size_t used = 0, total = 0;
    auto put = [&](const void* p, size_t n) {
      if (n == 0) return true;
      if (auto st = c_.write_all(p, n); !st) {
        error = st.error();
        ec = make_error_code(net::error::broken_pipe);
        return false;
      }
      return true;
    };
    auto flush = [&] {
      const bool ok = put(gather.data(), used);
      if (ok) total += used;
      used = 0;
      return ok;
    };
    bool ok = true;
    for (auto it = net::buffer_sequence_begin(buffers); ok && it != net::buffer_sequence_end(buffers); ++it) {
      net::const_buffer b = *it;
      if (used + b.size() > gather.size()) ok = flush();
      if (!ok) break;
      if (b.size() <= gather.size()) {
        std::memcpy(gather.data() + used, b.data(), b.size());
        used += b.size();
      } else if ((ok = put(b.data(), b.size()))) {
        total += b.size();
      }
    }
    if (ok) flush();
    crypto::secure_clear(gather.data(), gather.size());
    return total;
  }
  template <class ConstBuffers>
  size_t write_some(const ConstBuffers& buffers) {
    beast::error_code ec;
    const size_t n = write_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

  std::optional<Error> error;  // the TLS failure behind a stream error

 private:
  static constexpr size_t kGatherBytes = 16384;  // one TLS record's plaintext at most
  TlsConnection& c_;
};

Error stream_error(const TlsStream& s, const beast::error_code& ec, const std::string& what) {
  if (s.error) return *s.error;
  return make_error(ErrorCode::kIo, what + ": " + ec.message(), "http");
}

}  // namespace

const char* status_reason(int status) {
  const auto r = http::obsolete_reason(static_cast<http::status>(status));
  return r.data();
}

struct HttpReader::State {
  Buffer buffer;  // bytes read past the end of the last request
};

HttpReader::HttpReader(TlsConnection& c, HttpLimits limits) : c_(c), limits_(limits), s_(std::make_unique<State>()) {}
HttpReader::~HttpReader() = default;

bool HttpReader::has_buffered_data() const { return s_->buffer.size() > 0 || c_.has_buffered_data(); }

Result<std::optional<HttpRequest>> HttpReader::next() {
  TlsStream s(c_);
  http::request_parser<Body, WipingAllocator<char>> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
  parser.body_limit(limits_.max_body_bytes);
  beast::error_code ec;
  http::read(s, s_->buffer, parser, ec);
  if (ec == http::error::end_of_stream || (ec == net::error::eof && s_->buffer.size() == 0 && !parser.got_some())) return std::optional<HttpRequest>{};
  if (ec == http::error::body_limit) return make_error(ErrorCode::kInvalidInput, "the request body is over the limit of " + std::to_string(limits_.max_body_bytes) + " bytes", "body-limit");
  if (ec == http::error::header_limit) return make_error(ErrorCode::kInvalidInput, "the request header is over the limit of " + std::to_string(limits_.max_header_bytes) + " bytes", "header-limit");
  if (ec) {
    if (s.error) return *s.error;
    return make_error(ErrorCode::kMalformed, "malformed HTTP request: " + ec.message(), "http");
  }
  auto& m = parser.get();
  HttpRequest r;
  r.method = std::string(m.method_string());
  r.target = std::string(m.target());
  r.content_type = std::string(m[http::field::content_type]);
  const auto auth = m[http::field::authorization];
  r.authorization.assign(auth.data(), auth.size());
  r.body = std::move(m.body());
  r.keep_alive = m.keep_alive();
  return std::optional<HttpRequest>(std::move(r));
}

Result<std::optional<HttpRequest>> read_request(TlsConnection& c, const HttpLimits& limits) {
  HttpReader reader(c, limits);
  return reader.next();
}

Status write_response(TlsConnection& c, const HttpResponse& r, bool keep_alive) {
  TlsStream s(c);
  http::response<Body, Fields> res{static_cast<http::status>(r.status), 11};
  res.set(http::field::server, "cci-run");
  res.set(http::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.keep_alive(keep_alive);
  res.body() = r.body;
  res.prepare_payload();
  beast::error_code ec;
  http::write(s, res, ec);
  if (ec) return stream_error(s, ec, "writing the response");
  return {};
}

Status write_stream_head(TlsConnection& c, int status, const std::string& content_type, bool keep_alive) {
  TlsStream s(c);
  http::response<http::empty_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::server, "cci-run");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(keep_alive);
  res.chunked(true);
  http::response_serializer<http::empty_body> sr{res};
  beast::error_code ec;
  http::write_header(s, sr, ec);
  if (ec) return stream_error(s, ec, "writing the response head");
  return {};
}

Status write_chunk(TlsConnection& c, std::string_view data, bool last) {
  if (last) {
    if (data.empty()) return write_last_chunk(c);
    TlsStream s(c);
    beast::error_code ec;
    net::write(s, beast::buffers_cat(http::make_chunk(net::const_buffer(data.data(), data.size())), http::make_chunk_last()), ec);
    if (ec) return stream_error(s, ec, "writing the last chunks");
    return {};
  }
  if (data.empty()) return {};
  TlsStream s(c);
  beast::error_code ec;
  net::write(s, http::make_chunk(net::const_buffer(data.data(), data.size())), ec);
  if (ec) return stream_error(s, ec, "writing a chunk");
  return {};
}

Status write_last_chunk(TlsConnection& c) {
  TlsStream s(c);
  beast::error_code ec;
  net::write(s, http::make_chunk_last(), ec);
  if (ec) return stream_error(s, ec, "writing the last chunk");
  return {};
}

namespace {

http::request<Body, Fields> client_request(const ClientRequest& r) {
  http::request<Body, Fields> req{http::string_to_verb(r.method), r.target, 11};
  req.set(http::field::host, r.host);
  req.set(http::field::user_agent, "cci");
  if (!r.authorization.empty()) req.set(http::field::authorization, beast::string_view(r.authorization.data(), r.authorization.size()));
  if (!r.body.empty() || r.method == "POST") {
    req.set(http::field::content_type, r.content_type);
    req.body() = r.body;
  }
  req.keep_alive(true);
  req.prepare_payload();
  return req;
}

Status send_request(TlsStream& s, const ClientRequest& r) {
  auto req = client_request(r);
  beast::error_code ec;
  http::write(s, req, ec);
  if (ec) return stream_error(s, ec, "sending the request");
  return {};
}

}  // namespace

Result<HttpResponse> round_trip(TlsConnection& c, const ClientRequest& r, size_t max_body) {
  TlsStream s(c);
  CCI_TRY(send_request(s, r));
  beast::error_code ec;
  Buffer buffer;
  http::response_parser<Body, WipingAllocator<char>> parser;
  parser.body_limit(max_body);
  http::read(s, buffer, parser, ec);
  if (ec) return stream_error(s, ec, "reading the response");
  auto& m = parser.get();
  HttpResponse out;
  out.status = static_cast<int>(m.result_int());
  out.content_type = std::string(m[http::field::content_type]);
  out.body = std::move(m.body());
  return out;
}

Result<int> round_trip_streamed(TlsConnection& c, const ClientRequest& r, const std::function<bool(std::string_view)>& on_body) {
  TlsStream s(c);
  CCI_TRY(send_request(s, r));
  beast::error_code ec;
  Buffer buffer;
  http::response_parser<Body, WipingAllocator<char>> parser;
  parser.body_limit(boost::none);
  bool stopped = false;
  auto on_chunk = [&](std::uint64_t, beast::string_view body, beast::error_code&) -> std::size_t {
    if (!stopped && !on_body(std::string_view(body.data(), body.size()))) stopped = true;
    return body.size();
  };
  parser.on_chunk_body(on_chunk);
  http::read_header(s, buffer, parser, ec);
  if (ec) return stream_error(s, ec, "reading the response head");
  while (!parser.is_done() && !stopped) {
    http::read_some(s, buffer, parser, ec);
    if (ec) return stream_error(s, ec, "reading the response");
  }
  if (!parser.chunked() && !parser.get().body().empty()) on_body(std::string_view(parser.get().body().data(), parser.get().body().size()));
  return static_cast<int>(parser.get().result_int());
}

}  // namespace cci::serve
