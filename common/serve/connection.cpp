#include "serve/connection.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
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
#include "serve/metrics.h"
#include "serve/openai_api.h"
#include "serve/sandbox.h"

namespace cci::serve {
namespace {

constexpr int kClientFd = 3, kControlFd = 4, kManifestFd = 5;
// The client socket the deadline shuts down (a signal handler sees only globals).
volatile int g_deadline_fd = -1;

void on_deadline(int) {
  if (g_deadline_fd >= 0) ::shutdown(g_deadline_fd, SHUT_RDWR);
}

void set_deadline(double seconds) { ::alarm(seconds > 0 ? static_cast<unsigned>(std::ceil(seconds)) : 0); }

struct ConnLimits {
  HttpLimits http;
  ApiLimits api;
  double handshake_timeout = 5, request_timeout = 10, keepalive_timeout = 30, write_timeout = 30;
  std::string model;
  std::int64_t created = 0;
  bool metrics_open = false;
};

ConnLimits limits_of(const msg::ConnInit& m) {
  ConnLimits l;
  l.model = m.model;
  l.created = m.created;
  l.http.max_body_bytes = m.max_body_bytes;
  l.api.max_prompt_bytes = m.max_prompt_bytes;
  l.api.max_tokens = m.max_tokens;
  l.handshake_timeout = m.handshake_timeout;
  l.request_timeout = m.request_timeout;
  l.keepalive_timeout = m.keepalive_timeout;
  l.write_timeout = m.write_timeout;
  l.metrics_open = m.metrics_open;
  return l;
}

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
  Connection(TlsConnection& tls, const ConnLimits& limits, const crypto::Certificate& cert, ratls::Claims claims, const ConnectionIo& io)
      : tls_(tls), reader_(tls, limits.http), limits_(limits), cert_(cert), claims_(std::move(claims)), io_(io) {}
  void run();

 private:
  bool handle(HttpRequest& req);  // false: close the connection
  bool dispatch(HttpRequest& req, const std::string& path);
  bool metrics(const HttpRequest& req);
  bool respond(int status, std::string body, bool keep_alive, const std::string& content_type = "application/json");
  bool respond_error(int status, const std::string& message, const std::string& type, const std::string& param, bool keep_alive);
  bool respond_refusal(const msg::Refusal& r, bool keep_alive);  // an authentication or session refusal
  bool fresh_evidence(const HttpRequest& req);
  bool manifest(const HttpRequest& req);
  bool model_key(const HttpRequest& req);
  // One request to the accept loop and its answer. A refusal, or an answer that does not decode,
  // is answered to the client here: then nullopt, and `keep` says whether the connection stays.
  std::optional<msg::ConnAnswer> ask_accept_loop(msg::ConnRequest r, size_t max_answer, const HttpRequest& req, const std::string& param,
                                                 const std::string& refusal_type, bool& keep);
  bool completion(HttpRequest& req, bool chat);
  // The user's session socket, or the accept loop's (or our own) refusal with its HTTP status.
  struct Granted {
    int session = -1;
    std::optional<msg::Refusal> refused;
  };
  Granted session_for(const HttpRequest& req);
  std::optional<msg::Refusal> authenticate(const HttpRequest& req);
  Result<Bytes> key_hash_of(const HttpRequest& req) const;
  Result<std::pair<std::optional<msg::Refusal>, UniqueFd>> ask_for_user(const Bytes& key_hash, bool want_worker);
  bool relay(int session, const CompletionRequest& parsed, bool chat, bool keep_alive);

