// cci-run serve: the accept loop of the attested inference server (specs/ratls-isolation.md §3.5,
// §4). It checks the deployment at start and never sees plaintext:
//   - read once, verify once: the release key and the signed manifest (a deployment manifest, or
//     a plain model bundle where no deployment exists) are read once and verified; the model's
//     files are opened once and hashed from their descriptors. Workers get those bytes and
//     descriptors, never paths, so a host that swaps files on disk later changes nothing;
//   - the attested certificate's claims carry the SHA-256 of that manifest, and every
//     connection serves it at GET /v1/attestation/manifest, so a client needs only the URL and
//     the release public key (cci-verify remote URL --release-key PUB);
//   - each TCP connection goes, unread, to its own exec'd cci-run-conn process once its first
//     byte arrives (idle sockets cost a descriptor, not a process, and are closed after the
//     handshake deadline); unauthenticated connections are evicted, oldest first, when the slots
//     or a peer's share of them are full, so they can never lock a legitimate client out;
//   - each user gets an exec'd worker (cci-run serve-worker) that holds the model and that
//     user's prompts, outputs and KV cache; a worker never serves another user;
//   - fresh evidence is produced on a thread of its own (a PSP round trip on hardware), rate
//     limited, so it never blocks this loop;
//   - the API key file is re-read when it changes (or on SIGHUP): a revoked user's connections
//     and worker end at once.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
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
  std::string model, manifest, deployment, release_key, api_keys, listen = "127.0.0.1:8443", ready_file, deploy, model_id;
  std::vector<std::string> dns;
  int max_connections = 64, max_users = 16, max_user_connections = 4, threads = 0, max_fresh = 16;
  int max_pending = 1024, max_peer_connections = 32;
  std::int64_t max_tokens = 512, context = 0;
  size_t max_body_bytes = 1u << 20, max_prompt_bytes = 64u * 1024;
  double request_timeout = 10, keepalive_timeout = 30, idle_timeout = 300, cert_hours = 24;
  double handshake_timeout = 5, write_timeout = 30, fresh_rate = 10;
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
  if (::listen(fd.get(), 512) != 0) return make_error(ErrorCode::kIo, std::string("listen: ") + std::strerror(errno), "listen");
  sockaddr_storage bound{};
  socklen_t blen = sizeof(bound);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
  const int bound_port = bound.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port) : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return std::make_pair(std::move(fd), bound_port);
}

std::string peer_address(const sockaddr_storage& ss) {
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, text, sizeof(text));
  else if (ss.ss_family == AF_INET6) ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, text, sizeof(text));
  return text;
}

// Work that must not block the accept loop (evidence from the TEE: a PSP round trip on real
// hardware) runs on one thread of its own, in order; each task returns a continuation that the
// loop runs when wake_fd() becomes readable. The evidence source is used only on that thread
// once it has started.
class Attester {
 public:
  using Continuation = std::function<void()>;
  using Task = std::function<Continuation()>;

  Attester() : wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~Attester() { stop(); }
  Attester(const Attester&) = delete;
  Attester& operator=(const Attester&) = delete;

