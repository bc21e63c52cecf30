// Token generation on an Engine: sampling (greedy, temperature, top-k, top-p with a seed),
// stop tokens, a token budget and a streaming callback. No libtorch here: the engine is
// reached through its plain interface.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "base/result.h"
#include "infer/engine.h"

namespace cci::infer {

struct SamplingOptions {
  double temperature = 0;  // 0: greedy (argmax; the lowest id wins a tie)
  int top_k = 0;           // 0: no limit
  double top_p = 1;        // nucleus: the smallest set of tokens whose probability reaches top_p
  std::uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& o) : o_(o), rng_(o.seed) {}
  std::int64_t sample(const std::vector<float>& logits);

 private:
  SamplingOptions o_;
  std::mt19937_64 rng_;
};

Status check_sampling(const SamplingOptions& o);

struct GenerateOptions {
  std::int64_t max_tokens = 128;
  std::vector<std::int64_t> stop_ids;  // generation ends after emitting one of these (not streamed)
  SamplingOptions sampling;
  std::function<bool(std::int64_t token)> on_token;  // streaming; return false to stop early
};

struct GenerateStats {
  std::int64_t prompt_tokens = 0, generated = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  double callback_seconds = 0;  // of decode_seconds, the time spent in on_token (detokenizing, sending)
  std::string stop_reason;  // "stop token", "max tokens", "context full", "callback"
};

// Runs `prompt` (prefill) from the engine's current position, then samples up to max_tokens
// tokens, appending them to `out`.
Result<GenerateStats> generate(Engine& engine, const std::vector<std::int64_t>& prompt, const GenerateOptions& o, std::vector<std::int64_t>& out);

}  // namespace cci::infer