  TlsConnection& tls_;
  HttpReader reader_;
  const ConnLimits& limits_;
  const crypto::Certificate& cert_;
  ratls::Claims claims_;
  const ConnectionIo& io_;
  UniqueFd session_;
  std::optional<Bytes> bound_key_hash_;
  std::string user_;
  // The request being answered, for /metrics: its start, the status sent, its first token and usage.
  std::chrono::steady_clock::time_point started_;
  msg::RequestDone done_;
};

bool Connection::respond(int status, std::string body, bool keep_alive, const std::string& content_type) {
  HttpResponse r;
  r.status = status;
  done_.status = status;
  r.content_type = content_type;
  r.body.assign(body.begin(), body.end());
  WriteDeadline d(limits_.write_timeout);
  return static_cast<bool>(write_response(tls_, r, keep_alive)) && keep_alive;
}

// GET /v1/attestation/manifest: the signed manifest whose SHA-256 the attested claims carry, so a
// client needs only this URL and the release key (cci-verify remote).
bool Connection::manifest(const HttpRequest& req) {
  auto bytes = read_fd(io_.manifest_fd, "manifest", 64u << 20);
  if (!bytes) return respond_error(500, "the signed manifest is unavailable", "server_error", "manifest", false);
  return respond(200, std::string(bytes->begin(), bytes->end()), req.keep_alive);
}

bool Connection::respond_refusal(const msg::Refusal& r, bool keep_alive) {
  return respond_error(r.status, r.message, r.status == 401 ? "authentication_error" : "invalid_request_error", "authorization", keep_alive);
}

bool Connection::respond_error(int status, const std::string& message, const std::string& type, const std::string& param, bool keep_alive) {
  log_event("conn", "request_error", {{"conn", io_.conn_id}, {"status", status}, {"param", param}});
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
  bool keep = false;
  auto answer = ask_accept_loop(msg::EvidenceRequest{base64_encode(*claims).c_str()}, 1u << 20, req, "evidence", "server_error", keep);
  if (!answer) return keep;
  const auto* e = std::get_if<msg::EvidenceAnswer>(&*answer);
  if (!e) return respond_error(500, "the accept loop sent no evidence", "server_error", "evidence", false);
  nlohmann::json body{{"evidence", e->evidence_b64}, {"format", "cci-ratls-v1"}};
  if (!e->gpu_b64.empty()) body["gpu_evidence"] = e->gpu_b64;  // the NVIDIA SDK's JSON, base64; its SHA-256 is the cci-gpu claim
  log_event("conn", "fresh_evidence", {{"conn", io_.conn_id}});
  return respond(200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), req.keep_alive);
}

std::optional<msg::ConnAnswer> Connection::ask_accept_loop(msg::ConnRequest r, size_t max_answer, const HttpRequest& req, const std::string& param,
                                                           const std::string& refusal_type, bool& keep) {
  keep = false;
  if (!send_json(io_.control_fd, msg::encode(r))) return std::nullopt;
  auto answer = recv_json(io_.control_fd, max_answer);
  if (!answer) return std::nullopt;
  auto decoded = msg::decode_conn_answer(answer->message);
  if (!decoded) {
    respond_error(500, decoded.error().message, "server_error", param, false);
    return std::nullopt;
  }
  if (const auto* refused = std::get_if<msg::Refusal>(&*decoded)) {
    keep = respond_error(refused->status, refused->message, refusal_type, param, req.keep_alive);
    return std::nullopt;
  }
  return std::move(*decoded);
}

