#include "infer/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

namespace cci::infer {
namespace {

std::int64_t argmax(const std::vector<float>& v) {
  return static_cast<std::int64_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Status check_sampling(const SamplingOptions& o) {
  if (!(o.temperature >= 0 && o.temperature <= 100)) return make_error(ErrorCode::kUsage, "temperature must be 0 to 100", "temperature");
  if (o.top_k < 0) return make_error(ErrorCode::kUsage, "top-k must be 0 (off) or positive", "top-k");
  if (!(o.top_p > 0 && o.top_p <= 1)) return make_error(ErrorCode::kUsage, "top-p must be in (0, 1]", "top-p");
  return {};
}

std::int64_t Sampler::sample(const std::vector<float>& logits) {
  if (o_.temperature == 0) return argmax(logits);
  // Candidates by descending logit (ties: lower id first), cut by top-k.
  std::vector<std::int64_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  const size_t k = o_.top_k > 0 ? std::min<size_t>(static_cast<size_t>(o_.top_k), ids.size()) : ids.size();
  auto by_logit = [&](std::int64_t a, std::int64_t b) {
    return logits[static_cast<size_t>(a)] != logits[static_cast<size_t>(b)] ? logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)] : a < b;
  };
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(), by_logit);
  ids.resize(k);
  // Softmax at the temperature, in double, shifted by the maximum.
  std::vector<double> p(k);
  const double top = logits[static_cast<size_t>(ids[0])];
  double sum = 0;
  for (size_t i = 0; i < k; ++i) sum += p[i] = std::exp((logits[static_cast<size_t>(ids[i])] - top) / o_.temperature);
  // Nucleus: keep the smallest prefix reaching top_p of the mass.
  size_t keep = k;
  double mass = 0;
  for (size_t i = 0; i < k; ++i) {
    mass += p[i] / sum;
    if (mass >= o_.top_p) {
      keep = i + 1;
      break;
    }
  }
  const double kept = std::accumulate(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(keep), 0.0);
  double r = std::uniform_real_distribution<double>(0, kept)(rng_);
  for (size_t i = 0; i < keep; ++i) {
    if ((r -= p[i]) < 0) return ids[i];
  }
  return ids[keep - 1];
}

Result<GenerateStats> generate(Engine& engine, const std::vector<std::int64_t>& prompt, const GenerateOptions& o, std::vector<std::int64_t>& out) {
  CCI_TRY(check_sampling(o.sampling));
  if (prompt.empty()) return make_error(ErrorCode::kUsage, "the prompt has no tokens", "prompt");
  if (o.max_tokens < 0) return make_error(ErrorCode::kUsage, "max tokens must not be negative", "max-tokens");
  if (engine.position() + static_cast<std::int64_t>(prompt.size()) > engine.context()) {
    return make_error(ErrorCode::kUsage,
                      "the prompt has " + std::to_string(prompt.size()) + " tokens but the context holds " +
                          std::to_string(engine.context() - engine.position()) + " more",
                      "prompt");
  }
  GenerateStats st;
  st.prompt_tokens = static_cast<std::int64_t>(prompt.size());
  Sampler sampler(o.sampling);
  auto t0 = std::chrono::steady_clock::now();
  auto logits = engine.forward(prompt);
  if (!logits) return logits.error();
  st.prefill_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  st.stop_reason = "max tokens";
  for (std::int64_t i = 0; i < o.max_tokens; ++i) {
    const std::int64_t tok = sampler.sample(*logits);
    if (std::find(o.stop_ids.begin(), o.stop_ids.end(), tok) != o.stop_ids.end()) {
      st.stop_reason = "stop token";
      break;
    }
    out.push_back(tok);
    ++st.generated;
    if (o.on_token) {
      const auto c0 = std::chrono::steady_clock::now();
      const bool more = o.on_token(tok);
      st.callback_seconds += seconds_since(c0);
      if (!more) {
        st.stop_reason = "callback";
        break;
      }
    }
    if (i + 1 == o.max_tokens) break;
    if (engine.position() >= engine.context()) {
      st.stop_reason = "context full";
      break;
    }
    logits = engine.forward({tok});
    if (!logits) return logits.error();
  }
  st.decode_seconds = seconds_since(t0);
  return st;
}

}  // namespace cci::infer
