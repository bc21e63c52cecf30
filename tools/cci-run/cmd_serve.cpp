// cci-run serve: the accept loop of the attested inference server (specs/ratls-isolation.md §3.5,
// §4). It checks the deployment at start (manifest signature, every weight file), holds the TLS
// key (made here, never written) and the TEE, and never sees plaintext:
//   - each TCP connection goes, unread, to its own exec'd cci-run-conn process, which terminates
//     TLS 1.3, speaks HTTP and serves exactly one user;
//   - each user gets an exec'd worker (cci-run serve-worker) that holds the model and that user's
//     prompts, outputs and KV cache; a worker never serves another user;
//   - a connection process asks here for fresh evidence (claims in, evidence out) and for a session
//     with its user's worker (an API-key hash in, a socket to the worker out).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <thread>

#include "attested_identity.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "commands.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "model_loading.h"
#include "ratls/fresh.h"
#include "serve/api_keys.h"
#include "serve/ipc.h"
#include "serve/log.h"
#include "serve/spawn.h"
#include "serve/tls.h"

namespace cci::tools::run {
namespace {

using Clock = std::chrono::steady_clock;
using serve::log_event;
using serve::SecureJson;

struct ServeCliOptions {
  attest::SourceOptions source;
  std::string model, manifest, release_key, api_keys, listen = "127.0.0.1:8443", ready_file, deploy, model_id;
  std::vector<std::string> dns;
  int max_connections = 64, max_users = 16, max_user_connections = 4, threads = 0, max_fresh = 16;
  std::int64_t max_tokens = 512, context = 0;
  size_t max_body_bytes = 1u << 20, max_prompt_bytes = 64u * 1024;
  double request_timeout = 10, keepalive_timeout = 30, idle_timeout = 300, cert_hours = 24;
};

Result<std::pair<std::string, std::string>> split_host_port(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return make_error(ErrorCode::kUsage, "--listen takes HOST:PORT, e.g. 127.0.0.1:8443", "listen");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return std::make_pair(host, listen.substr(colon + 1));
}

// A listening TCP socket on `listen` (port 0: any free port); returns it and the bound port.
Result<std::pair<UniqueFd, int>> listen_on(const std::string& listen) {
  CCI_ASSIGN(hp, split_host_port(listen));
  sockaddr_storage ss{};
  socklen_t len = 0;
  char* end = nullptr;
  const long port = std::strtol(hp.second.c_str(), &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) return make_error(ErrorCode::kUsage, "--listen port must be 0-65535", "listen");
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, hp.first.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof(*v4);
  } else if (::inet_pton(AF_INET6, hp.first.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof(*v6);
  } else {
    return make_error(ErrorCode::kUsage, "--listen host must be a numeric IPv4 or IPv6 address, not '" + hp.first + "'", "listen");
  }
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return make_error(ErrorCode::kIo, std::string("socket: ") + std::strerror(errno), "listen");
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return make_error(ErrorCode::kIo, "cannot listen on " + listen + ": " + std::strerror(errno), "listen");
  if (::listen(fd.get(), 128) != 0) return make_error(ErrorCode::kIo, std::string("listen: ") + std::strerror(errno), "listen");
  sockaddr_storage bound{};
  socklen_t blen = sizeof(bound);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
  const int bound_port = bound.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port) : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return std::make_pair(std::move(fd), bound_port);
}

struct ConnProc {
  int id = 0;
  pid_t pid = -1;
  UniqueFd ctl;
  std::optional<std::string> user;  // bound at the first session; never changes
  int fresh_answers = 0;
};

struct WorkerProc {
  pid_t pid = -1;
  UniqueFd ctl;
  std::string user;
  bool busy = false, retiring = false;
  Clock::time_point idle_since = Clock::now();
};

class AcceptLoop {
 public:
  AcceptLoop(const ServeCliOptions& o, const cli::Context& ctx) : o_(o), ctx_(ctx) {}

  int run();

 private:
  Status start_up();
  Status issue_certificate();
  Status write_ready_file(int port);
  void accept_connection();
  void on_conn_message(ConnProc& c);
  void answer_evidence(ConnProc& c, const SecureJson& m);
  void answer_session(ConnProc& c, const SecureJson& m);
  Result<WorkerProc*> worker_for(const std::string& user);
  void on_worker_message(WorkerProc& w);
  void reap_children();
  void retire_idle_workers();
  void shut_down();
  void reply_error(ConnProc& c, int status, const std::string& message);