  void start() {
    thread_ = std::thread([this] { loop(); });
  }
  void stop() {
    {
      std::lock_guard<std::mutex> g(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  int wake_fd() const { return wake_.get(); }
  size_t queued() {
    std::lock_guard<std::mutex> g(mu_);
    return tasks_.size();
  }
  void submit(Task t) {
    {
      std::lock_guard<std::mutex> g(mu_);
      tasks_.push_back(std::move(t));
    }
    cv_.notify_one();
  }
  void run_ready() {
    std::uint64_t n = 0;
    (void)!::read(wake_.get(), &n, sizeof(n));
    std::vector<Continuation> ready;
    {
      std::lock_guard<std::mutex> g(mu_);
      ready.swap(done_);
    }
    for (auto& c : ready) c();
  }

 private:
  void loop() {
    for (;;) {
      Task t;
      {
        std::unique_lock<std::mutex> g(mu_);
        cv_.wait(g, [this] { return stopping_ || !tasks_.empty(); });
        if (stopping_) return;
        t = std::move(tasks_.front());
        tasks_.pop_front();
      }
      Continuation c = t();
      {
        std::lock_guard<std::mutex> g(mu_);
        done_.push_back(std::move(c));
      }
      const std::uint64_t one = 1;
      (void)!::write(wake_.get(), &one, sizeof(one));
    }
  }

  UniqueFd wake_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> tasks_;
  std::vector<Continuation> done_;
  bool stopping_ = false;
};

// A token bucket: `rate` per second, bursts of up to max(1, rate).
class RateLimit {
 public:
  explicit RateLimit(double rate) : rate_(rate), tokens_(std::max(1.0, rate)) {}
  bool take() {
    const auto now = Clock::now();
    tokens_ = std::min(std::max(1.0, rate_), tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
    last_ = now;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  double rate_, tokens_;
  Clock::time_point last_ = Clock::now();
};

struct PendingSocket {
  UniqueFd fd;
  std::string peer;
  Clock::time_point since = Clock::now();
};

struct ConnProc {
  int id = 0;
  pid_t pid = -1;
  UniqueFd ctl;
  std::string peer;
  Clock::time_point started = Clock::now();
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

// Identity of the API key file as last read (a change means: read it again).
struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

std::optional<FileStamp> stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileStamp{st.st_dev, st.st_ino, st.st_size, static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

class AcceptLoop {
 public:
  AcceptLoop(const ServeCliOptions& o, const cli::Context& ctx) : o_(o), ctx_(ctx), fresh_limit_(o.fresh_rate) {}

  int run();

 private:
  Status start_up();
  Status load_release();
  Status issue_certificate();
  void renew_certificate();
  Status write_ready_file(int port);
  void accept_socket();
  void start_connection(PendingSocket s);
  bool make_room_for(const std::string& peer);
  void expire_pending();
  void on_conn_message(ConnProc& c);
  void answer_evidence(ConnProc& c, const SecureJson& m);
  void answer_session(ConnProc& c, const SecureJson& m);
  Result<WorkerProc*> worker_for(const std::string& user);
  void on_worker_message(WorkerProc& w);
  void reap_children();
  void retire_idle_workers();
  void reload_keys(bool force);
  void end_user(const std::string& user);
  void shut_down();
  void reply_error(ConnProc& c, int status, const std::string& message);
  ConnProc* conn_by_id(int id);

  const ServeCliOptions& o_;
  const cli::Context& ctx_;
  std::optional<SignedModel> signed_;  // release bytes and the model's descriptors, for the life of the server
  UniqueFd manifest_fd_;               // sealed memfd with the manifest bytes (connections serve it, workers read it)
  std::unique_ptr<attest::EvidenceSource> source_;
  Attester attester_;
  RateLimit fresh_limit_;
  std::optional<crypto::PrivateKey> key_;
  std::optional<crypto::Certificate> cert_;
  std::time_t cert_not_after_ = 0;
  bool renewing_ = false;
  ratls::Claims claims_;
  std::optional<serve::ApiKeys> keys_;
  std::optional<FileStamp> keys_stamp_;
  UniqueFd listen_fd_, signal_fd_;
  std::deque<PendingSocket> pending_;
  std::vector<std::unique_ptr<ConnProc>> conns_;
  std::vector<std::unique_ptr<WorkerProc>> workers_;
  int next_conn_id_ = 1;
  std::string conn_exe_, self_exe_;
  bool stopping_ = false;
};

// Read once, verify once: the key and the manifest as bytes, the model's files as descriptors.
Status AcceptLoop::load_release() {
  const bool deployment = !o_.deployment.empty();
  if (deployment == !o_.manifest.empty()) {
    return make_error(ErrorCode::kUsage, "give the signed deployment manifest (--deployment cci-manifest.json) or, where none exists, a model bundle (--manifest model.sig)", "deployment");
  }
  const std::string& file = deployment ? o_.deployment : o_.manifest;
  const auto t0 = Clock::now();
  auto model = load_signed_model(o_.model, file, o_.release_key);
  const double verify_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!model) return make_error(model.error().code, "refusing to serve: " + model.error().message, model.error().field);
  const bool is_deployment = model->release.kind == manifest::Release::Kind::kDeployment;
  if (deployment && !is_deployment) return make_error(ErrorCode::kUsage, o_.deployment + " is a model bundle, not a deployment manifest: give it with --manifest", "deployment");
  if (!deployment && is_deployment) return make_error(ErrorCode::kUsage, o_.manifest + " is a deployment manifest: give it with --deployment", "manifest");
  if (!is_deployment) {
    ctx_.warn("serving a plain model bundle (--manifest): clients can check the model's signature but NOT which VM image serves it; "
              "they must pin a measurement themselves or accept any image by name (--insecure-any-measurement). Sign a deployment "
              "manifest (cci-measure manifest build) and serve it with --deployment.");
  }
  CCI_SET(manifest_fd_, serve::sealed_memfd("cci-manifest", model->release.manifest));
  log_event("accept", "model_verified",
            {{"manifest", is_deployment ? "deployment" : "model-bundle"},
             {"deployment", is_deployment ? manifest::deployment_name(*model->release.deployment) : std::string()},
             {"manifest_sha256", to_hex(crypto::digest(crypto::DigestAlg::kSha256, model->release.manifest))},
             {"files", model->files.files().size()},
             {"tensors", model->model.weights ? model->model.weights->tensors.size() : 0},
             {"seconds", verify_seconds}});
  model->model = infer::LoadedModel();  // the loop needs the descriptors, not the mappings
  signed_ = std::move(*model);
  return {};
}

Status AcceptLoop::start_up() {
  // Silent sockets wait here as descriptors: take what the hard limit allows.
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  CCI_TRY(load_release());
  CCI_ASSIGN(keys, serve::ApiKeys::load(o_.api_keys));
  if (keys.entries().empty()) return make_error(ErrorCode::kUsage, o_.api_keys + " has no users: add one with cci-run keys add", "api-keys");
  keys_ = std::move(keys);
  keys_stamp_ = stamp_of(o_.api_keys);
  // The TEE, a key made here, and the attested certificate.
  CCI_SET(source_, open_evidence_source(o_.source, ctx_));
  CCI_ASSIGN(key, crypto::generate_key(crypto::KeyType::kEcP384));
  key_ = std::move(key);
  claims_ = identity_claims(*key_, signed_->release.manifest, "tls-server", o_.deploy);
  CCI_TRY(issue_certificate());
  attester_.start();  // from here on the evidence source is the attester thread's alone
  conn_exe_ = serve::own_executable_dir() + "/cci-run-conn";
  self_exe_ = serve::own_executable();
  if (::access(conn_exe_.c_str(), X_OK) != 0) return make_error(ErrorCode::kIo, "the connection helper " + conn_exe_ + " is missing", "cci-run-conn");
  return {};
}

ratls::AttestedCertSpec certificate_spec(const ServeCliOptions& o) {
  ratls::AttestedCertSpec spec;
  spec.common_name = "cci-run serve";
  spec.dns_names = o.dns;
  if (spec.dns_names.empty()) spec.dns_names.push_back("localhost");
  spec.not_before = std::time(nullptr) - 60;
  spec.not_after = spec.not_before + static_cast<std::time_t>(o.cert_hours * 3600);
  return spec;
}

Status AcceptLoop::issue_certificate() {
  const auto spec = certificate_spec(o_);
  CCI_ASSIGN(issued, issue_attested_certificate(*source_, *key_, claims_, spec));
  for (const auto& w : issued.warnings) ctx_.warn(w);
  cert_ = std::move(issued.cert);
  cert_not_after_ = spec.not_after;
  log_event("accept", "certificate_issued", {{"tee", issued.tee}, {"simulated", issued.simulated}, {"pin", serve::public_key_pin(*cert_)}});
  return {};
}

// An hour before the certificate ends, a new one is made on the attester thread.
void AcceptLoop::renew_certificate() {
  if (renewing_ || std::time(nullptr) <= cert_not_after_ - 3600) return;
  renewing_ = true;
  const auto spec = certificate_spec(o_);
  attester_.submit([this, spec]() -> Attester::Continuation {
    auto issued = issue_attested_certificate(*source_, *key_, claims_, spec);
    return [this, spec, issued = std::make_shared<Result<IssuedCertificate>>(std::move(issued))] {
      renewing_ = false;
      if (!*issued) {
        log_event("accept", "certificate_renewal_failed", {{"error", issued->error().message}});
        cert_not_after_ = std::time(nullptr) + 3600 + 60;  // try again in a minute
        return;
      }
      cert_ = std::move((*issued)->cert);
      cert_not_after_ = spec.not_after;
      log_event("accept", "certificate_issued", {{"tee", (*issued)->tee}, {"simulated", (*issued)->simulated}, {"pin", serve::public_key_pin(*cert_)}});
    };
  });
}

Status AcceptLoop::write_ready_file(int port) {
  if (o_.ready_file.empty()) return {};
  auto hp = split_host_port(o_.listen);
  std::string host = hp->first.find(':') != std::string::npos ? "[" + hp->first + "]" : hp->first;
  cli::Json j{{"url", "https://" + host + ":" + std::to_string(port)},
              {"pin", serve::public_key_pin(*cert_)},
              {"pid", ::getpid()},
              {"manifest_sha256", to_hex(claims_.manifest_sha256)}};
  const std::string text = j.dump(2) + "\n";
  return write_file_atomic(o_.ready_file, as_bytes(text));
}

// A new TCP socket waits here, unread and without a process, until its first byte arrives.
void AcceptLoop::accept_socket() {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  UniqueFd tcp(::accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC));
  if (!tcp.valid() && (errno == EMFILE || errno == ENFILE) && !pending_.empty()) {
    // Out of descriptors: the oldest silent socket makes room, never a client at work.
    log_event("accept", "connection_evicted", {{"reason", "out of descriptors"}, {"state", "no byte yet"}});
    pending_.pop_front();
    len = sizeof(ss);
    tcp.reset(::accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC));
  }
  if (!tcp.valid()) return;
  if (stopping_) return;
  // Streamed tokens are small writes: without TCP_NODELAY, Nagle's algorithm holds each one
  // until the client's delayed ACK (40 ms) and the first token arrives that much later.
  const int one = 1;
  ::setsockopt(tcp.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (static_cast<int>(pending_.size()) >= o_.max_pending) {
    log_event("accept", "connection_evicted", {{"reason", "max-pending"}, {"state", "no byte yet"}});
    pending_.pop_front();  // the oldest silent socket makes room
  }
  pending_.push_back({std::move(tcp), peer_address(ss), Clock::now()});
}

void AcceptLoop::expire_pending() {
  const auto now = Clock::now();
  while (!pending_.empty() && std::chrono::duration<double>(now - pending_.front().since).count() > o_.handshake_timeout) {
    log_event("accept", "connection_closed", {{"reason", "handshake-timeout"}, {"state", "no byte yet"}});
    pending_.pop_front();
  }
}

// A slot for a connection from `peer`: over the peer's share or the total, the oldest
// connection that has not authenticated yet is evicted; connections bound to a user are never
// evicted for a newcomer. False: no room.
bool AcceptLoop::make_room_for(const std::string& peer) {
  auto evict_oldest = [&](bool same_peer) {
    ConnProc* victim = nullptr;
    for (auto& c : conns_) {
      if (c->user || (same_peer && c->peer != peer) || c->pid <= 0) continue;
      if (!victim || c->started < victim->started) victim = c.get();
    }
    if (!victim) return false;
    log_event("accept", "connection_evicted", {{"conn", victim->id}, {"reason", same_peer ? "max-peer-connections" : "max-connections"}});
    ::kill(victim->pid, SIGKILL);
    victim->pid = -victim->pid;  // reaped later; no longer counted
    return true;
  };
  auto live = [&](bool same_peer) {
    int n = 0;
    for (auto& c : conns_) n += c->pid > 0 && (!same_peer || c->peer == peer) ? 1 : 0;
    return n;
  };
  if (live(true) >= o_.max_peer_connections && !evict_oldest(true)) return false;
  if (live(false) >= o_.max_connections && !evict_oldest(false)) return false;
  return true;
}

void AcceptLoop::start_connection(PendingSocket s) {
  if (!make_room_for(s.peer)) {
    log_event("accept", "connection_refused", {{"reason", "all slots hold authenticated users"}, {"limit", o_.max_connections}});
    return;
  }
  auto pair = serve::socket_pair();
  if (!pair) return;
  auto c = std::make_unique<ConnProc>();
  c->id = next_conn_id_++;
  c->peer = s.peer;
  auto pid = serve::spawn_process(conn_exe_, {"--conn-id", std::to_string(c->id)},
                                  {{s.fd.get(), 3}, {pair->second.get(), 4}, {manifest_fd_.get(), 5}});
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
                  {"handshake_timeout", o_.handshake_timeout},
                  {"request_timeout", o_.request_timeout},
                  {"keepalive_timeout", o_.keepalive_timeout},
                  {"write_timeout", o_.write_timeout}};
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

ConnProc* AcceptLoop::conn_by_id(int id) {
  for (auto& c : conns_) {
    if (c->id == id && c->pid > 0 && c->ctl.valid()) return c.get();
  }
  return nullptr;
}

// Fresh evidence is unauthenticated (a client checks the server before it sends a key), so it is
// rate limited: per connection, and for the whole server (the TEE is one device); the answer is
// made on the attester thread and sent when ready.
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
  if (attester_.queued() >= 64 || !fresh_limit_.take()) {
    log_event("accept", "fresh_evidence_limited", {{"conn", c.id}});
    return reply_error(c, 429, "fresh evidence is rate limited on this server; retry in a second");
  }
  const int id = c.id;
  attester_.submit([this, id, cbor = std::move(*cbor)]() -> Attester::Continuation {
    auto tagged = std::make_shared<Result<Bytes>>(tagged_evidence_for(*source_, cbor));
    return [this, id, tagged] {
      ConnProc* conn = conn_by_id(id);
      if (!conn) return;  // gone meanwhile
      if (!*tagged) return reply_error(*conn, 500, tagged->error().message);
      log_event("accept", "fresh_evidence", {{"conn", id}});
      (void)serve::send_json(conn->ctl.get(), SecureJson{{"evidence", base64_encode(**tagged)}});
    };
  });
}

Result<WorkerProc*> AcceptLoop::worker_for(const std::string& user) {
  // A worker that died (crash, refused start) is reaped before anything is routed to it: that
  // request starts a new worker instead of failing on a dead one.
  for (auto it = workers_.begin(); it != workers_.end();) {
    int status = 0;
    if ((*it)->user == user && ::waitpid((*it)->pid, &status, WNOHANG) == (*it)->pid) {
      cli::Json how = WIFSIGNALED(status) ? cli::Json{{"signal", WTERMSIG(status)}} : cli::Json{{"exit_code", WEXITSTATUS(status)}};
      how["user"] = user;
      how["worker_pid"] = (*it)->pid;
      log_event("accept", "worker_exited", how);
      it = workers_.erase(it);
      continue;
    }
    ++it;
  }
  for (auto& w : workers_) {
    if (w->user != user || w->retiring) continue;
    pollfd p{w->ctl.get(), 0, 0};
    if (!w->ctl.valid() || (::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))) {
      w->retiring = true;  // on its way out; reaped when it exits
      continue;
    }
    return w.get();
  }
  int live = 0;
  for (auto& w : workers_) live += w->retiring ? 0 : 1;
  if (live >= o_.max_users) return make_error(ErrorCode::kInvalidInput, "the server is at its limit of " + std::to_string(o_.max_users) + " active users", "max-users");
  CCI_ASSIGN(pair, serve::socket_pair());
  std::vector<std::string> args = {"serve-worker",   "--user",       user,
                                   "--model-id",     o_.model_id,    "--threads",
                                   std::to_string(o_.threads), "--context", std::to_string(o_.context),
                                   "--max-sessions", std::to_string(o_.max_user_connections),
                                   "--max-tokens",   std::to_string(o_.max_tokens),
                                   "--max-prompt-bytes", std::to_string(o_.max_prompt_bytes),
                                   "--write-timeout", std::to_string(o_.write_timeout)};
  // The worker gets bytes and descriptors, never paths: the manifest (4) and the model's files
  // (5...), exactly what this process verified at start.
  std::vector<serve::ChildFd> fds{{pair.second.get(), 3}, {manifest_fd_.get(), 4}};
  SecureJson names = SecureJson::array();
  int target = 5;
  for (const auto& f : signed_->files.files()) {
    fds.push_back({f.fd.get(), target++});
    names.push_back(SecureString(f.name));
  }
  CCI_ASSIGN(pid, serve::spawn_process(self_exe_, args, fds));
  auto w = std::make_unique<WorkerProc>();
  w->pid = pid;
  w->ctl = std::move(pair.first);
  w->user = user;
  const std::string key(signed_->release.key_pem.begin(), signed_->release.key_pem.end());
  SecureJson init{{"release_key", key}, {"where", o_.model}, {"single_file", signed_->files.single_file()}, {"files", std::move(names)}};
  if (auto st = serve::send_json(w->ctl.get(), init); !st) {
    ::kill(pid, SIGKILL);
    w->retiring = true;
  }
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
    (*w)->retiring = true;
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
  reply_error(c, 400, "unknown request");
}

void AcceptLoop::on_worker_message(WorkerProc& w) {
  auto msg = serve::recv_json(w.ctl.get(), 64 * 1024);
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
  } else if (op == "start_failed") {
    w.retiring = true;
    log_event("accept", "worker_start_failed", {{"user", w.user}, {"worker_pid", w.pid}});
    ctx_.warn("a worker refused to start: " + std::string(m.value("error", SecureString())));
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
      if ((*it)->pid != pid && (*it)->pid != -pid) continue;
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

// A user no longer in the key file: their connections and worker end now.
void AcceptLoop::end_user(const std::string& user) {
  int ended = 0;
  for (auto& c : conns_) {
    if (c->user && *c->user == user && c->pid > 0) {
      ::kill(c->pid, SIGKILL);
      c->pid = -c->pid;
      ++ended;
    }
  }
  for (auto& w : workers_) {
    if (w->user == user) {
      ::kill(w->pid, SIGKILL);
      w->retiring = true;
      ++ended;
    }
  }
  log_event("accept", "user_revoked", {{"user", user}, {"processes_ended", ended}});
}

void AcceptLoop::reload_keys(bool force) {
  const auto now = stamp_of(o_.api_keys);
  if (!force && now == keys_stamp_) return;
  keys_stamp_ = now;
  auto keys = serve::ApiKeys::load(o_.api_keys);
  if (!keys) {
    log_event("accept", "api_keys_reload_failed", {{"error", keys.error().message}});
    ctx_.warn("cannot re-read " + o_.api_keys + " (" + keys.error().message + "): every user is refused until it is fixed");
    keys_ = serve::ApiKeys();  // fail closed: a broken key file admits nobody
  } else {
    keys_ = std::move(*keys);
  }
  std::set<std::string> current;
  for (const auto& e : keys_->entries()) current.insert(e.user);
  std::set<std::string> active;
  for (auto& c : conns_) {
    if (c->user) active.insert(*c->user);
  }
  for (auto& w : workers_) active.insert(w->user);
  for (const auto& u : active) {
    if (current.count(u) == 0) end_user(u);
  }
  log_event("accept", "api_keys_loaded", {{"users", current.size()}});
}

void AcceptLoop::shut_down() {
  log_event("accept", "stopping", {{"connections", conns_.size()}, {"workers", workers_.size()}});
  listen_fd_.reset();
  pending_.clear();
  attester_.stop();
  for (auto& c : conns_) ::kill(c->pid > 0 ? c->pid : -c->pid, SIGTERM);
  for (auto& w : workers_) ::kill(w->pid, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while ((!conns_.empty() || !workers_.empty()) && Clock::now() < deadline) {
    reap_children();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& c : conns_) ::kill(c->pid > 0 ? c->pid : -c->pid, SIGKILL);
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
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);  // before the attester thread starts: it inherits the mask
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
    std::vector<pollfd> fds{{listen_fd_.get(), POLLIN, 0}, {signal_fd_.get(), POLLIN, 0}, {attester_.wake_fd(), POLLIN, 0}};
    const size_t first_pending = fds.size();
    for (auto& p : pending_) fds.push_back({p.fd.get(), POLLIN, 0});
    const size_t first_ctl = fds.size();
    // Who each control descriptor belonged to when polled: descriptors closed meanwhile may be
    // reused by new ones, so messages are matched by owner, not by number alone.
    std::vector<std::pair<bool, int>> owners;  // (is a connection, conn id or worker pid)
    for (auto& c : conns_) {
      fds.push_back({c->ctl.get(), POLLIN, 0});
      owners.emplace_back(true, c->id);
    }
    for (auto& w : workers_) {
      fds.push_back({w->ctl.get(), POLLIN, 0});
      owners.emplace_back(false, w->pid);
    }
    if (::poll(fds.data(), fds.size(), 250) < 0 && errno != EINTR) break;
    bool reload = false;
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si{};
      while (::read(signal_fd_.get(), &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) reap_children();
        else if (si.ssi_signo == SIGHUP) reload = true;
        else stopping_ = true;
      }
    }
    if (stopping_) break;
    if (fds[2].revents & POLLIN) attester_.run_ready();
    // Silent sockets whose first byte came get a connection process; closed ones go.
    std::vector<int> woke;
    for (size_t i = first_pending; i < first_ctl; ++i) {
      if (fds[i].revents != 0) woke.push_back(fds[i].fd);
    }
    for (int fd : woke) {
      auto it = std::find_if(pending_.begin(), pending_.end(), [fd](const PendingSocket& p) { return p.fd.get() == fd; });
      if (it == pending_.end()) continue;
      PendingSocket s = std::move(*it);
      pending_.erase(it);
      char probe = 0;
      if (::recv(s.fd.get(), &probe, 1, MSG_PEEK | MSG_DONTWAIT) == 1) start_connection(std::move(s));
    }
    if (fds[0].revents & POLLIN) {
      for (int i = 0; i < 64; ++i) {  // a burst of connections is taken in one go
        pollfd l{listen_fd_.get(), POLLIN, 0};
        if (::poll(&l, 1, 0) <= 0) break;
        accept_socket();
      }
    }
    // Messages: the owner must still exist with the same descriptor (the lists may have changed above).
    for (size_t i = first_ctl; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP)) || fds[i].fd < 0) continue;
      const auto [is_conn, id] = owners[i - first_ctl];
      if (is_conn) {
        for (auto& c : conns_) {
          if (c->id == id && c->ctl.get() == fds[i].fd) {
            on_conn_message(*c);
            break;
          }
        }
      } else {
        for (auto& w : workers_) {
          if (w->pid == id && w->ctl.get() == fds[i].fd) {
            on_worker_message(*w);
            break;
          }
        }
      }
    }
    expire_pending();
    retire_idle_workers();
    reload_keys(reload);
    renew_certificate();
  }
  shut_down();
  return 0;
}