// POST /v1/attestation/model-key {"key": base64, "binding": hex}: the model owner's key, after it
// verified this server on this very connection (the binding is this connection's exporter for
// ratls::kModelKeyExporterLabel). The accept loop decrypts and checks the model, then answers.
// The key stays in wiped memory and is never logged.
bool Connection::model_key(const HttpRequest& req) {
  const SecureJson j = SecureJson::parse(req.body.begin(), req.body.end(), nullptr, false);
  if (!j.is_object() || !j.contains("key") || !j["key"].is_string() || !j.contains("binding") || !j["binding"].is_string()) {
    return respond_error(400, "the body must be {\"key\": base64 of 32 bytes, \"binding\": 64 hex digits}", "invalid_request_error", "key", req.keep_alive);
  }
  const auto& binding_hex = j["binding"].get_ref<const SecureString&>();
  auto binding = from_hex(std::string_view(binding_hex.data(), binding_hex.size()), "binding", ratls::kExporterBytes);
  auto exporter = tls_.exporter(ratls::kModelKeyExporterLabel, {}, ratls::kExporterBytes);
  if (!exporter) return respond_error(500, exporter.error().message, "server_error", "tls", false);
  if (!binding || !crypto::ct_equal(*binding, *exporter)) {
    return respond_error(403, "the key's binding is not this TLS connection's exporter value: send the key on the connection you verified",
                         "invalid_request_error", "binding", req.keep_alive);
  }
  msg::ModelKeyOffer offer;
  offer.key_b64 = j["key"].get<SecureString>();
  bool keep = false;
  auto answer = ask_accept_loop(std::move(offer), 64 * 1024, req, "key", "invalid_request_error", keep);
  if (!answer) return keep;
  const auto* k = std::get_if<msg::KeyAccepted>(&*answer);
  if (!k) return respond_error(500, "the accept loop did not answer the key", "server_error", "key", false);
  log_event("conn", "model_key_accepted", {{"conn", io_.conn_id}});
  nlohmann::json body{{"status", "provisioned"}, {"files", k->files}, {"seconds", k->seconds}};
  return respond(200, body.dump(), req.keep_alive);
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
Result<std::pair<std::optional<msg::Refusal>, UniqueFd>> Connection::ask_for_user(const Bytes& key_hash, bool want_worker) {
  msg::SessionRequest s;
  const std::string hex = to_hex(key_hash);
  s.key_sha256_hex.assign(hex.begin(), hex.end());
  s.want_worker = want_worker;
  if (!send_json(io_.control_fd, msg::encode(msg::ConnRequest(std::move(s))))) return make_error(ErrorCode::kIo, "accept loop gone", "ipc");
  CCI_ASSIGN(answer, recv_json(io_.control_fd, 64 * 1024));
  CCI_ASSIGN(decoded, msg::decode_conn_answer(answer.message));
  if (auto* r = std::get_if<msg::Refusal>(&decoded)) return std::make_pair(std::optional<msg::Refusal>(std::move(*r)), UniqueFd());
  const auto* granted = std::get_if<msg::SessionGranted>(&decoded);
  if (!granted) return make_error(ErrorCode::kInternal, "the accept loop answered a session request with evidence", "ipc");
  if (want_worker && !answer.fd.valid()) return make_error(ErrorCode::kInternal, "the accept loop sent no session", "ipc");
  bound_key_hash_ = key_hash;
  user_ = granted->user;
  return std::make_pair(std::optional<msg::Refusal>(), std::move(answer.fd));
}

// GET /v1/models needs a valid key (bound to this connection like any other) but no worker.
std::optional<msg::Refusal> Connection::authenticate(const HttpRequest& req) {
  auto hash = key_hash_of(req);
  if (!hash) return msg::Refusal{401, hash.error().message};
  if (bound_key_hash_) return std::nullopt;
  auto answer = ask_for_user(*hash, false);
  if (!answer) return msg::Refusal{500, answer.error().message};
  return answer->first;
}

// The session with this user's worker: asked from the accept loop on the first request, kept
// for the connection's life; a new one if the worker went away between requests.
Connection::Granted Connection::session_for(const HttpRequest& req) {
  auto hash = key_hash_of(req);
  if (!hash) return {-1, msg::Refusal{401, hash.error().message}};
  if (session_.valid()) {
    pollfd p{session_.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) == 0) return {session_.get(), std::nullopt};
    session_.reset();  // the worker closed it (idle exit or crash): ask for a new one
  }
  auto answer = ask_for_user(*hash, true);
  if (!answer) return {-1, msg::Refusal{500, answer.error().message}};
  if (answer->first) return {-1, answer->first};
  session_ = std::move(answer->second);
  return {session_.get(), std::nullopt};
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
    done_.status = 200;
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
      log_event("conn", "worker_lost", {{"conn", io_.conn_id}, {"user", user_}});
      const std::string message = "the inference worker stopped during this request; retry";
      if (!parsed.stream) return respond_error(502, message, "server_error", "worker", keep_alive);
      (void)chunk("data: " + error_body(message, "server_error", "worker") + "\n\n");
      (void)last_chunk();
      return false;
    }
    auto event = msg::decode_session_event(frame->message);
    if (!event) {
      session_.reset();
      log_event("conn", "worker_protocol_error", {{"conn", io_.conn_id}, {"field", event.error().field}});
      if (!parsed.stream) return respond_error(502, "the inference worker answered out of protocol", "server_error", "worker", false);
      return false;
    }
    if (event->kind == msg::SessionEvent::Kind::kDelta) {
      if (done_.first_token_seconds < 0) done_.first_token_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
      const auto& text = event->text;
      if (parsed.stream) {
        SecureString out = stream_event(result, chat, std::string_view(text.data(), text.size()), first, false, false);
        first = false;
        if (!chunk(std::string_view(out.data(), out.size()))) return false;
        wipe(out);
      } else {
        result.text += text;
      }
      wipe(event->text);
    } else if (event->kind == msg::SessionEvent::Kind::kError) {
      const int status = event->status;
      if (!parsed.stream) return respond_error(status, event->message, status < 500 ? "invalid_request_error" : "server_error", event->param, keep_alive);
      (void)chunk("data: " + error_body(event->message, "server_error", event->param) + "\n\n");
      return last_chunk() && keep_alive;
    } else {
      result.finish_reason = event->finish_reason;
      result.prompt_tokens = event->prompt_tokens;
      result.completion_tokens = event->completion_tokens;
      done_.prompt_tokens = result.prompt_tokens;
      done_.completion_tokens = result.completion_tokens;
      log_event("conn", "completion", {{"conn", io_.conn_id}, {"user", user_}, {"stream", parsed.stream}, {"completion_tokens", result.completion_tokens}});
      if (!parsed.stream) {
        HttpResponse r;
        done_.status = r.status;
        r.body = completion_body(result, chat);
        wipe(result.text);
        WriteDeadline d(limits_.write_timeout);
        return static_cast<bool>(write_response(tls_, r, keep_alive)) && keep_alive;
      }
      // The final event, [DONE] and the end of the body in one write (one record, one wake-up).
      SecureString last = stream_event(result, chat, {}, first, true, parsed.include_usage);
      last += stream_done();
      WriteDeadline d(limits_.write_timeout);
      const bool ok = static_cast<bool>(write_chunk(tls_, std::string_view(last.data(), last.size()), true));
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
  const auto granted = session_for(req);
  if (granted.refused) return respond_refusal(*granted.refused, req.keep_alive);
  const int session = granted.session;
  SecureString frame(1, chat ? 'C' : 'T');
  frame += req.body;
  wipe(req.body);
  const bool sent = static_cast<bool>(send_frame(session, std::string_view(frame.data(), frame.size())));
  wipe(frame);
  if (!sent) {
    session_.reset();
    return respond_error(502, "the inference worker is gone; retry", "server_error", "worker", req.keep_alive);
  }
  const bool keep = relay(session, *parsed, chat, req.keep_alive);
  wipe(parsed->prompt);
  return keep;
}

