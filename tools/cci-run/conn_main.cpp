// cci-run-conn (started by cci-run serve, one per TCP connection; not for direct use): terminates
// TLS 1.3 for one client and speaks HTTP/1.1 with it. It serves at most one user: the first valid
// API key binds the connection (the accept loop enforces it too), and prompts travel only to that
// user's worker. Descriptors: 3 the client's TCP socket, 4 the accept loop's control channel.
// Descriptor 5 is the signed manifest the server was started with (a sealed memfd), served at
// GET /v1/attestation/manifest. The first control frame brings the TLS key and certificate (in
// memory only) and the limits.
// Client deadlines: alarm() shuts the socket down when the TLS handshake takes longer than
// handshake_timeout, a request longer than request_timeout, an idle keep-alive connection longer
// than keepalive_timeout, or one write to the client longer than write_timeout (a client that
// stops reading loses its connection; its worker is never held up by it).
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>

#include "base/file_io.h"
#include "base/hex.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "ratls/attested_cert.h"
#include "ratls/fresh.h"
#include "serve/api_keys.h"
#include "serve/http.h"
#include "serve/ipc.h"
#include "serve/log.h"
#include "serve/openai_api.h"
#include "serve/sandbox.h"
#include "serve/tls.h"

namespace cci::serve {
namespace {

constexpr int kClientFd = 3, kControlFd = 4, kManifestFd = 5;
int g_conn_id = 0;

void on_deadline(int) { ::shutdown(kClientFd, SHUT_RDWR); }

void set_deadline(double seconds) { ::alarm(seconds > 0 ? static_cast<unsigned>(std::ceil(seconds)) : 0); }

struct ConnLimits {
  HttpLimits http;
  ApiLimits api;
  double handshake_timeout = 5, request_timeout = 10, keepalive_timeout = 30, write_timeout = 30;
  std::string model;
  std::int64_t created = 0;
};

// A deadline for one write to the client: alarm() for its duration.
class WriteDeadline {
 public:
  explicit WriteDeadline(double seconds) { set_deadline(seconds); }
  ~WriteDeadline() { set_deadline(0); }
  WriteDeadline(const WriteDeadline&) = delete;
  WriteDeadline& operator=(const WriteDeadline&) = delete;
};

class Connection {
 public:
  Connection(TlsConnection& tls, const ConnLimits& limits, const crypto::Certificate& cert, ratls::Claims claims)
      : tls_(tls), reader_(tls, limits.http), limits_(limits), cert_(cert), claims_(std::move(claims)) {}
  void run();

 private:
  bool handle(HttpRequest& req);  // false: close the connection
  bool respond(int status, std::string body, bool keep_alive, const std::string& content_type = "application/json");
  bool respond_error(int status, const std::string& message, const std::string& type, const std::string& param, bool keep_alive);
  bool fresh_evidence(const HttpRequest& req);
  bool manifest(const HttpRequest& req);
  bool completion(HttpRequest& req, bool chat);
  Result<int> session_for(const HttpRequest& req);
  Status authenticate(const HttpRequest& req);
  Result<Bytes> key_hash_of(const HttpRequest& req) const;
  Result<UniqueFd> ask_for_user(const Bytes& key_hash, bool want_worker);
  bool relay(int session, const CompletionRequest& parsed, bool chat, bool keep_alive);

