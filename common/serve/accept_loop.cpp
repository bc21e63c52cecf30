// cci-run serve's accept loop (serve/accept_loop.h).
#include "serve/accept_loop.h"

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
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/file_io.h"
#include "base/hex.h"
#include "crypto/digest.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "crypto/tls.h"
#include "ratls/fresh.h"
#include "serve/api_keys.h"
#include "serve/ipc.h"
#include "serve/log.h"
#include "serve/metrics.h"
#include "serve/sandbox.h"
#include "serve/messages.h"
#include "serve/spawn.h"

namespace cci::serve {
namespace {

using Clock = std::chrono::steady_clock;


Result<std::pair<std::string, std::string>> split_host_port(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return make_error(ErrorCode::kUsage, "--listen takes HOST:PORT, e.g. 127.0.0.1:8443", "listen");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return std::make_pair(host, listen.substr(colon + 1));
}

struct ListenAddress {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

// --listen HOST:PORT as a socket address: a numeric IPv4 or IPv6 host, a port 0-65535.
Result<ListenAddress> parse_listen(const std::string& listen) {
  CCI_ASSIGN(hp, split_host_port(listen));
  ListenAddress a;
  char* end = nullptr;
  const long port = std::strtol(hp.second.c_str(), &end, 10);
  if (hp.second.empty() || *end != '\0' || port < 0 || port > 65535) return make_error(ErrorCode::kUsage, "--listen port must be 0-65535", "listen");
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
  if (::inet_pton(AF_INET, hp.first.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    a.len = sizeof(*v4);
  } else if (::inet_pton(AF_INET6, hp.first.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    a.len = sizeof(*v6);
  } else {
    return make_error(ErrorCode::kUsage, "--listen host must be a numeric IPv4 or IPv6 address, not '" + hp.first + "'", "listen");
  }
  return a;
}

}  // namespace

bool is_loopback_listen(const std::string& listen) {
  auto a = parse_listen(listen);
  if (!a) return false;
  if (a->ss.ss_family == AF_INET) return (ntohl(reinterpret_cast<const sockaddr_in*>(&a->ss)->sin_addr.s_addr) >> 24) == 127;
  return a->ss.ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(&a->ss)->sin6_addr);
}

namespace {

// A listening TCP socket on `listen` (port 0: any free port); returns it and the bound port.
Result<std::pair<UniqueFd, int>> listen_on(const std::string& listen) {
  CCI_ASSIGN(addr, parse_listen(listen));
  const sockaddr_storage& ss = addr.ss;
  const socklen_t len = addr.len;
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return make_error(ErrorCode::kIo, std::string("socket: ") + std::strerror(errno), "listen");
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) return make_error(ErrorCode::kIo, "cannot listen on " + listen + ": " + std::strerror(errno), "listen");
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
class AttesterThread {
 public:
  using Continuation = std::function<void()>;
  using Task = std::function<Continuation()>;

  AttesterThread() : wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~AttesterThread() { stop(); }
  AttesterThread(const AttesterThread&) = delete;
  AttesterThread& operator=(const AttesterThread&) = delete;

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
  AcceptLoop(const ServeConfig& o, ServeRelease release, std::unique_ptr<Attestor> attestor, const ServeOutput& out)
      : o_(o), release_(std::move(release)), attestor_(std::move(attestor)), out_(out), fresh_limit_(o.fresh_rate), metrics_(o.version),
        metrics_open_(is_loopback_listen(o.listen)) {}

  Status run();

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
  void answer_evidence(ConnProc& c, const msg::EvidenceRequest& m);
  Result<Bytes> fresh_evidence(ratls::Claims fresh, Bytes cbor, std::string& gpu_b64);
  void answer_session(ConnProc& c, const msg::SessionRequest& m);
  void answer_metrics(ConnProc& c);
  // An encrypted model: the key from its owner (push) or from the key source (fetch), then unsealing.
  void offer_key(ConnProc& c, const msg::ModelKeyOffer& m);
  void fetch_key();
  using Unsealed = Result<std::pair<std::vector<std::pair<std::string, UniqueFd>>, double>>;
  static Unsealed unseal_with(const SealedRelease& s, ByteView key);
  void install_model(std::vector<std::pair<std::string, UniqueFd>> files, double seconds, const std::string& via);
  bool sealed() const { return release_.sealed.has_value() && key_state_ != KeyState::kReady; }
  Result<WorkerProc*> worker_for(const std::string& user);
  void on_worker_message(WorkerProc& w);
  void reap_children();
  void drain_reports(ConnProc& c);
  void record(const msg::RequestDone& d) { metrics_.request({d.route, d.status, d.seconds, d.first_token_seconds, d.prompt_tokens, d.completion_tokens}); }
  void retire_idle_workers();
  void reload_keys(bool force);
  void end_user(const std::string& user);
  void shut_down();
  void reply_error(ConnProc& c, int status, const std::string& message);
  ConnProc* conn_by_id(int id);