  const ServeCliOptions& o_;
  const cli::Context& ctx_;
  std::unique_ptr<attest::EvidenceSource> source_;
  std::optional<crypto::PrivateKey> key_;
  std::optional<crypto::Certificate> cert_;
  std::time_t cert_not_after_ = 0;
  Bytes manifest_;
  ratls::Claims claims_;
  std::optional<serve::ApiKeys> keys_;
  UniqueFd listen_fd_, signal_fd_;
  std::vector<std::unique_ptr<ConnProc>> conns_;
  std::vector<std::unique_ptr<WorkerProc>> workers_;
  int next_conn_id_ = 1;
  std::string conn_exe_, self_exe_;
  bool stopping_ = false;
};

Status AcceptLoop::start_up() {
  // 1. The deployment: manifest signature, then every weight file against it.
  const auto t0 = Clock::now();
  auto model = load_signed_model(o_.model, o_.manifest, o_.release_key);
  const double verify_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!model) return make_error(model.error().code, "refusing to serve: " + model.error().message, model.error().field);
  CCI_SET(manifest_, read_file(o_.manifest, 64u << 20));
  CCI_ASSIGN(keys, serve::ApiKeys::load(o_.api_keys));
  if (keys.entries().empty()) return make_error(ErrorCode::kUsage, o_.api_keys + " has no users: add one with cci-run keys add", "api-keys");
  keys_ = std::move(keys);
  // 2. The TEE, a key made here, and the attested certificate.
  CCI_SET(source_, open_evidence_source(o_.source, ctx_));
  CCI_ASSIGN(key, crypto::generate_key(crypto::KeyType::kEcP384));
  key_ = std::move(key);
  claims_ = identity_claims(*key_, manifest_, "tls-server", o_.deploy);
  CCI_TRY(issue_certificate());
  conn_exe_ = serve::own_executable_dir() + "/cci-run-conn";
  self_exe_ = serve::own_executable();
  if (::access(conn_exe_.c_str(), X_OK) != 0) return make_error(ErrorCode::kIo, "the connection helper " + conn_exe_ + " is missing", "cci-run-conn");
  log_event("accept", "model_verified", {{"model", o_.model}, {"tensors", model->weights ? model->weights->tensors.size() : 0}, {"seconds", verify_seconds}});
  return {};
}

Status AcceptLoop::issue_certificate() {
  ratls::AttestedCertSpec spec;
  spec.common_name = "cci-run serve";
  spec.dns_names = o_.dns;
  if (spec.dns_names.empty()) spec.dns_names.push_back("localhost");
  spec.not_before = std::time(nullptr) - 60;
  spec.not_after = spec.not_before + static_cast<std::time_t>(o_.cert_hours * 3600);
  CCI_ASSIGN(issued, issue_attested_certificate(*source_, *key_, claims_, spec));
  for (const auto& w : issued.warnings) ctx_.warn(w);
  cert_ = std::move(issued.cert);
  cert_not_after_ = spec.not_after;
  log_event("accept", "certificate_issued", {{"tee", issued.tee}, {"simulated", issued.simulated}, {"pin", serve::public_key_pin(*cert_)}});
  return {};
}

Status AcceptLoop::write_ready_file(int port) {
  if (o_.ready_file.empty()) return {};
  auto hp = split_host_port(o_.listen);
  std::string host = hp->first.find(':') != std::string::npos ? "[" + hp->first + "]" : hp->first;
  cli::Json j{{"url", "https://" + host + ":" + std::to_string(port)}, {"pin", serve::public_key_pin(*cert_)}, {"pid", ::getpid()}};
  const std::string text = j.dump(2) + "\n";
  return write_file_atomic(o_.ready_file, as_bytes(text));
}