  TlsConnection& tls_;
  HttpReader reader_;
  const ConnLimits& limits_;
  const crypto::Certificate& cert_;
  ratls::Claims claims_;
  UniqueFd session_;
  std::optional<Bytes> bound_key_hash_;
  std::string user_;
};

bool Connection::respond(int status, std::string body, bool keep_alive, const std::string& content_type) {
  HttpResponse r;
  r.status = status;
  r.content_type = content_type;
  r.body.assign(body.begin(), body.end());
  WriteDeadline d(limits_.write_timeout);
  return static_cast<bool>(write_response(tls_, r, keep_alive)) && keep_alive;
}

// GET /v1/attestation/manifest: the signed manifest whose SHA-256 the attested claims carry, so a
// client needs only this URL and the release key (cci-verify remote).
bool Connection::manifest(const HttpRequest& req) {
  auto bytes = read_fd(kManifestFd, "manifest", 64u << 20);
  if (!bytes) return respond_error(500, "the signed manifest is unavailable", "server_error", "manifest", false);
  return respond(200, std::string(bytes->begin(), bytes->end()), req.keep_alive);
}

bool Connection::respond_error(int status, const std::string& message, const std::string& type, const std::string& param, bool keep_alive) {
  log_event("conn", "request_error", {{"conn", g_conn_id}, {"status", status}, {"param", param}});
  return respond(status, error_body(message, type, param), keep_alive);
}

// POST /v1/attestation/fresh {"nonce": HEX(32 bytes)}: evidence bound to the nonce and to this
// TLS connection (exporter), from the accept loop, which alone holds the TEE.
bool Connection::fresh_evidence(const HttpRequest& req) {
  const auto j = nlohmann::json::parse(req.body.begin(), req.body.end(), nullptr, false);
  if (!j.is_object() || !j.contains("nonce") || !j["nonce"].is_string()) {
    return respond_error(400, "the body must be {\"nonce\": 64 hex digits}", "invalid_request_error", "nonce", req.keep_alive);
  }
  auto nonce = from_hex(j["nonce"].get<std::string>(), "nonce", ratls::kNonceBytes);
  if (!nonce) return respond_error(400, nonce.error().message, "invalid_request_error", "nonce", req.keep_alive);
  auto exporter = tls_.exporter(ratls::kExporterLabel, *nonce, ratls::kExporterBytes);
  if (!exporter) return respond_error(500, exporter.error().message, "server_error", "tls", false);
  auto claims = ratls::encode_claims(ratls::fresh_claims(claims_, *nonce, *exporter));
  if (!claims) return respond_error(500, claims.error().message, "server_error", "claims", false);
  if (!send_json(kControlFd, SecureJson{{"op", "evidence"}, {"claims", base64_encode(*claims)}})) return false;
  auto answer = recv_json(kControlFd, 1u << 20);
  if (!answer) return false;
  const auto& m = answer->message;
  if (m.contains("error")) {
    return respond_error(m.value("status", 500), std::string(m.value("error", SecureString())), "server_error", "evidence", req.keep_alive);
  }
  nlohmann::json body{{"evidence", std::string(m.value("evidence", SecureString()))}, {"format", "cci-ratls-v1"}};
  log_event("conn", "fresh_evidence", {{"conn", g_conn_id}});
  return respond(200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), req.keep_alive);
}

// The SHA-256 of the request's API key; a connection already bound to another key is refused.
Result<Bytes> Connection::key_hash_of(const HttpRequest& req) const {
  auto token = bearer_token(std::string_view(req.authorization.data(), req.authorization.size()));
  if (!token) return make_error(ErrorCode::kVerificationFailed, "missing API key: send 'Authorization: Bearer KEY'", "authorization");
  Bytes hash = hash_api_key(*token);
  if (bound_key_hash_ && !crypto::ct_equal(*bound_key_hash_, hash)) {
    return make_error(ErrorCode::kVerificationFailed, "this connection already serves another API key; open a new connection", "authorization");
  }
  return hash;
}

// Asks the accept loop, which alone knows the users, for this key's user and (with
// `want_worker`) a session with that user's worker; binds the connection to the user.
// Errors carry the HTTP status the accept loop chose in their field ("status:401").
Result<UniqueFd> Connection::ask_for_user(const Bytes& key_hash, bool want_worker) {
  if (!send_json(kControlFd, SecureJson{{"op", "session"}, {"key_sha256", to_hex(key_hash)}, {"worker", want_worker}})) {
    return make_error(ErrorCode::kIo, "accept loop gone", "ipc");
  }
  CCI_ASSIGN(answer, recv_json(kControlFd, 64 * 1024));
  if (answer.message.contains("error")) {
    const int status = answer.message.value("status", 500);
    return make_error(status == 401 || status == 403 ? ErrorCode::kVerificationFailed : ErrorCode::kInvalidInput,
                      std::string(answer.message.value("error", SecureString())), "status:" + std::to_string(status));
  }
  if (want_worker && !answer.fd.valid()) return make_error(ErrorCode::kInternal, "the accept loop sent no session", "ipc");
  bound_key_hash_ = key_hash;
  user_ = std::string(answer.message.value("user", SecureString()));
  return std::move(answer.fd);
}

// GET /v1/models needs a valid key (bound to this connection like any other) but no worker.
Status Connection::authenticate(const HttpRequest& req) {
  CCI_ASSIGN(hash, key_hash_of(req));
  if (bound_key_hash_) return {};
  return status_of(ask_for_user(hash, false));
}

// The session with this user's worker: asked from the accept loop on the first request, kept
// for the connection's life; a new one if the worker went away between requests.
Result<int> Connection::session_for(const HttpRequest& req) {
  CCI_ASSIGN(hash, key_hash_of(req));
  if (session_.valid()) {
    pollfd p{session_.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) == 0) return session_.get();
    session_.reset();  // the worker closed it (idle exit or crash): ask for a new one
  }
  CCI_SET(session_, ask_for_user(hash, true));
  return session_.get();
}