std::string known_method(const std::string& m) {
  for (const char* k : {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    if (m == k) return m;
  }
  return "other";
}

// GET /metrics: counts and latencies from the accept loop (serve/metrics.h). Without an API key
// only when the server listens on loopback; otherwise any valid key, like GET /v1/models.
bool Connection::metrics(const HttpRequest& req) {
  if (!limits_.metrics_open) {
    if (auto refused = authenticate(req)) return respond_refusal(*refused, req.keep_alive);
  }
  if (!send_json(io_.control_fd, msg::encode(msg::ConnRequest(msg::MetricsRequest{})))) return false;
  auto answer = recv_json(io_.control_fd, 4u << 20);
  if (!answer) return false;
  auto decoded = msg::decode_conn_answer(answer->message);
  const auto* m = decoded ? std::get_if<msg::MetricsAnswer>(&*decoded) : nullptr;
  if (!m) return respond_error(500, "the accept loop sent no metrics", "server_error", "metrics", false);
  return respond(200, m->text, req.keep_alive, "text/plain; version=0.0.4; charset=utf-8");
}

bool Connection::handle(HttpRequest& req) {
  std::string path = req.target.substr(0, req.target.find('?'));
  // The log names the route, never what the client wrote: an unknown path is "other".
  log_event("conn", "request", {{"conn", io_.conn_id}, {"method", known_method(req.method)}, {"route", route_label(path)}});
  started_ = std::chrono::steady_clock::now();
  done_ = msg::RequestDone{};
  done_.route = route_label(path);
  const bool keep = dispatch(req, path);
  done_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  // Counted only once an answer was begun; a client gone before that is not a request answered.
  if (done_.status != 0) (void)send_json(io_.control_fd, msg::encode(msg::ConnRequest(done_)));
  return keep;
}

bool Connection::dispatch(HttpRequest& req, const std::string& path) {
  if (path == "/health" && req.method == "GET") return respond(200, R"({"status":"ok"})", req.keep_alive);
  if (path == "/metrics" && req.method == "GET") return metrics(req);
  if (path == "/v1/attestation/certificate" && req.method == "GET") return respond(200, cert_.pem(), req.keep_alive, "application/x-pem-file");
  if (path == "/v1/attestation/fresh" && req.method == "POST") return fresh_evidence(req);
  if (path == "/v1/attestation/manifest" && req.method == "GET") return manifest(req);
  if (path == "/v1/attestation/model-key" && req.method == "POST") return model_key(req);
  if (path == "/v1/models" && req.method == "GET") {
    if (auto refused = authenticate(req)) return respond_refusal(*refused, req.keep_alive);
    return respond(200, models_body(limits_.model, limits_.created), req.keep_alive);
  }
  if (path == "/v1/completions" && req.method == "POST") return completion(req, false);
  if (path == "/v1/chat/completions" && req.method == "POST") return completion(req, true);
  const bool known = route_label(path) != "other" || path.rfind("/v1/attestation/", 0) == 0;
  return respond_error(known ? 405 : 404, known ? "method not allowed" : "no such endpoint", "invalid_request_error", "path", req.keep_alive);
}

void Connection::run() {
  bool first = true;
  while (true) {
    set_deadline(first ? limits_.request_timeout : limits_.keepalive_timeout);
    // The keep-alive wait ends at the first byte; the request then has request_timeout.
    if (!first && !reader_.has_buffered_data()) {
      pollfd p{io_.client_fd, POLLIN, 0};
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
      else log_event("conn", "client_error", {{"conn", io_.conn_id}, {"error", "read failed or timed out"}});
      break;
    }
    if (!*req) break;  // closed between requests
    if (!handle(**req)) break;
    wipe((*req)->body);
    wipe((*req)->authorization);
  }
  tls_.close_gracefully(1.0);
}

}  // namespace