int run_serve(ServeCliOptions o, const cli::Context& ctx) {
  const std::string schema = "cci.run.serve.v1";
  if (o.model_id.empty()) o.model_id = std::filesystem::path(o.model).lexically_normal().filename().string();
  if (o.model_id.empty()) o.model_id = "model";
  if (!(o.cert_hours > 1 && o.cert_hours <= 24)) return ctx.fail(make_error(ErrorCode::kUsage, "--cert-hours must be in (1, 24]", "cert-hours"), schema);
  if (o.max_connections < 1 || o.max_users < 1 || o.max_user_connections < 1 || o.max_tokens < 1 || o.max_pending < 1 ||
      o.max_peer_connections < 1) {
    return ctx.fail(make_error(ErrorCode::kUsage, "limits must be at least 1"), schema);
  }
  if (!(o.handshake_timeout > 0) || !(o.write_timeout > 0) || !(o.request_timeout > 0) || !(o.fresh_rate > 0)) {
    return ctx.fail(make_error(ErrorCode::kUsage, "timeouts and --fresh-rate must be positive"), schema);
  }
  AcceptLoop loop(o, ctx);
  return loop.run();
}

}  // namespace

void add_serve(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<ServeCliOptions>();
  auto* sub = app.add_subcommand("serve", "Serve the model over attested TLS 1.3 with an OpenAI-compatible API, one isolated worker per user");
  sub->footer(
      "At start: the signed deployment manifest (--deployment) against --release-key, every model file against\n"
      "it (any mismatch: no start), evidence from the TEE, and a P-384 key made in memory with an attested\n"
      "certificate (cci RA-TLS v1, 2.23.133.5.4.9) whose claims carry the manifest's SHA-256. Every file is\n"
      "read once: workers get the verified bytes and descriptors, never paths.\n"
      "Clients check it before sending anything, with nothing but the URL and the release key:\n"
      "  cci-verify remote https://HOST:PORT --release-key release.pub\n"
      "(the manifest comes from GET /v1/attestation/manifest; its signature, the claims, the launch measurement\n"
      "and the policy are checked; POST /v1/attestation/fresh gives evidence bound to the client's nonce and TLS\n"
      "connection). A plain model bundle (--manifest) names no VM: clients must then pin a measurement.\n"
      "Endpoints: POST /v1/completions, POST /v1/chat/completions (\"stream\": true for server-sent events),\n"
      "GET /v1/models, GET /v1/attestation/certificate, GET /v1/attestation/manifest, POST /v1/attestation/fresh,\n"
      "GET /health.\n"
      "Isolation: every connection is its own exec'd process (TLS, HTTP) bound to one user; every user has\n"
      "an exec'd worker (the model, the prompts, the KV cache) that never serves anyone else; both run with\n"
      "PR_SET_DUMPABLE 0, no core dumps, no new privileges, an allow-listed environment and a seccomp\n"
      "allow-list. Logs (stderr, JSON lines) never contain prompts, outputs or request paths.\n"
      "Hostile clients: silent sockets hold no process and close after --handshake-timeout; connections that\n"
      "have not authenticated are evicted oldest first when --max-connections or --max-peer-connections is\n"
      "reached; fresh evidence is rate limited (--fresh-rate, --max-fresh); a client that stops reading is cut\n"
      "off after --write-timeout. The API key file is re-read when it changes (or on SIGHUP): a revoked user's\n"
      "connections and worker end at once. SIGTERM/SIGINT stop the server.\n"
      "Examples:\n"
      "  cci-run keys add --file api-keys.txt --user alice\n"
      "  cci-run serve --model ./model --deployment cci-manifest.json --release-key release.pub --api-keys api-keys.txt\n"
      "  cci-run serve --tee sim-snp --sim-dir ./sim ... --listen 127.0.0.1:0 --ready-file ready.json");
  add_evidence_source_flags(sub, o->source);
  sub->add_option("--model", o->model, "Model directory (safetensors, config.json, tokenizer)")->required();
  sub->add_option("--deployment", o->deployment,
                  "The signed deployment manifest (cci-measure manifest build): the model's files, the launch measurements and the policy clients check");
  sub->add_option("--manifest", o->manifest,
                  "Instead of --deployment, where none exists: the model's signed bundle (cci-measure model); clients cannot check the VM");
  sub->add_option("--release-key", o->release_key, "Public key the manifest must be signed with (PEM)")->required();
  sub->add_option("--api-keys", o->api_keys, "API key file: 'USER_ID sha256:HEX' lines (cci-run keys add); re-read when it changes")->required();
  sub->add_option("--listen", o->listen, "Address to listen on, HOST:PORT (port 0: any free port)")->capture_default_str();
  sub->add_option("--ready-file", o->ready_file, "Once listening, write {url, pin, pid, manifest_sha256} here (JSON)");
  sub->add_option("--model-id", o->model_id, "Model name in the API (default: the model directory's name)");
  sub->add_option("--deploy", o->deploy, "cci-deploy claim (deployment id)");
  sub->add_option("--dns", o->dns, "subjectAltName DNS name (repeatable; default localhost)");
  sub->add_option("--cert-hours", o->cert_hours, "Certificate validity; renewed an hour before it ends")->capture_default_str();
  sub->add_option("--threads", o->threads, "Intra-op threads per worker (0: all cores)")->capture_default_str();
  sub->add_option("--context", o->context, "KV cache length per worker (0: the model's)")->capture_default_str();
  sub->add_option("--max-connections", o->max_connections, "Connection processes at most (unauthenticated ones are evicted for newcomers)")->capture_default_str();
  sub->add_option("--max-peer-connections", o->max_peer_connections, "Connection processes per client address at most")->capture_default_str();
  sub->add_option("--max-pending", o->max_pending, "Accepted sockets that have sent nothing yet, at most (oldest closed first)")->capture_default_str();
  sub->add_option("--max-users", o->max_users, "Users with a live worker at most (more get 503)")->capture_default_str();
  sub->add_option("--max-user-connections", o->max_user_connections, "Concurrent connections per user at most (more get 429)")->capture_default_str();
  sub->add_option("--max-body-bytes", o->max_body_bytes, "Request body limit (413 above)")->capture_default_str();
  sub->add_option("--max-prompt-bytes", o->max_prompt_bytes, "Prompt limit after the chat template (400 above)")->capture_default_str();
  sub->add_option("--max-tokens", o->max_tokens, "Completion tokens a request may ask for at most")->capture_default_str();
  sub->add_option("--max-fresh", o->max_fresh, "Fresh evidence answers per connection at most")->capture_default_str();
  sub->add_option("--fresh-rate", o->fresh_rate, "Fresh evidence answers per second for the whole server at most (429 above)")->capture_default_str();
  sub->add_option("--handshake-timeout", o->handshake_timeout, "Seconds a new connection has for its first byte, and then for the TLS handshake")->capture_default_str();
  sub->add_option("--request-timeout", o->request_timeout, "Seconds a client has to send a whole request (408 after)")->capture_default_str();
  sub->add_option("--write-timeout", o->write_timeout, "Seconds one write to a client may take (a client that stops reading is cut off)")->capture_default_str();
  sub->add_option("--keepalive-timeout", o->keepalive_timeout, "Seconds an idle connection stays open")->capture_default_str();
  sub->add_option("--idle-timeout", o->idle_timeout, "Seconds an idle worker lives (its user's next request starts a new one)")->capture_default_str();
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_serve(*o, ctx); }; });
}

}  // namespace cci::tools::run