void AcceptLoop::accept_connection() {
  UniqueFd tcp(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!tcp.valid()) return;
  // Streamed tokens are small writes: without TCP_NODELAY, Nagle's algorithm holds each one
  // until the client's delayed ACK (40 ms) and the first token arrives that much later.
  const int one = 1;
  ::setsockopt(tcp.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (stopping_ || static_cast<int>(conns_.size()) >= o_.max_connections) {
    log_event("accept", "connection_refused", {{"reason", "max-connections"}, {"limit", o_.max_connections}});
    return;
  }
  auto pair = serve::socket_pair();
  if (!pair) return;
  auto c = std::make_unique<ConnProc>();
  c->id = next_conn_id_++;
  auto pid = serve::spawn_process(conn_exe_, {"--conn-id", std::to_string(c->id)}, {{tcp.get(), 3}, {pair->second.get(), 4}});
  if (!pid) {
    log_event("accept", "spawn_failed", {{"role", "conn"}, {"error", pid.error().message}});
    return;
  }
  c->pid = *pid;
  c->ctl = std::move(pair->first);
  auto pem = key_->pem(std::nullopt);
  if (!pem) return;
  SecureJson init{{"key_pem", SecureString(pem->begin(), pem->end())},
                  {"cert_pem", cert_->pem()},
                  {"model", o_.model_id},
                  {"created", static_cast<std::int64_t>(std::time(nullptr))},
                  {"max_body_bytes", o_.max_body_bytes},
                  {"max_prompt_bytes", o_.max_prompt_bytes},
                  {"max_tokens", o_.max_tokens},
                  {"request_timeout", o_.request_timeout},
                  {"keepalive_timeout", o_.keepalive_timeout}};
  crypto::secure_clear(pem->data(), pem->size());
  if (auto st = serve::send_json(c->ctl.get(), init); !st) {
    log_event("accept", "conn_init_failed", {{"conn", c->id}, {"error", st.error().message}});
    ::kill(c->pid, SIGKILL);
  }
  log_event("accept", "connection", {{"conn", c->id}, {"conn_pid", c->pid}});
  conns_.push_back(std::move(c));
}

void AcceptLoop::reply_error(ConnProc& c, int status, const std::string& message) {
  (void)serve::send_json(c.ctl.get(), SecureJson{{"error", message}, {"status", status}});
}

void AcceptLoop::answer_evidence(ConnProc& c, const SecureJson& m) {
  if (++c.fresh_answers > o_.max_fresh) return reply_error(c, 429, "at most " + std::to_string(o_.max_fresh) + " fresh evidence answers per connection");
  if (!m.contains("claims") || !m["claims"].is_string()) return reply_error(c, 400, "evidence request without claims");
  const auto& b64 = m["claims"].get_ref<const SecureString&>();
  auto cbor = base64_decode(std::string_view(b64.data(), b64.size()), "claims");
  if (!cbor) return reply_error(c, 400, cbor.error().message);
  auto claims = ratls::decode_claims(*cbor);
  if (!claims) return reply_error(c, 400, claims.error().message);
  // Fresh claims must repeat ours and add a nonce and an exporter value: nothing else gets signed.
  if (!claims->nonce || !claims->exporter) return reply_error(c, 400, "fresh claims need a nonce and an exporter value");
  if (auto st = ratls::check_fresh_claims(*claims, claims_, *claims->nonce, *claims->exporter); !st) return reply_error(c, 400, st.error().message);
  auto tagged = tagged_evidence_for(*source_, *cbor);
  if (!tagged) return reply_error(c, 500, tagged.error().message);
  log_event("accept", "fresh_evidence", {{"conn", c.id}});
  (void)serve::send_json(c.ctl.get(), SecureJson{{"evidence", base64_encode(*tagged)}});
}

Result<WorkerProc*> AcceptLoop::worker_for(const std::string& user) {
  for (auto& w : workers_) {
    if (w->user == user && !w->retiring) return w.get();
  }
  int live = 0;
  for (auto& w : workers_) live += w->retiring ? 0 : 1;
  if (live >= o_.max_users) return make_error(ErrorCode::kInvalidInput, "the server is at its limit of " + std::to_string(o_.max_users) + " active users", "max-users");
  CCI_ASSIGN(pair, serve::socket_pair());
  std::vector<std::string> args = {"serve-worker",      "--user",        user,
                                   "--model",           o_.model,        "--manifest",
                                   o_.manifest,         "--release-key", o_.release_key,
                                   "--model-id",        o_.model_id,     "--threads",
                                   std::to_string(o_.threads), "--context", std::to_string(o_.context),
                                   "--max-sessions",    std::to_string(o_.max_user_connections),
                                   "--max-tokens",      std::to_string(o_.max_tokens),
                                   "--max-prompt-bytes", std::to_string(o_.max_prompt_bytes)};
  CCI_ASSIGN(pid, serve::spawn_process(self_exe_, args, {{pair.second.get(), 3}}));
  auto w = std::make_unique<WorkerProc>();
  w->pid = pid;
  w->ctl = std::move(pair.first);
  w->user = user;
  log_event("accept", "worker_started", {{"user", user}, {"worker_pid", pid}});
  workers_.push_back(std::move(w));
  return workers_.back().get();
}

void AcceptLoop::answer_session(ConnProc& c, const SecureJson& m) {
  if (!m.contains("key_sha256") || !m["key_sha256"].is_string()) return reply_error(c, 400, "session request without a key hash");
  const auto& hex = m["key_sha256"].get_ref<const SecureString&>();
  auto hash = from_hex(std::string_view(hex.data(), hex.size()), "key_sha256", 32);
  if (!hash) return reply_error(c, 400, hash.error().message);
  auto user = keys_->user_for_hash(*hash);
  if (!user) {
    log_event("accept", "auth_failed", {{"conn", c.id}});
    return reply_error(c, 401, "invalid API key");
  }
  if (c.user && *c.user != *user) {
    log_event("accept", "auth_refused", {{"conn", c.id}, {"reason", "connection bound to another user"}});
    return reply_error(c, 403, "this connection already serves another user; open a new connection");
  }
  c.user = *user;
  if (m.contains("worker") && m["worker"].is_boolean() && !m["worker"].get<bool>()) {
    (void)serve::send_json(c.ctl.get(), SecureJson{{"user", *user}});  // authentication only (GET /v1/models)
    return;
  }
  auto w = worker_for(*user);
  if (!w) return reply_error(c, 503, w.error().message);
  auto pair = serve::socket_pair();
  if (!pair) return reply_error(c, 500, pair.error().message);
  if (auto st = serve::send_json((*w)->ctl.get(), SecureJson{{"op", "session"}, {"conn", c.id}}, pair->first.get()); !st) {
    return reply_error(c, 502, "the user's worker is gone; retry");
  }
  (*w)->busy = true;  // until it says otherwise
  log_event("accept", "session", {{"conn", c.id}, {"user", *user}, {"worker_pid", (*w)->pid}});
  (void)serve::send_json(c.ctl.get(), SecureJson{{"user", *user}}, pair->second.get());
}

void AcceptLoop::on_conn_message(ConnProc& c) {
  auto msg = serve::recv_json(c.ctl.get(), 64 * 1024);
  if (!msg) {
    c.ctl.reset();  // the process ended (reaped on SIGCHLD)
    return;
  }
  const auto& m = msg->message;
  const std::string op = m.contains("op") && m["op"].is_string() ? std::string(m["op"].get_ref<const SecureString&>()) : "";
  if (op == "evidence") return answer_evidence(c, m);
  if (op == "session") return answer_session(c, m);
  reply_error(c, 400, "unknown request '" + op + "'");
}

void AcceptLoop::on_worker_message(WorkerProc& w) {
  auto msg = serve::recv_json(w.ctl.get(), 4096);
  if (!msg) {
    w.ctl.reset();
    w.retiring = true;
    return;
  }
  const auto& m = msg->message;
  const std::string op = m.contains("op") && m["op"].is_string() ? std::string(m["op"].get_ref<const SecureString&>()) : "";
  if (op == "idle") {
    w.busy = false;
    w.idle_since = Clock::now();
  } else if (op == "busy") {
    w.busy = true;
  } else if (op == "ready") {
    log_event("accept", "worker_ready", {{"user", w.user}, {"worker_pid", w.pid}});
  }
}

void AcceptLoop::retire_idle_workers() {
  const auto now = Clock::now();
  for (auto& w : workers_) {
    if (w->retiring || w->busy || !w->ctl.valid()) continue;
    if (std::chrono::duration<double>(now - w->idle_since).count() < o_.idle_timeout) continue;
    w->retiring = true;
    log_event("accept", "worker_idle_exit", {{"user", w->user}, {"worker_pid", w->pid}});
    (void)serve::send_json(w->ctl.get(), SecureJson{{"op", "exit"}});
  }
}

void AcceptLoop::reap_children() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    cli::Json how = WIFSIGNALED(status) ? cli::Json{{"signal", WTERMSIG(status)}} : cli::Json{{"exit_code", WEXITSTATUS(status)}};
    for (auto it = conns_.begin(); it != conns_.end(); ++it) {
      if ((*it)->pid != pid) continue;
      how["conn"] = (*it)->id;
      log_event("accept", "connection_closed", how);
      conns_.erase(it);
      break;
    }
    for (auto it = workers_.begin(); it != workers_.end(); ++it) {
      if ((*it)->pid != pid) continue;
      how["user"] = (*it)->user;
      how["worker_pid"] = pid;
      log_event("accept", "worker_exited", how);
      workers_.erase(it);
      break;
    }
  }
}