void serve_connection(TlsConnection& tls, const msg::ConnInit& init, const crypto::Certificate& cert, const ratls::Claims& claims, const ConnectionIo& io) {
  struct sigaction sa {};
  sa.sa_handler = on_deadline;
  ::sigaction(SIGALRM, &sa, nullptr);
  g_deadline_fd = io.client_fd;
  const ConnLimits limits = limits_of(init);
  Connection c(tls, limits, cert, claims, io);
  c.run();
  set_deadline(0);
  g_deadline_fd = -1;
}

int connection_process(int argc, char** argv) {
  ConnectionIo io{kClientFd, kControlFd, kManifestFd, 0};
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--conn-id") == 0) io.conn_id = std::atoi(argv[i + 1]);
  }
  ::signal(SIGPIPE, SIG_IGN);
  if (!harden_process()) return 4;
  auto frame = recv_json(kControlFd, 1u << 20);
  if (!frame) return 4;
  auto init = msg::decode_conn_init(frame->message);
  frame->message = SecureJson();  // wipes the key's PEM
  if (!init) return 4;
  auto key = crypto::load_private_key_pem(as_bytes(std::string_view(init->key_pem.data(), init->key_pem.size())), std::nullopt);
  wipe(init->key_pem);
  auto cert = crypto::Certificate::from_pem(as_bytes(init->cert_pem));
  if (!key || !cert) return 4;
  auto attested = ratls::read_attested_certificate(*cert, std::time(nullptr));
  if (!attested) return 4;
  auto ctx = crypto::TlsContext::server(*key, *cert);
  if (!ctx) return 4;
  struct sigaction sa {};
  sa.sa_handler = on_deadline;
  ::sigaction(SIGALRM, &sa, nullptr);
  if (auto st = apply_syscall_allow_list(SandboxProfile::kConnection); !st) {
    log_event("conn", "sandbox_failed", {{"error", st.error().message}});
    return 4;
  }
  g_deadline_fd = kClientFd;
  set_deadline(init->handshake_timeout);
  auto tls = TlsConnection::accept(*ctx, kClientFd);
  set_deadline(0);
  if (!tls) {
    log_event("conn", "handshake_failed", {{"conn", io.conn_id}, {"error", tls.error().message}});
    return 1;
  }
  serve_connection(**tls, *init, *cert, attested->claims, io);
  return 0;
}

}  // namespace cci::serve