  const ServeConfig& o_;
  ServeRelease release_;  // the manifest and key bytes and the model's descriptors, for the life of the server
  std::unique_ptr<Attestor> attestor_;  // used on attester_'s thread once it has started
  const ServeOutput& out_;
  UniqueFd manifest_fd_;  // sealed memfd with the manifest bytes (connections serve it, workers read it)
  AttesterThread attester_;
  RateLimit fresh_limit_;
  std::optional<crypto::PrivateKey> key_;
  std::optional<crypto::Certificate> cert_;
  std::time_t cert_not_after_ = 0;
  bool renewing_ = false;
  ratls::Claims claims_;
  std::optional<ApiKeys> keys_;
  std::optional<FileStamp> keys_stamp_;
  UniqueFd listen_fd_, signal_fd_;
  std::deque<PendingSocket> pending_;
  std::vector<std::unique_ptr<ConnProc>> conns_;
  std::vector<std::unique_ptr<WorkerProc>> workers_;
  int next_conn_id_ = 1;
  bool stopping_ = false;
  Metrics metrics_;
  bool metrics_open_ = false;  // GET /metrics without an API key: only on a loopback listener
  enum class KeyState { kWaiting, kUnsealing, kReady } key_state_ = KeyState::kWaiting;
  // Pushed keys: one try per second from each client address (a wrong key costs one chunk's
  // decryption, so one client cannot keep the owner out by trying keys all the time).
  std::map<std::string, RateLimit> key_limits_;
  Clock::time_point next_fetch_ = Clock::now();
  double fetch_backoff_ = 1;
};

// The release was read once and verified by the caller: keep its bytes in a sealed memfd that
// every child reads, and say loudly when it names no VM.
Status AcceptLoop::load_release() {
  if (!release_.deployment) {
    out_.warn("serving a plain model bundle (--manifest): clients can check the model's signature but NOT which VM image serves it; "
              "they must pin a measurement themselves or accept any image by name (--insecure-any-measurement). Sign a deployment "
              "manifest (cci-measure manifest build) and serve it with --deployment.");
  }
  CCI_SET(manifest_fd_, sealed_memfd("cci-manifest", release_.manifest));
  log_event("accept", "release", {{"manifest", release_.deployment ? "deployment" : "model-bundle"},
                                  {"manifest_sha256", to_hex(crypto::digest(crypto::DigestAlg::kSha256, release_.manifest))},
                                  {"files", release_.files.size()}});
  if (release_.sealed) {
    // This process will hold the model's key and decrypt the weights: no core dumps, no ptrace
    // by the same user, nothing of it in /proc/PID/mem for anyone without CAP_SYS_PTRACE.
    CCI_TRY(harden_process());
    if (!release_.sealed->unseal) return make_error(ErrorCode::kInternal, "a sealed release without an unsealer", "key-source");
    log_event("accept", "model_sealed", {{"key_source", release_.sealed->key_source}, {"key_id", release_.sealed->key_id}});
    if (release_.sealed->key_source == "file") {
      out_.warn("the model key comes from a file (--key-source file://): for development only, the key sat on a disk; clients see "
                "it in the attested claims (cci-key-source), the ready file and /metrics");
    }
  }
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
  CCI_ASSIGN(keys, ApiKeys::load(o_.api_keys));
  if (keys.entries().empty()) return make_error(ErrorCode::kUsage, o_.api_keys + " has no users: add one with cci-run keys add", "api-keys");
  keys_ = std::move(keys);
  keys_stamp_ = stamp_of(o_.api_keys);
  // A key made here, and the attested certificate.
  CCI_ASSIGN(key, crypto::generate_key(crypto::KeyType::kEcP384));
  key_ = std::move(key);
  claims_ = ratls::identity_claims(key_->public_key(), release_.manifest, "tls-server", o_.deploy);
  if (release_.sealed) claims_.key_source = release_.sealed->key_source;  // attested: a client sees a development key source
  CCI_TRY(issue_certificate());
  attester_.start();  // from here on the attestor is the attester thread's alone
  if (::access(o_.conn_exe.c_str(), X_OK) != 0) return make_error(ErrorCode::kIo, "the connection helper " + o_.conn_exe + " is missing", "cci-run-conn");
  if (o_.worker_command.empty()) return make_error(ErrorCode::kUsage, "no worker command", "worker");
  return {};
}

ratls::AttestedCertSpec certificate_spec(const ServeConfig& o) {
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
  CCI_ASSIGN(issued, attestor_->issue(*key_, claims_, spec));
  for (const auto& w : issued.warnings) out_.warn(w);
  cert_ = std::move(issued.cert);
  cert_not_after_ = spec.not_after;
  log_event("accept", "certificate_issued", {{"tee", issued.tee}, {"simulated", issued.simulated}, {"pin", crypto::public_key_pin(*cert_)}});
  return {};
}

// An hour before the certificate ends, a new one is made on the attester thread.
void AcceptLoop::renew_certificate() {
  if (renewing_ || std::time(nullptr) <= cert_not_after_ - 3600) return;
  renewing_ = true;
  const auto spec = certificate_spec(o_);
  attester_.submit([this, spec]() -> AttesterThread::Continuation {
    auto issued = attestor_->issue(*key_, claims_, spec);
    return [this, spec, issued = std::make_shared<Result<IssuedCertificate>>(std::move(issued))] {
      renewing_ = false;
      if (!*issued) {
        log_event("accept", "certificate_renewal_failed", {{"error", issued->error().message}});
        cert_not_after_ = std::time(nullptr) + 3600 + 60;  // try again in a minute
        return;
      }
      cert_ = std::move((*issued)->cert);
      cert_not_after_ = spec.not_after;
      log_event("accept", "certificate_issued", {{"tee", (*issued)->tee}, {"simulated", (*issued)->simulated}, {"pin", crypto::public_key_pin(*cert_)}});
    };
  });
}

Status AcceptLoop::write_ready_file(int port) {
  if (o_.ready_file.empty()) return {};
  auto hp = split_host_port(o_.listen);
  std::string host = hp->first.find(':') != std::string::npos ? "[" + hp->first + "]" : hp->first;
  nlohmann::json j{{"url", "https://" + host + ":" + std::to_string(port)},
              {"pin", crypto::public_key_pin(*cert_)},
              {"pid", ::getpid()},
              {"manifest_sha256", to_hex(claims_.manifest_sha256)}};
  if (release_.sealed) j["key_source"] = release_.sealed->key_source;
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
  std::vector<LiveConnection> live;
  for (const auto& c : conns_) {
    if (c->pid > 0) live.push_back({c->id, c->peer, c->user.has_value(), c->started});
  }
  auto evict = admit(live, peer, o_.max_connections, o_.max_peer_connections);
  if (!evict) return false;
  for (int id : *evict) {
    for (auto& c : conns_) {
      if (c->id != id || c->pid <= 0) continue;
      log_event("accept", "connection_evicted", {{"conn", id}, {"reason", c->peer == peer ? "max-peer-connections" : "max-connections"}});
      ::kill(c->pid, SIGKILL);
      c->pid = -c->pid;  // reaped later; no longer counted
    }
  }
  return true;
}

void AcceptLoop::start_connection(PendingSocket s) {
  if (!make_room_for(s.peer)) {
    log_event("accept", "connection_refused", {{"reason", "all slots hold authenticated users"}, {"limit", o_.max_connections}});
    metrics_.connection_refused();
    return;
  }
  auto pair = socket_pair();
  if (!pair) return;
  auto c = std::make_unique<ConnProc>();
  c->id = next_conn_id_++;
  c->peer = s.peer;
  auto pid = spawn_process(o_.conn_exe, {"--conn-id", std::to_string(c->id)},
                                  {{s.fd.get(), 3}, {pair->second.get(), 4}, {manifest_fd_.get(), 5}});
  if (!pid) {
    log_event("accept", "spawn_failed", {{"role", "conn"}, {"error", pid.error().message}});
    return;
  }
  c->pid = *pid;
  c->ctl = std::move(pair->first);
  auto pem = key_->pem(std::nullopt);
  if (!pem) return;
  msg::ConnInit init;
  init.key_pem.assign(pem->begin(), pem->end());
  init.cert_pem = cert_->pem();
  init.model = o_.model_id;
  init.created = static_cast<std::int64_t>(std::time(nullptr));
  init.max_body_bytes = o_.max_body_bytes;
  init.max_prompt_bytes = o_.max_prompt_bytes;
  init.max_tokens = o_.max_tokens;
  init.handshake_timeout = o_.handshake_timeout;
  init.request_timeout = o_.request_timeout;
  init.keepalive_timeout = o_.keepalive_timeout;
  init.write_timeout = o_.write_timeout;
  init.metrics_open = metrics_open_;
  crypto::secure_clear(pem->data(), pem->size());
  const SecureJson init_json = msg::encode(init);
  wipe(init.key_pem);
  if (auto st = send_json(c->ctl.get(), init_json); !st) {
    log_event("accept", "conn_init_failed", {{"conn", c->id}, {"error", st.error().message}});
    ::kill(c->pid, SIGKILL);
  }
  log_event("accept", "connection", {{"conn", c->id}, {"conn_pid", c->pid}});
  metrics_.connection_opened();
  conns_.push_back(std::move(c));
}

void AcceptLoop::reply_error(ConnProc& c, int status, const std::string& message) {
  (void)send_json(c.ctl.get(), msg::encode(msg::ConnAnswer(msg::Refusal{status, message})));
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
void AcceptLoop::answer_evidence(ConnProc& c, const msg::EvidenceRequest& m) {
  if (++c.fresh_answers > o_.max_fresh) return reply_error(c, 429, "at most " + std::to_string(o_.max_fresh) + " fresh evidence answers per connection");
  const auto& b64 = m.claims_b64;
  auto cbor = base64_decode(std::string_view(b64.data(), b64.size()), "claims");
  if (!cbor) return reply_error(c, 400, cbor.error().message);
  auto claims = ratls::decode_claims(*cbor);
  if (!claims) return reply_error(c, 400, claims.error().message);
  // Fresh claims must repeat ours and add a nonce and an exporter value: nothing else gets signed.
  if (!claims->nonce || !claims->exporter) return reply_error(c, 400, "fresh claims need a nonce and an exporter value");
  if (auto st = ratls::check_fresh_claims(*claims, claims_, *claims->nonce, *claims->exporter); !st) return reply_error(c, 400, st.error().message);
  // Only the accept loop names GPU evidence, after it collected it.
  if (claims->gpu_sha256) return reply_error(c, 400, "fresh claims from a connection may not name GPU evidence");
  if (attester_.queued() >= 64 || !fresh_limit_.take()) {
    log_event("accept", "fresh_evidence_limited", {{"conn", c.id}});
    return reply_error(c, 429, "fresh evidence is rate limited on this server; retry in a second");
  }
  const int id = c.id;
  attester_.submit([this, id, cbor = std::move(*cbor), fresh = std::move(*claims)]() mutable -> AttesterThread::Continuation {
    auto gpu_b64 = std::make_shared<std::string>();
    auto tagged = std::make_shared<Result<Bytes>>(fresh_evidence(std::move(fresh), std::move(cbor), *gpu_b64));
    return [this, id, tagged, gpu_b64] {
      ConnProc* conn = conn_by_id(id);
      if (!conn) return;  // gone meanwhile
      if (!*tagged) return reply_error(*conn, 500, tagged->error().message);
      log_event("accept", "fresh_evidence", {{"conn", id}, {"gpu", !gpu_b64->empty()}});
      metrics_.evidence_served();
      (void)send_json(conn->ctl.get(), msg::encode(msg::ConnAnswer(msg::EvidenceAnswer{base64_encode(**tagged), *gpu_b64})));
    };
  });
}

// The TEE's evidence over `cbor`; with GPUs, first their evidence for the nonce derived from the
// client's nonce and this connection's exporter (into `gpu_b64`), named by its SHA-256 in the
// claims the CPU report then binds (ratls/fresh.h).
Result<Bytes> AcceptLoop::fresh_evidence(ratls::Claims fresh, Bytes cbor, std::string& gpu_b64) {
  if (attestor_->has_gpus()) {
    auto gpu = attestor_->gpu_evidence(ratls::gpu_nonce(*fresh.nonce, *fresh.exporter));
    if (!gpu) return make_error(gpu.error().code, "GPU evidence: " + gpu.error().message, "gpu");
    fresh.gpu_sha256 = crypto::digest(crypto::DigestAlg::kSha256, *gpu);
    CCI_SET(cbor, ratls::encode_claims(fresh));
    gpu_b64 = base64_encode(*gpu);
  }
  return attestor_->tagged_evidence(cbor);
}

Result<WorkerProc*> AcceptLoop::worker_for(const std::string& user) {
  // A worker that died (crash, refused start) is reaped before anything is routed to it: that
  // request starts a new worker instead of failing on a dead one.
  for (auto it = workers_.begin(); it != workers_.end();) {
    int status = 0;
    if ((*it)->user == user && ::waitpid((*it)->pid, &status, WNOHANG) == (*it)->pid) {
      nlohmann::json how = WIFSIGNALED(status) ? nlohmann::json{{"signal", WTERMSIG(status)}} : nlohmann::json{{"exit_code", WEXITSTATUS(status)}};
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
  CCI_ASSIGN(pair, socket_pair());
  std::vector<std::string> args(o_.worker_command.begin() + 1, o_.worker_command.end());
  for (const auto& a : std::vector<std::string>{"--user", user, "--model-id", o_.model_id, "--threads", std::to_string(o_.threads), "--context",
                                                std::to_string(o_.context), "--max-sessions", std::to_string(o_.max_user_connections),
                                                "--max-tokens", std::to_string(o_.max_tokens), "--max-prompt-bytes",
                                                std::to_string(o_.max_prompt_bytes), "--write-timeout", std::to_string(o_.write_timeout),
                                                "--stream-interval", std::to_string(o_.stream_interval)}) {
    args.push_back(a);
  }
  // The worker gets bytes and descriptors, never paths: the manifest (4) and the model's files
  // (5...), exactly what this process verified at start.
  std::vector<ChildFd> fds{{pair.second.get(), 3}, {manifest_fd_.get(), 4}};
  msg::WorkerInit init;
  init.release_key_pem.assign(release_.key_pem.begin(), release_.key_pem.end());
  init.release_trusted_root.assign(release_.trusted_root.begin(), release_.trusted_root.end());
  init.release_identity = release_.identity;
  init.release_identity_regexp = release_.identity_regexp;
  init.release_issuer = release_.issuer;
  init.where = release_.where;
  init.single_file = release_.single_file;
  int target = 5;
  for (const auto& [name, fd] : release_.files) {
    fds.push_back({fd.get(), target++});
    init.files.push_back(name);
  }
  CCI_ASSIGN(pid, spawn_process(o_.worker_command[0], args, fds));
  auto w = std::make_unique<WorkerProc>();
  w->pid = pid;
  w->ctl = std::move(pair.first);
  w->user = user;
  if (auto st = send_json(w->ctl.get(), msg::encode(init)); !st) {
    ::kill(pid, SIGKILL);
    w->retiring = true;
  }
  log_event("accept", "worker_started", {{"user", user}, {"worker_pid", pid}});
  metrics_.worker_started();
  workers_.push_back(std::move(w));
  return workers_.back().get();
}

void AcceptLoop::answer_session(ConnProc& c, const msg::SessionRequest& m) {
  const auto& hex = m.key_sha256_hex;
  auto hash = from_hex(std::string_view(hex.data(), hex.size()), "key_sha256", 32);
  if (!hash) return reply_error(c, 400, hash.error().message);
  auto user = keys_->user_for_hash(*hash);
  if (!user) {
    log_event("accept", "auth_failed", {{"conn", c.id}});
    metrics_.auth_failed();
    return reply_error(c, 401, "invalid API key");
  }
  if (c.user && *c.user != *user) {
    log_event("accept", "auth_refused", {{"conn", c.id}, {"reason", "connection bound to another user"}});
    return reply_error(c, 403, "this connection already serves another user; open a new connection");
  }
  c.user = *user;
  if (!m.want_worker) {
    (void)send_json(c.ctl.get(), msg::encode(msg::ConnAnswer(msg::SessionGranted{*user})));  // authentication only (GET /v1/models)
    return;
  }
  if (sealed()) {
    const std::string& source = release_.sealed->key_source;
    if (source != "push") {
      return reply_error(c, 503, "model key not provisioned: the model is encrypted and this server is still fetching its key from the " + source + " key source");
    }
    return reply_error(c, 503, key_state_ == KeyState::kUnsealing
                                   ? "model key not provisioned yet: a key arrived and the model is being decrypted and checked; retry in a few seconds"
                                   : "model key not provisioned: the model is encrypted and this server waits for its owner to provision the key "
                                     "(cci-verify remote URL --release-key KEY --provision-key DEK)");
  }
  auto w = worker_for(*user);
  if (!w) return reply_error(c, 503, w.error().message);
  auto pair = socket_pair();
  if (!pair) return reply_error(c, 500, pair.error().message);
  if (auto st = send_json((*w)->ctl.get(), msg::encode(msg::WorkerCommand(msg::SessionOffer{c.id})), pair->first.get()); !st) {
    (*w)->retiring = true;
    return reply_error(c, 502, "the user's worker is gone; retry");
  }
  (*w)->busy = true;  // until it says otherwise
  log_event("accept", "session", {{"conn", c.id}, {"user", *user}, {"worker_pid", (*w)->pid}});
  (void)send_json(c.ctl.get(), msg::encode(msg::ConnAnswer(msg::SessionGranted{*user})), pair->second.get());
}

// Decrypts into memory and checks the plaintext against the signed release (on the attester thread).
AcceptLoop::Unsealed AcceptLoop::unseal_with(const SealedRelease& s, ByteView key) {
  const auto t0 = Clock::now();
  CCI_ASSIGN(files, s.unseal(key));
  return std::make_pair(std::move(files), std::chrono::duration<double>(Clock::now() - t0).count());
}

void AcceptLoop::install_model(std::vector<std::pair<std::string, UniqueFd>> files, double seconds, const std::string& via) {
  release_.files = std::move(files);
  key_state_ = KeyState::kReady;
  log_event("accept", "model_unsealed", {{"key_source", via}, {"files", release_.files.size()}, {"seconds", seconds}});
  out_.info("model key provisioned (" + via + "): " + std::to_string(release_.files.size()) + " files decrypted into memory and verified in " +
            std::to_string(seconds).substr(0, 5) + " s; serving");
}

// POST /v1/attestation/model-key: taken once per server start, only for the push source, at most
// one try per second from one address. A key that does not open the model leaves the server sealed.
void AcceptLoop::offer_key(ConnProc& c, const msg::ModelKeyOffer& m) {
  if (!release_.sealed) return reply_error(c, 404, "this server's model is not encrypted: there is no key to provision");
  if (release_.sealed->key_source != "push") {
    return reply_error(c, 403, "this server takes its model key from the " + release_.sealed->key_source + " key source, not from a client");
  }
  if (key_state_ == KeyState::kReady) return reply_error(c, 409, "the model key was already provisioned for this server start");
  if (key_state_ == KeyState::kUnsealing) return reply_error(c, 409, "a model key is being tried right now; retry in a few seconds");
  if (key_limits_.size() > 4096) key_limits_.clear();
  if (!key_limits_.try_emplace(c.peer, 1.0).first->second.take()) return reply_error(c, 429, "one model key per second from one address; retry in a second");
  const auto& b64 = m.key_b64;
  auto key = base64_decode(std::string_view(b64.data(), b64.size()), "key");
  if (!key || key->size() != crypto::kAeadKeyBytes) {
    if (key) crypto::secure_clear(key->data(), key->size());
    return reply_error(c, 400, "the model key must be 32 bytes (base64)");
  }
  key_state_ = KeyState::kUnsealing;
  log_event("accept", "model_key_offered", {{"conn", c.id}});
  const int id = c.id;
  auto secret = std::make_shared<crypto::SecretBytes>(std::move(*key));
  attester_.submit([this, id, secret]() -> AttesterThread::Continuation {
    auto result = std::make_shared<Unsealed>(unseal_with(*release_.sealed, secret->view()));
    *secret = crypto::SecretBytes();  // wiped
    return [this, id, result] {
      ConnProc* conn = conn_by_id(id);
      if (!*result) {
        key_state_ = KeyState::kWaiting;
        log_event("accept", "model_key_refused", {{"conn", id}, {"field", result->error().field}});
        if (conn) reply_error(*conn, result->error().code == ErrorCode::kVerificationFailed ? 403 : 500, result->error().message);
        return;
      }
      const auto files = static_cast<std::int64_t>((*result)->first.size());
      const double seconds = (*result)->second;
      install_model(std::move((*result)->first), seconds, "push");
      if (conn) (void)send_json(conn->ctl.get(), msg::encode(msg::ConnAnswer(msg::KeyAccepted{files, seconds})));
    };
  });
}

// A key source other than push: fetched on the attester thread (it may need fresh evidence), then
// unsealed there; failures are logged and retried with a growing pause (at most five minutes).
void AcceptLoop::fetch_key() {
  if (!release_.sealed || !release_.sealed->fetch || key_state_ != KeyState::kWaiting || Clock::now() < next_fetch_) return;
  key_state_ = KeyState::kUnsealing;
  attester_.submit([this]() -> AttesterThread::Continuation {
    auto key = release_.sealed->fetch(*attestor_);
    if (!key) {
      auto e = std::make_shared<Error>(key.error());
      return [this, e] {
        key_state_ = KeyState::kWaiting;
        // Refused by the key broker's policy: reported now, asked again only once a minute (the
        // operator must change the policy or the reference values first).
        fetch_backoff_ = e->field == "policy-deny" ? 60.0 : std::min(300.0, fetch_backoff_ * 2);
        next_fetch_ = Clock::now() + std::chrono::milliseconds(static_cast<int>(fetch_backoff_ * 1000));
        log_event("accept", "model_key_fetch_failed", {{"key_source", release_.sealed->key_source}, {"error", e->message}, {"field", e->field},
                                                        {"retry_seconds", fetch_backoff_}});
        out_.warn("the model key could not be fetched from the " + release_.sealed->key_source + " key source: " + e->message + " (retrying in " +
                  std::to_string(static_cast<int>(fetch_backoff_)) + " s)");
      };
    }
    auto result = std::make_shared<Unsealed>(unseal_with(*release_.sealed, key->view()));
    *key = crypto::SecretBytes();  // wiped
    return [this, result] {
      if (!*result) {
        // The source gave a key that does not open this model: asking again gives the same key.
        key_state_ = KeyState::kWaiting;
        fetch_backoff_ = 300;
        next_fetch_ = Clock::now() + std::chrono::seconds(300);
        log_event("accept", "model_key_refused", {{"key_source", release_.sealed->key_source}, {"field", result->error().field}});
        out_.warn("the key from the " + release_.sealed->key_source + " key source does not open this model: " + result->error().message);
        return;
      }
      install_model(std::move((*result)->first), (*result)->second, release_.sealed->key_source);
    };
  });
}

void AcceptLoop::on_conn_message(ConnProc& c) {
  auto msg = recv_json(c.ctl.get(), 64 * 1024);
  if (!msg) {
    c.ctl.reset();  // the process ended (reaped on SIGCHLD)
    return;
  }
  auto request = msg::decode_conn_request(msg->message);
  if (!request) return reply_error(c, 400, request.error().message);
  if (const auto* e = std::get_if<msg::EvidenceRequest>(&*request)) return answer_evidence(c, *e);
  if (const auto* d = std::get_if<msg::RequestDone>(&*request)) {
    record(*d);
    return;  // not answered
  }
  if (std::holds_alternative<msg::MetricsRequest>(*request)) return answer_metrics(c);
  if (const auto* k = std::get_if<msg::ModelKeyOffer>(&*request)) return offer_key(c, *k);
  answer_session(c, std::get<msg::SessionRequest>(*request));
}

void AcceptLoop::answer_metrics(ConnProc& c) {
  Metrics::Gauges g;
  for (const auto& x : conns_) g.connections += x->pid > 0 ? 1 : 0;
  for (const auto& w : workers_) {
    g.workers += w->retiring ? 0 : 1;
    g.busy_workers += !w->retiring && w->busy ? 1 : 0;
  }
  g.certificate_not_after = static_cast<std::int64_t>(cert_not_after_);
  if (release_.sealed) {
    g.key_source = release_.sealed->key_source;
    g.model_sealed = sealed();
  }
  (void)send_json(c.ctl.get(), msg::encode(msg::ConnAnswer(msg::MetricsAnswer{metrics_.render(g)})));
}

void AcceptLoop::on_worker_message(WorkerProc& w) {
  auto msg = recv_json(w.ctl.get(), 64 * 1024);
  if (!msg) {
    w.ctl.reset();
    w.retiring = true;
    return;
  }
  auto status = msg::decode_worker_status(msg->message);
  if (!status) {
    log_event("accept", "worker_protocol_error", {{"user", w.user}, {"worker_pid", w.pid}, {"field", status.error().field}});
    return;
  }
  switch (status->kind) {
    case msg::WorkerStatus::Kind::kIdle:
      w.busy = false;
      w.idle_since = Clock::now();
      break;
    case msg::WorkerStatus::Kind::kBusy: w.busy = true; break;
    case msg::WorkerStatus::Kind::kReady: log_event("accept", "worker_ready", {{"user", w.user}, {"worker_pid", w.pid}}); break;
    case msg::WorkerStatus::Kind::kStartFailed:
      w.retiring = true;
      log_event("accept", "worker_start_failed", {{"user", w.user}, {"worker_pid", w.pid}});
      out_.warn("a worker refused to start: " + status->error);
      break;
  }
}

void AcceptLoop::retire_idle_workers() {
  const auto now = Clock::now();
  for (auto& w : workers_) {
    if (w->retiring || w->busy || !w->ctl.valid()) continue;
    if (std::chrono::duration<double>(now - w->idle_since).count() < o_.idle_timeout) continue;
    w->retiring = true;
    log_event("accept", "worker_idle_exit", {{"user", w->user}, {"worker_pid", w->pid}});
    (void)send_json(w->ctl.get(), msg::encode(msg::WorkerCommand(msg::Exit{})));
  }
}

void AcceptLoop::reap_children() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    nlohmann::json how = WIFSIGNALED(status) ? nlohmann::json{{"signal", WTERMSIG(status)}} : nlohmann::json{{"exit_code", WEXITSTATUS(status)}};
    for (auto it = conns_.begin(); it != conns_.end(); ++it) {
      if ((*it)->pid != pid && (*it)->pid != -pid) continue;
      how["conn"] = (*it)->id;
      drain_reports(**it);
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

// A connection process that answered its last request and exited at once: its report of that
// request (RequestDone) may still wait on the control socket when SIGCHLD is handled, which comes
// first in the loop. Counted before the descriptor goes, so /metrics misses no request; anything
// else it left needs no answer any more.
void AcceptLoop::drain_reports(ConnProc& c) {
  for (int i = 0; i < 64 && c.ctl.valid(); ++i) {
    pollfd p{c.ctl.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) return;
    auto frame = recv_json(c.ctl.get(), 64 * 1024);
    if (!frame) return;
    auto request = msg::decode_conn_request(frame->message);
    if (!request) return;
    if (const auto* d = std::get_if<msg::RequestDone>(&*request)) {
      record(*d);
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
  auto keys = ApiKeys::load(o_.api_keys);
  if (!keys) {
    log_event("accept", "api_keys_reload_failed", {{"error", keys.error().message}});
    out_.warn("cannot re-read " + o_.api_keys + " (" + keys.error().message + "): every user is refused until it is fixed");
    keys_ = ApiKeys();  // fail closed: a broken key file admits nobody
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

Status AcceptLoop::run() {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);  // before the attester thread starts: it inherits the mask
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  CCI_TRY(start_up());
  CCI_ASSIGN(listening, listen_on(o_.listen));
  listen_fd_ = std::move(listening.first);
  CCI_TRY(write_ready_file(listening.second));
  log_event("accept", "listening", {{"port", listening.second}, {"pin", crypto::public_key_pin(*cert_)}});
  out_.info("serving " + o_.model_id + " on port " + std::to_string(listening.second) + ", certificate pin " + crypto::public_key_pin(*cert_));
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
    fetch_key();
  }
  shut_down();
  return {};
}

}  // namespace

bool RateLimit::take(Clock::time_point now) {
  tokens_ = std::min(std::max(1.0, rate_), tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
  last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

std::optional<std::vector<int>> admit(const std::vector<LiveConnection>& live, const std::string& peer, int max_connections, int max_peer_connections) {
  std::vector<int> evict;
  auto evicted = [&](int id) { return std::find(evict.begin(), evict.end(), id) != evict.end(); };
  auto count = [&](bool same_peer) {
    int n = 0;
    for (const auto& c : live) n += !evicted(c.id) && (!same_peer || c.peer == peer) ? 1 : 0;
    return n;
  };
  auto evict_oldest = [&](bool same_peer) {
    const LiveConnection* victim = nullptr;
    for (const auto& c : live) {
      if (c.authenticated || evicted(c.id) || (same_peer && c.peer != peer)) continue;
      if (!victim || c.started < victim->started) victim = &c;
    }
    if (!victim) return false;
    evict.push_back(victim->id);
    return true;
  };
  if (count(true) >= max_peer_connections && !evict_oldest(true)) return std::nullopt;
  if (count(false) >= max_connections && !evict_oldest(false)) return std::nullopt;
  return evict;
}

Status check_listen_address(const std::string& listen) {
  CCI_TRY(parse_listen(listen));
  return {};
}

Status run_accept_loop(const ServeConfig& config, ServeRelease release, std::unique_ptr<Attestor> attestor, const ServeOutput& out) {
  AcceptLoop loop(config, std::move(release), std::move(attestor), out);
  return loop.run();
}

}  // namespace cci::serve