// Streams or collects the worker's answer. A worker that dies mid-request costs this request
// only: the client gets an error (502), and the next request gets a new worker.
bool Connection::relay(int session, const CompletionRequest& parsed, bool chat, bool keep_alive) {
  CompletionResult result;
  auto id = crypto::random_bytes(12);
  result.id = std::string(chat ? "chatcmpl-" : "cmpl-") + (id ? to_hex(*id) : "0");
  result.model = limits_.model;
  result.created = std::time(nullptr);
  bool first = true;
  auto write_head = [&] {
    WriteDeadline d(limits_.write_timeout);
    return static_cast<bool>(write_stream_head(tls_, 200, "text/event-stream", keep_alive));
  };
  auto chunk = [&](std::string_view data) {
    WriteDeadline d(limits_.write_timeout);
    return static_cast<bool>(write_chunk(tls_, data));
  };
  auto last_chunk = [&] {
    WriteDeadline d(limits_.write_timeout);
    return static_cast<bool>(write_last_chunk(tls_));
  };
  if (parsed.stream && !write_head()) return false;
  while (true) {
    auto frame = recv_json(session, 1u << 20);
    if (!frame) {
      session_.reset();
      log_event("conn", "worker_lost", {{"conn", g_conn_id}, {"user", user_}});
      const std::string message = "the inference worker stopped during this request; retry";
      if (!parsed.stream) return respond_error(502, message, "server_error", "worker", keep_alive);
      (void)chunk("data: " + error_body(message, "server_error", "worker") + "\n\n");
      (void)last_chunk();
      return false;
    }
    const auto& m = frame->message;
    const auto& t = m.value("t", SecureString());
    if (t == "delta") {
      const auto& text = m["text"].get_ref<const SecureString&>();
      if (parsed.stream) {
        SecureString event = stream_event(result, chat, std::string_view(text.data(), text.size()), first, false, false);
        first = false;
        if (!chunk(std::string_view(event.data(), event.size()))) return false;
        wipe(event);
      } else {
        result.text += text;
      }
    } else if (t == "error") {
      const int status = m.value("status", 500);
      const std::string message(m.value("message", SecureString()));
      const std::string param(m.value("param", SecureString()));
      if (!parsed.stream) return respond_error(status, message, status < 500 ? "invalid_request_error" : "server_error", param, keep_alive);
      (void)chunk("data: " + error_body(message, "server_error", param) + "\n\n");
      return last_chunk() && keep_alive;
    } else if (t == "done") {
      result.finish_reason = std::string(m.value("finish_reason", SecureString("stop")));
      result.prompt_tokens = m.value("prompt_tokens", std::int64_t{0});
      result.completion_tokens = m.value("completion_tokens", std::int64_t{0});
      log_event("conn", "completion", {{"conn", g_conn_id}, {"user", user_}, {"stream", parsed.stream}, {"completion_tokens", result.completion_tokens}});
      if (!parsed.stream) {
        HttpResponse r;
        r.body = completion_body(result, chat);
        wipe(result.text);
        WriteDeadline d(limits_.write_timeout);
        return static_cast<bool>(write_response(tls_, r, keep_alive)) && keep_alive;
      }
      SecureString last = stream_event(result, chat, {}, first, true, parsed.include_usage);
      bool ok = chunk(std::string_view(last.data(), last.size())) && chunk(stream_done()) && last_chunk();
      wipe(last);
      return ok && keep_alive;
    }
  }
}

