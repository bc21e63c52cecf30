// cci-run serve-worker (started by cci-run serve, not by hand): the per-user inference worker.
// It serves one user for its whole life and is never reused. It opens nothing by path: the
// accept loop hands it the release key (first control frame), the signed manifest (descriptor 4,
// a sealed memfd) and the model's files (descriptors 5..., opened once and checked by the accept
// loop); the worker verifies the manifest and every file again from those bytes and descriptors
// (weights mapped read-only and shared through the page cache), so a host that replaced files on
// disk after the start changes nothing here. A model that no longer matches the attested manifest
// (rewritten in place) stops the start: every waiting request gets 503 with the reason. Then it
// hardens itself (PR_SET_DUMPABLE 0, no core dumps, no new privileges), warms libtorch up,
// installs the seccomp allow-list and takes sessions from the accept loop on descriptor 3.
// A session is a socket to one of the user's connection processes:
//   in:  one frame per request: 'T' (completions) or 'C' (chat) followed by the request body
//   out: {"t":"delta","text":...}* then {"t":"done",...} or {"t":"error","status":N,...}
// The KV cache starts empty for every request and is zeroed after it; request and output
// buffers are wiped (SecureString, SecureJson, token ids).
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

#include "commands.h"
#include "base/file_io.h"
#include "crypto/random.h"
#include "infer/engine.h"
#include "infer/generate.h"
#include "model_loading.h"
#include "serve/ipc.h"
#include "serve/log.h"
#include "serve/openai_api.h"
#include "serve/sandbox.h"

namespace cci::tools::run {
namespace {

using serve::SecureJson;
constexpr int kControlFd = 3, kManifestFd = 4, kFirstModelFd = 5;

struct WorkerCliOptions {
  std::string user, model_id;
  int threads = 0, max_sessions = 4;
  std::int64_t context = 0, max_tokens = 512;
  size_t max_prompt_bytes = 64 * 1024;
  double write_timeout = 30;
};

// Token ids spell the prompt: they are wiped too.
struct WipedIds {
  std::vector<std::int64_t> ids;
  ~WipedIds() { crypto::secure_clear(ids.data(), ids.size() * sizeof(std::int64_t)); }
};

class Worker {
 public:
  Worker(const WorkerCliOptions& o, infer::LoadedModel model, std::unique_ptr<infer::Engine> engine)
      : o_(o), model_(std::move(model)), engine_(std::move(engine)) {}

  void run();

 private:
  void take_session(serve::JsonFrame f);
  bool serve_request(int session);  // false: the session is over
  void refuse_request(int session);
  Status generate_for(int session, const serve::CompletionRequest& r);
  void send_error(int session, int status, const std::string& message, const std::string& param = {});

