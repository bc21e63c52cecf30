// The per-user worker's session loop (cci-run serve-worker runs it after loading and hardening):
// it takes sessions from the accept loop on the control socket, reads one request frame at a time
// from each, and streams the completion back as SessionEvents. It never serves another user and
// is never reused. The model sits behind Generator, so the loop runs in-process in tests with a
// fake one; the control and session sockets are plain descriptors.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "serve/openai_api.h"

namespace cci::serve {

struct GenerationStats {
  std::int64_t prompt_tokens = 0, completion_tokens = 0;
  bool stopped = false;  // ended at a stop token (else at max_tokens or the context's end)
  double prefill_seconds = 0, decode_seconds = 0;
  double output_seconds = 0;  // of decode_seconds, the time spent detokenizing and handing text to the connection
};

// A completion for one request: `on_text` gets each piece of valid UTF-8 text as it is produced
// and returns false when the client is gone (stop early). Errors with kInvalidInput become 400.
class Generator {
 public:
  virtual ~Generator() = default;
  virtual Result<GenerationStats> generate(const CompletionRequest& r, const std::function<bool(std::string_view)>& on_text) = 0;
};

struct WorkerLimits {
  std::string user;  // for logs
  int max_sessions = 4;
  std::int64_t max_tokens = 512;
  size_t max_prompt_bytes = 64 * 1024;
  double write_timeout = 30;  // a session whose connection stops reading is dropped after this
  // Text produced within this long of the last piece sent waits and goes with the next one (or
  // at the end), so a fast model does not wake the connection process once per token while the
  // machine's cores compute. The first piece always goes at once; 0 sends every piece alone.
  // 0.1 s: ten pieces a second, about the delay below which text reads as instantaneous; each
  // piece cost the 110M decode about 0.4 ms on a 2-core VM whose engine used both cores, the
  // benchmark's client on the same VM (0.05 s put the client's decode 0.8 % behind native, the
  // engine's own 0.4 %; docs/performance.md).
  double output_interval = 0.1;
};

// Runs until the accept loop says exit or goes away. Reports ready/idle/busy on `control_fd`.
void run_worker_loop(int control_fd, Generator& generator, const WorkerLimits& limits);

}  // namespace cci::serve