bool Connection::completion(HttpRequest& req, bool chat) {
  auto parsed = parse_completion_request(std::string_view(req.body.data(), req.body.size()), chat, limits_.api);
  if (!parsed) return respond_error(400, parsed.error().message, "invalid_request_error", parsed.error().field, req.keep_alive);
  if (!parsed->model.empty() && parsed->model != limits_.model) {
    return respond_error(404, "this server serves the model '" + limits_.model + "'", "invalid_request_error", "model", req.keep_alive);
  }
  auto session = session_for(req);
  if (!session) {
    const auto& f = session.error().field;
    const int status = f.rfind("status:", 0) == 0 ? std::stoi(f.substr(7)) : session.error().code == ErrorCode::kVerificationFailed ? 401 : 500;
    return respond_error(status, session.error().message, status == 401 ? "authentication_error" : "invalid_request_error", "authorization", req.keep_alive);
  }
  SecureString frame(1, chat ? 'C' : 'T');
  frame += req.body;
  wipe(req.body);
  const bool sent = static_cast<bool>(send_frame(*session, std::string_view(frame.data(), frame.size())));
  wipe(frame);
  if (!sent) {
    session_.reset();
    return respond_error(502, "the inference worker is gone; retry", "server_error", "worker", req.keep_alive);
  }
  const bool keep = relay(*session, *parsed, chat, req.keep_alive);
  wipe(parsed->prompt);
  return keep;
}

// The routes this server knows, as logged; anything else is "other".
std::string route_name(const std::string& path) {
  for (const char* r : {"/health", "/v1/models", "/v1/completions", "/v1/chat/completions", "/v1/attestation/certificate",
                        "/v1/attestation/fresh", "/v1/attestation/manifest"}) {
    if (path == r) return r;
  }
  return "other";
}