void AcceptLoop::shut_down() {
  log_event("accept", "stopping", {{"connections", conns_.size()}, {"workers", workers_.size()}});
  listen_fd_.reset();
  for (auto& c : conns_) ::kill(c->pid, SIGTERM);
  for (auto& w : workers_) ::kill(w->pid, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while ((!conns_.empty() || !workers_.empty()) && Clock::now() < deadline) {
    reap_children();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& c : conns_) ::kill(c->pid, SIGKILL);
  for (auto& w : workers_) ::kill(w->pid, SIGKILL);
  while (::waitpid(-1, nullptr, 0) > 0) {
  }
  log_event("accept", "stopped");
}

int AcceptLoop::run() {
  const std::string schema = "cci.run.serve.v1";
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (auto st = start_up(); !st) return ctx_.fail(st.error(), schema);
  auto listening = listen_on(o_.listen);
  if (!listening) return ctx_.fail(listening.error(), schema);
  listen_fd_ = std::move(listening->first);
  if (auto st = write_ready_file(listening->second); !st) return ctx_.fail(st.error(), schema);
  log_event("accept", "listening", {{"port", listening->second}, {"pin", serve::public_key_pin(*cert_)}});
  ctx_.info("serving " + o_.model_id + " on port " + std::to_string(listening->second) + ", certificate pin " + serve::public_key_pin(*cert_));
  while (!stopping_) {
    std::vector<pollfd> fds{{listen_fd_.get(), POLLIN, 0}, {signal_fd_.get(), POLLIN, 0}};
    for (auto& c : conns_) fds.push_back({c->ctl.get(), POLLIN, 0});
    for (auto& w : workers_) fds.push_back({w->ctl.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si{};
      while (::read(signal_fd_.get(), &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) reap_children();
        else stopping_ = true;
      }
    }
    if (stopping_) break;
    if (fds[0].revents & POLLIN) accept_connection();
    // Messages: look the owners up by descriptor (the lists may have changed above).
    for (size_t i = 2; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP)) || fds[i].fd < 0) continue;
      for (auto& c : conns_) {
        if (c->ctl.get() == fds[i].fd) on_conn_message(*c);
      }
      for (auto& w : workers_) {
        if (w->ctl.get() == fds[i].fd) on_worker_message(*w);
      }
    }
    retire_idle_workers();
    if (std::time(nullptr) > cert_not_after_ - 3600) {
      if (auto st = issue_certificate(); !st) log_event("accept", "certificate_renewal_failed", {{"error", st.error().message}});
    }
  }
  shut_down();
  return 0;
}