  const WorkerCliOptions& o_;
  infer::LoadedModel model_;
  std::unique_ptr<infer::Engine> engine_;
  struct Session {
    UniqueFd fd;
    bool refused = false;  // over --max-sessions: its one request gets 429, then it closes
  };
  std::vector<Session> sessions_;
  bool exit_ = false;
};

void Worker::send_error(int session, int status, const std::string& message, const std::string& param) {
  (void)serve::send_json(session, SecureJson{{"t", "error"}, {"status", status}, {"message", message}, {"param", param}});
}

void Worker::take_session(serve::JsonFrame f) {
  if (!f.fd.valid()) return;
  // A connection that stops reading (its client stalled) cannot hold this worker up: a send
  // that waits longer than the write deadline fails and ends that session only.
  timeval tv{static_cast<time_t>(o_.write_timeout), 0};
  ::setsockopt(f.fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const auto active = std::count_if(sessions_.begin(), sessions_.end(), [](const Session& s) { return !s.refused; });
  const bool refused = active >= o_.max_sessions;
  if (refused) serve::log_event("worker", "session_refused", {{"user", o_.user}, {"reason", "max-user-connections"}});
  sessions_.push_back({std::move(f.fd), refused});
}

Status Worker::generate_for(int session, const serve::CompletionRequest& r) {
  if (!model_.tokenizer) return make_error(ErrorCode::kUnsupported, "the model has no tokenizer", "model");
  WipedIds prompt;
  {
    auto ids = model_.tokenizer->encode(std::string_view(r.prompt.data(), r.prompt.size()));
    if (!ids) return ids.error();
    prompt.ids = std::move(*ids);
  }
  if (auto bos = model_.tokenizer->bos_id()) prompt.ids.insert(prompt.ids.begin(), *bos);
  const std::int64_t room = engine_->context() - static_cast<std::int64_t>(prompt.ids.size());
  if (room < 1) {
    return make_error(ErrorCode::kInvalidInput,
                      "the prompt is " + std::to_string(prompt.ids.size()) + " tokens; the context holds " + std::to_string(engine_->context()), "prompt");
  }
  infer::GenerateOptions go;
  go.max_tokens = std::min(r.max_tokens, room);
  go.sampling = {r.temperature, r.top_k, r.top_p, r.seed};
  if (!r.ignore_eos) {
    go.stop_ids = model_.config.eos_ids;
    if (go.stop_ids.empty() && model_.tokenizer->eos_id()) go.stop_ids.push_back(*model_.tokenizer->eos_id());
  }
  infer::StreamDecoder decoder(*model_.tokenizer, prompt.ids);
  bool peer_gone = false;
  go.on_token = [&](std::int64_t id) {
    SecureString piece(decoder.push(id));
    if (piece.empty()) return true;
    if (!serve::send_json(session, SecureJson{{"t", "delta"}, {"text", piece}})) peer_gone = true;
    wipe(piece);
    return !peer_gone;
  };
  WipedIds out;
  engine_->reset();
  auto stats = infer::generate(*engine_, prompt.ids, go, out.ids);
  engine_->reset();  // zeroes the cache rows this request used
  if (!stats) return stats.error();
  if (peer_gone) return {};
  if (SecureString tail(decoder.finish()); !tail.empty()) {
    if (!serve::send_json(session, SecureJson{{"t", "delta"}, {"text", tail}})) return {};
    wipe(tail);
  }
  const std::string finish = stats->stop_reason == "stop token" ? "stop" : "length";
  (void)serve::send_json(session, SecureJson{{"t", "done"},
                                             {"finish_reason", finish},
                                             {"prompt_tokens", stats->prompt_tokens},
                                             {"completion_tokens", stats->generated}});
  serve::log_event("worker", "completion", {{"user", o_.user}, {"prompt_tokens", stats->prompt_tokens}, {"completion_tokens", stats->generated},
                                            {"prefill_seconds", stats->prefill_seconds}, {"decode_seconds", stats->decode_seconds}});
  return {};
}

// The connection asked over the limit: read its request (unseen), answer 429.
void Worker::refuse_request(int session) {
  auto frame = serve::recv_frame(session, o_.max_prompt_bytes * 8 + (1u << 20));
  if (!frame) return;
  wipe(frame->payload);
  send_error(session, 429, "this user already has " + std::to_string(o_.max_sessions) + " connections at work; retry later", "max-user-connections");
}

bool Worker::serve_request(int session) {
  auto frame = serve::recv_frame(session, o_.max_prompt_bytes * 8 + (1u << 20));
  if (!frame) return false;
  if (frame->payload.empty() || (frame->payload[0] != 'T' && frame->payload[0] != 'C')) {
    send_error(session, 400, "malformed request frame");
    return false;
  }
  serve::ApiLimits limits;
  limits.max_tokens = o_.max_tokens;
  limits.max_prompt_bytes = o_.max_prompt_bytes;
  const bool chat = frame->payload[0] == 'C';
  auto req = serve::parse_completion_request(std::string_view(frame->payload).substr(1), chat, limits);
  wipe(frame->payload);
  if (!req) {
    send_error(session, 400, req.error().message, req.error().field);
    return true;
  }
  if (auto st = generate_for(session, *req); !st) {
    send_error(session, st.error().code == ErrorCode::kInvalidInput ? 400 : 500, st.error().message, st.error().field);
  }
  wipe(req->prompt);
  return true;
}

void Worker::run() {
  (void)serve::send_json(kControlFd, SecureJson{{"op", "ready"}});
  bool idle_reported = false;
  while (!exit_) {
    std::vector<pollfd> fds{{kControlFd, POLLIN, 0}};
    for (auto& s : sessions_) fds.push_back({s.fd.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      auto f = serve::recv_json(kControlFd, 4096);
      if (!f) break;  // the accept loop is gone
      const auto& op = f->message.value("op", SecureString());
      if (op == "exit") exit_ = true;
      else if (op == "session") take_session(std::move(*f));
    }
    std::vector<int> closed;
    for (size_t i = 1; i < fds.size() && !exit_; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (idle_reported) {
        (void)serve::send_json(kControlFd, SecureJson{{"op", "busy"}});
        idle_reported = false;
      }
      const bool refused = sessions_[i - 1].refused;
      bool keep = false;
      try {
        if (refused) refuse_request(fds[i].fd);
        else keep = serve_request(fds[i].fd);
      } catch (const std::exception&) {
        // Nothing here may carry model output or a prompt into a log: the class of error only.
        serve::log_event("worker", "request_failed", {{"user", o_.user}, {"error", "exception"}});
        send_error(fds[i].fd, 500, "internal error in the inference worker");
      }
      if (!keep) closed.push_back(fds[i].fd);
    }
    for (int fd : closed) {
      std::erase_if(sessions_, [fd](const Session& s) { return s.fd.get() == fd; });
    }
    if (sessions_.empty() && !idle_reported) {
      (void)serve::send_json(kControlFd, SecureJson{{"op", "idle"}});
      idle_reported = true;
    }
  }
  sessions_.clear();
  serve::log_event("worker", "exit", {{"user", o_.user}});
}

// The model the accept loop checked: the release from its control frame and descriptor 4, the
// files from descriptors 5..., verified again here.
Result<infer::LoadedModel> receive_model() {
  CCI_ASSIGN(init, serve::recv_json(kControlFd, 1u << 20));
  const auto& m = init.message;
  if (!m.contains("release_key") || !m["release_key"].is_string() || !m.contains("files") || !m["files"].is_array() ||
      !m.contains("where") || !m["where"].is_string() || !m.contains("single_file") || !m["single_file"].is_boolean()) {
    return make_error(ErrorCode::kMalformed, "the accept loop's model frame is incomplete", "ipc");
  }
  CCI_ASSIGN(manifest_bytes, read_fd(kManifestFd, "the signed manifest", manifest::kMaxReleaseManifestBytes));
  ::close(kManifestFd);
  manifest::Release release;
  release.manifest = std::move(manifest_bytes);
  const auto& key = m["release_key"].get_ref<const SecureString&>();
  release.key_pem.assign(key.begin(), key.end());
  std::vector<manifest::OpenedFile> files;
  int fd = kFirstModelFd;
  for (const auto& name : m["files"]) {
    if (!name.is_string()) return make_error(ErrorCode::kMalformed, "the accept loop's model frame names a file oddly", "ipc");
    files.push_back({std::string(name.get_ref<const SecureString&>()), UniqueFd(fd++)});
  }
  auto opened = manifest::OpenedModel::adopt(std::string(m["where"].get_ref<const SecureString&>()), m["single_file"].get<bool>(), std::move(files));
  return load_release_model(release, opened);  // the descriptors close here; the mappings stay
}

// The start failed: the accept loop hears why, and every request already waiting on a session
// gets 503 with the reason instead of a dropped connection.
int refuse_to_start(const WorkerCliOptions& o, const Error& e) {
  serve::log_event("worker", "start_failed", {{"user", o.user}, {"error", e.message}, {"field", e.field}});
  (void)serve::send_json(kControlFd, SecureJson{{"op", "start_failed"}, {"error", e.message}});
  const std::string message = e.code == ErrorCode::kVerificationFailed
                                  ? "this server's model no longer matches its attested manifest (" + e.message + "); the operator must restore it"
                                  : "the inference worker could not start: " + e.message;
  for (int waited = 0; waited < 5;) {
    pollfd p{kControlFd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      ++waited;
      continue;
    }
    auto f = serve::recv_json(kControlFd, 4096);
    if (!f) break;
    if (f->fd.valid()) {
      (void)serve::send_json(f->fd.get(), SecureJson{{"t", "error"}, {"status", 503}, {"message", message}, {"param", "model"}});
    }
  }
  return cli::to_int(cli::exit_code_for(e.code));
}

int run_worker(const WorkerCliOptions& o) {
  const auto started = std::chrono::steady_clock::now();
  ::signal(SIGPIPE, SIG_IGN);
  if (auto st = serve::harden_process(); !st) return refuse_to_start(o, st.error());
  auto model = receive_model();
  if (!model) return refuse_to_start(o, model.error());
  infer::EngineOptions eo;
  eo.threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  eo.context = o.context;
  auto engine = infer::Engine::create(model->config, model->weights, eo);
  if (!engine) return refuse_to_start(o, engine.error());
  // Warm-up before the sandbox: libtorch and OpenMP open files and start threads on first use.
  if (auto warm = (*engine)->forward({0, 0}); !warm) return refuse_to_start(o, warm.error());
  if (auto warm = (*engine)->forward({0}); !warm) return refuse_to_start(o, warm.error());
  (*engine)->reset();
  if (auto st = serve::apply_syscall_allow_list(serve::SandboxProfile::kWorker); !st) return refuse_to_start(o, st.error());
  serve::log_event("worker", "ready", {{"user", o.user}, {"threads", eo.threads}, {"context", (*engine)->context()},
                                       {"start_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}});
  Worker w(o, std::move(*model), std::move(*engine));
  w.run();
  return 0;
}

}  // namespace

void add_serve_worker(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  (void)ctx;
  auto o = std::make_shared<WorkerCliOptions>();
  auto* sub = app.add_subcommand("serve-worker", "Per-user worker of cci-run serve (started by serve; not for direct use)");
  sub->group("");  // hidden from --help
  sub->add_option("--user", o->user)->required();
  sub->add_option("--model-id", o->model_id);
  sub->add_option("--write-timeout", o->write_timeout);
  sub->add_option("--threads", o->threads);
  sub->add_option("--context", o->context);
  sub->add_option("--max-sessions", o->max_sessions);
  sub->add_option("--max-tokens", o->max_tokens);
  sub->add_option("--max-prompt-bytes", o->max_prompt_bytes);
  sub->callback([o, &action] { action = [o] { return run_worker(*o); }; });
}

}  // namespace cci::tools::run