std::string known_method(const std::string& m) {
  for (const char* k : {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    if (m == k) return m;
  }
  return "other";
}

bool Connection::handle(HttpRequest& req) {
  std::string path = req.target.substr(0, req.target.find('?'));
  // The log names the route, never what the client wrote: an unknown path is "other".
  log_event("conn", "request", {{"conn", g_conn_id}, {"method", known_method(req.method)}, {"route", route_name(path)}});
  if (path == "/health" && req.method == "GET") return respond(200, R"({"status":"ok"})", req.keep_alive);
  if (path == "/v1/attestation/certificate" && req.method == "GET") return respond(200, cert_.pem(), req.keep_alive, "application/x-pem-file");
  if (path == "/v1/attestation/fresh" && req.method == "POST") return fresh_evidence(req);
  if (path == "/v1/attestation/manifest" && req.method == "GET") return manifest(req);
  if (path == "/v1/models" && req.method == "GET") {
    if (auto st = authenticate(req); !st) return respond_error(401, st.error().message, "authentication_error", "authorization", req.keep_alive);
    return respond(200, models_body(limits_.model, limits_.created), req.keep_alive);
  }
  if (path == "/v1/completions" && req.method == "POST") return completion(req, false);
  if (path == "/v1/chat/completions" && req.method == "POST") return completion(req, true);
  const bool known = path == "/health" || path == "/v1/models" || path == "/v1/completions" || path == "/v1/chat/completions" ||
                     path.rfind("/v1/attestation/", 0) == 0;
  return respond_error(known ? 405 : 404, known ? "method not allowed" : "no such endpoint", "invalid_request_error", "path", req.keep_alive);
}

void Connection::run() {
  bool first = true;
  while (true) {
    set_deadline(first ? limits_.request_timeout : limits_.keepalive_timeout);
    // The keep-alive wait ends at the first byte; the request then has request_timeout.
    if (!first && !reader_.has_buffered_data()) {
      pollfd p{kClientFd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(limits_.keepalive_timeout * 1000)) <= 0) break;
      set_deadline(limits_.request_timeout);
    }
    first = false;
    auto req = reader_.next();
    set_deadline(0);
    if (!req) {
      const auto& f = req.error().field;
      const int status = f == "body-limit" ? 413 : f == "header-limit" ? 431 : f == "http" ? 400 : 0;
      if (status) respond_error(status, req.error().message, "invalid_request_error", f, false);
      else log_event("conn", "client_error", {{"conn", g_conn_id}, {"error", "read failed or timed out"}});
      break;
    }
    if (!*req) break;  // closed between requests
    if (!handle(**req)) break;
    wipe((*req)->body);
    wipe((*req)->authorization);
  }
  tls_.close_gracefully(1.0);
}

int conn_main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--conn-id") == 0) g_conn_id = std::atoi(argv[i + 1]);
  }
  ::signal(SIGPIPE, SIG_IGN);
  if (!harden_process()) return 4;
  auto init = recv_json(kControlFd, 1u << 20);
  if (!init) return 4;
  auto& m = init->message;
  const auto& key_pem = m["key_pem"].get_ref<const SecureString&>();
  auto key = crypto::load_private_key_pem(as_bytes(std::string_view(key_pem.data(), key_pem.size())), std::nullopt);
  const auto& cert_pem = m["cert_pem"].get_ref<const SecureString&>();
  auto cert = crypto::Certificate::from_pem(as_bytes(std::string_view(cert_pem.data(), cert_pem.size())));
  if (!key || !cert) return 4;
  auto attested = ratls::read_attested_certificate(*cert, std::time(nullptr));
  if (!attested) return 4;
  ConnLimits limits;
  limits.model = std::string(m.value("model", SecureString("model")));
  limits.created = m.value("created", std::int64_t{0});
  limits.http.max_body_bytes = m.value("max_body_bytes", size_t{1} << 20);
  limits.api.max_prompt_bytes = m.value("max_prompt_bytes", size_t{64} * 1024);
  limits.api.max_tokens = m.value("max_tokens", std::int64_t{512});
  limits.handshake_timeout = m.value("handshake_timeout", 5.0);
  limits.request_timeout = m.value("request_timeout", 10.0);
  limits.keepalive_timeout = m.value("keepalive_timeout", 30.0);
  limits.write_timeout = m.value("write_timeout", 30.0);
  auto ctx = make_server_context(*key, *cert);
  if (!ctx) return 4;
  init->message = SecureJson();  // wipes the key's PEM
  struct sigaction sa {};
  sa.sa_handler = on_deadline;
  ::sigaction(SIGALRM, &sa, nullptr);
  if (auto st = apply_syscall_allow_list(SandboxProfile::kConnection); !st) {
    log_event("conn", "sandbox_failed", {{"error", st.error().message}});
    return 4;
  }
  set_deadline(limits.handshake_timeout);
  auto tls = TlsConnection::accept(ctx->get(), kClientFd);
  set_deadline(0);
  if (!tls) {
    log_event("conn", "handshake_failed", {{"conn", g_conn_id}, {"error", tls.error().message}});
    return 1;
  }
  Connection c(**tls, limits, *cert, attested->claims);
  c.run();
  return 0;
}

}  // namespace
}  // namespace cci::serve

int main(int argc, char** argv) { return cci::serve::conn_main(argc, argv); }