int run_serve(ServeCliOptions o, const cli::Context& ctx) {
  const std::string schema = "cci.run.serve.v1";
  if (o.model_id.empty()) o.model_id = std::filesystem::path(o.model).lexically_normal().filename().string();
  if (o.model_id.empty()) o.model_id = "model";
  if (!(o.cert_hours > 1 && o.cert_hours <= 24)) return ctx.fail(make_error(ErrorCode::kUsage, "--cert-hours must be in (1, 24]", "cert-hours"), schema);
  if (o.max_connections < 1 || o.max_users < 1 || o.max_user_connections < 1 || o.max_tokens < 1) {
    return ctx.fail(make_error(ErrorCode::kUsage, "limits must be at least 1"), schema);
  }
  AcceptLoop loop(o, ctx);
  return loop.run();
}

}  // namespace

void add_serve(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<ServeCliOptions>();
  auto* sub = app.add_subcommand("serve", "Serve the model over attested TLS 1.3 with an OpenAI-compatible API, one isolated worker per user");
  sub->footer(
      "At start: the manifest's signature against --release-key, every weight file against the manifest\n"
      "(any mismatch: no start), evidence from the TEE, and a P-384 key made in memory with an attested\n"
      "certificate (cci RA-TLS v1, 2.23.133.5.4.9). Clients check it with cci-verify remote before sending\n"
      "anything; POST /v1/attestation/fresh gives evidence bound to their nonce and TLS connection.\n"
      "Endpoints: POST /v1/completions, POST /v1/chat/completions (\"stream\": true for server-sent events),\n"
      "GET /v1/models, GET /v1/attestation/certificate, POST /v1/attestation/fresh, GET /health.\n"
      "Isolation: every connection is its own exec'd process (TLS, HTTP) bound to one user; every user has\n"
      "an exec'd worker (the model, the prompts, the KV cache) that never serves anyone else; both run with\n"
      "PR_SET_DUMPABLE 0, no core dumps, no new privileges and a seccomp allow-list. Logs (stderr, JSON\n"
      "lines) never contain prompts or outputs.\n"
      "Examples:\n"
      "  cci-run keys add --file api-keys.txt --user alice\n"
      "  cci-run serve --model ./model --manifest model.sig --release-key release.pub --api-keys api-keys.txt\n"
      "  cci-run serve --tee sim-snp --sim-dir ./sim ... --listen 127.0.0.1:0 --ready-file ready.json");
  add_evidence_source_flags(sub, o->source);
  sub->add_option("--model", o->model, "Model directory (safetensors, config.json, tokenizer)")->required();
  sub->add_option("--manifest", o->manifest, "The model's signed manifest (OMS bundle, cci-measure model)")->required();
  sub->add_option("--release-key", o->release_key, "Public key the manifest must be signed with (PEM)")->required();
  sub->add_option("--api-keys", o->api_keys, "API key file: 'USER_ID sha256:HEX' lines (cci-run keys add)")->required();
  sub->add_option("--listen", o->listen, "Address to listen on, HOST:PORT (port 0: any free port)")->capture_default_str();
  sub->add_option("--ready-file", o->ready_file, "Once listening, write {url, pin, pid} here (JSON)");
  sub->add_option("--model-id", o->model_id, "Model name in the API (default: the model directory's name)");
  sub->add_option("--deploy", o->deploy, "cci-deploy claim (deployment id)");
  sub->add_option("--dns", o->dns, "subjectAltName DNS name (repeatable; default localhost)");
  sub->add_option("--cert-hours", o->cert_hours, "Certificate validity; renewed an hour before it ends")->capture_default_str();
  sub->add_option("--threads", o->threads, "Intra-op threads per worker (0: all cores)")->capture_default_str();
  sub->add_option("--context", o->context, "KV cache length per worker (0: the model's)")->capture_default_str();
  sub->add_option("--max-connections", o->max_connections, "Open connections at most (more are closed at once)")->capture_default_str();
  sub->add_option("--max-users", o->max_users, "Users with a live worker at most (more get 503)")->capture_default_str();
  sub->add_option("--max-user-connections", o->max_user_connections, "Concurrent connections per user at most (more get 429)")->capture_default_str();
  sub->add_option("--max-body-bytes", o->max_body_bytes, "Request body limit (413 above)")->capture_default_str();
  sub->add_option("--max-prompt-bytes", o->max_prompt_bytes, "Prompt limit after the chat template (400 above)")->capture_default_str();
  sub->add_option("--max-tokens", o->max_tokens, "Completion tokens a request may ask for at most")->capture_default_str();
  sub->add_option("--max-fresh", o->max_fresh, "Fresh evidence answers per connection at most")->capture_default_str();
  sub->add_option("--request-timeout", o->request_timeout, "Seconds a client has to send a whole request (408 after)")->capture_default_str();
  sub->add_option("--keepalive-timeout", o->keepalive_timeout, "Seconds an idle connection stays open")->capture_default_str();
  sub->add_option("--idle-timeout", o->idle_timeout, "Seconds an idle worker lives (its user's next request starts a new one)")->capture_default_str();
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_serve(*o, ctx); }; });
}

}  // namespace cci::tools::run
