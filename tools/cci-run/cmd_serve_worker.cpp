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
#include "serve/messages.h"
#include "serve/openai_api.h"
#include "serve/sandbox.h"
#include "serve/worker.h"

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
  double stream_interval = serve::WorkerLimits{}.output_interval;
};

// Token ids spell the prompt: they are wiped too.
struct WipedIds {
  std::vector<std::int64_t> ids;
  ~WipedIds() { crypto::secure_clear(ids.data(), ids.size() * sizeof(std::int64_t)); }
};

// The engine behind the worker's session loop: tokenize (into wiped ids), generate with the
// request's sampling, stream valid UTF-8 text (StreamDecoder), and zero the KV rows afterwards.
class EngineGenerator final : public serve::Generator {
 public:
  EngineGenerator(infer::LoadedModel model, std::unique_ptr<infer::Engine> engine) : model_(std::move(model)), engine_(std::move(engine)) {}

  Result<serve::GenerationStats> generate(const serve::CompletionRequest& r, const std::function<bool(std::string_view)>& on_text) override {
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
    bool going = true;
    go.on_token = [&](std::int64_t id) {
      SecureString piece(decoder.push(id));
      if (!piece.empty()) going = on_text(std::string_view(piece.data(), piece.size()));
      wipe(piece);
      return going;
    };
    WipedIds out;
    engine_->reset();
    auto stats = infer::generate(*engine_, prompt.ids, go, out.ids);
    engine_->reset();  // zeroes the cache rows this request used
    if (!stats) return stats.error();
    if (going) {
      if (SecureString tail(decoder.finish()); !tail.empty()) {
        going = on_text(std::string_view(tail.data(), tail.size()));
        wipe(tail);
      }
    }
    return serve::GenerationStats{stats->prompt_tokens, stats->generated, stats->stop_reason == "stop token", stats->prefill_seconds,
                                  stats->decode_seconds, stats->callback_seconds};
  }

  infer::Engine& engine() { return *engine_; }

 private:
  infer::LoadedModel model_;
  std::unique_ptr<infer::Engine> engine_;
};

// The model the accept loop checked: the release from its control frame and descriptor 4, the
// files from descriptors 5..., verified again here.
Result<infer::LoadedModel> receive_model() {
  CCI_ASSIGN(frame, serve::recv_json(kControlFd, 1u << 20));
  CCI_ASSIGN(init, serve::msg::decode_worker_init(frame.message));
  CCI_ASSIGN(manifest_bytes, read_fd(kManifestFd, "the signed manifest", manifest::kMaxReleaseManifestBytes));
  ::close(kManifestFd);
  manifest::Release release;
  release.manifest = std::move(manifest_bytes);
  release.signer.key_pem.assign(init.release_key_pem.begin(), init.release_key_pem.end());
  release.signer.trusted_root.assign(init.release_trusted_root.begin(), init.release_trusted_root.end());
  release.signer.identity = {init.release_identity, init.release_identity_regexp, init.release_issuer};
  std::vector<manifest::OpenedFile> files;
  int fd = kFirstModelFd;
  for (auto& name : init.files) files.push_back({std::move(name), UniqueFd(fd++)});
  auto opened = manifest::OpenedModel::adopt(init.where, init.single_file, std::move(files));
  return load_release_model(release, opened);  // the descriptors close here; the mappings stay
}

// The start failed: the accept loop hears why, and every request already waiting on a session
// gets 503 with the reason instead of a dropped connection.
int refuse_to_start(const WorkerCliOptions& o, const Error& e) {
  serve::log_event("worker", "start_failed", {{"user", o.user}, {"error", e.message}, {"field", e.field}});
  (void)serve::send_json(kControlFd, serve::msg::encode(serve::msg::WorkerStatus{serve::msg::WorkerStatus::Kind::kStartFailed, e.message}));
  serve::msg::SessionEvent refusal;
  refusal.kind = serve::msg::SessionEvent::Kind::kError;
  refusal.status = 503;
  refusal.param = "model";
  refusal.message = e.code == ErrorCode::kVerificationFailed
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
    if (f->fd.valid()) (void)serve::send_json(f->fd.get(), serve::msg::encode(refusal));
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
  const std::string blas = infer::blas_kernels();  // logged: cci-bench overhead compares it with its own engine's
  if (auto st = serve::apply_syscall_allow_list(serve::SandboxProfile::kWorker); !st) return refuse_to_start(o, st.error());
  serve::log_event("worker", "ready", {{"user", o.user}, {"threads", eo.threads}, {"context", (*engine)->context()}, {"blas", blas},
                                       {"start_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}});
  EngineGenerator generator(std::move(*model), std::move(*engine));
  serve::WorkerLimits limits;
  limits.user = o.user;
  limits.max_sessions = o.max_sessions;
  limits.max_tokens = o.max_tokens;
  limits.max_prompt_bytes = o.max_prompt_bytes;
  limits.write_timeout = o.write_timeout;
  limits.output_interval = o.stream_interval;
  serve::run_worker_loop(kControlFd, generator, limits);
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
  sub->add_option("--stream-interval", o->stream_interval);
  sub->add_option("--threads", o->threads);
  sub->add_option("--context", o->context);
  sub->add_option("--max-sessions", o->max_sessions);
  sub->add_option("--max-tokens", o->max_tokens);
  sub->add_option("--max-prompt-bytes", o->max_prompt_bytes);
  sub->callback([o, &action] { action = [o] { return run_worker(*o); }; });
}

}  // namespace cci::tools::run
