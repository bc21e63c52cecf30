// The OpenAI-compatible request and response bodies cci-run serve speaks
// (POST /v1/completions, POST /v1/chat/completions, GET /v1/models). Parsing is strict about the
// fields it uses (type, range; errors name the field as a JSON path) and ignores the ones it
// does not, as OpenAI's own API does. n must be 1; there is no logprobs, tools or echo.
// Chat messages are joined by a plain template: each message's content on its own line, in
// order, then generation continues after the last one. "ignore_eos": true (as in vLLM) keeps
// generating through end-of-sequence tokens, for benchmarks that need exactly max_tokens.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/secure_alloc.h"
#include "serve/secure_json.h"

namespace cci::serve {

struct ApiLimits {
  std::int64_t max_tokens = 512;      // the most a request may ask for (default: min(128, this))
  size_t max_prompt_bytes = 64 * 1024;
};

struct CompletionRequest {
  bool chat = false;
  SecureString prompt;  // completions: the prompt; chat: the messages through the template
  std::string model;
  std::int64_t max_tokens = 128;
  double temperature = 1.0, top_p = 1.0;
  int top_k = 0;
  std::uint64_t seed = 0;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool ignore_eos = false;     // vLLM's extension: always generate max_tokens (benchmarks)
};

Result<CompletionRequest> parse_completion_request(std::string_view body, bool chat, const ApiLimits& limits);

struct CompletionResult {
  std::string id, model;
  std::int64_t created = 0;
  SecureString text;
  std::string finish_reason;  // "stop" | "length"
  std::int64_t prompt_tokens = 0, completion_tokens = 0;
};
SecureString completion_body(const CompletionResult& r, bool chat);
// One server-sent event "data: {...}\n\n" with a text delta (or the final one: finish_reason set,
// delta empty; usage when asked), and the closing "data: [DONE]\n\n".
SecureString stream_event(const CompletionResult& r, bool chat, std::string_view delta, bool first, bool last, bool usage);
std::string stream_done();

std::string models_body(const std::string& model, std::int64_t created);
// {"error": {"message", "type", "param", "code"}}
std::string error_body(const std::string& message, const std::string& type, const std::string& param = {});

}  // namespace cci::serve
