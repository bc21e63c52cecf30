// Small random-weight checkpoints written at test time (llama2.c format and Hugging Face
// safetensors + config.json), and the shared models directory (CCI_TEST_MODELS_DIR, default
// ../shared/models).
#pragma once

#include <cstring>
#include <random>

#include "infer/llama2c.h"
#include "support/vectors.h"

namespace cci::test {

inline std::filesystem::path models_dir() {
  const char* env = std::getenv("CCI_TEST_MODELS_DIR");
  return env && *env ? std::filesystem::path(env) : vectors_dir() / "../models";
}

struct TinyShape {
  std::int32_t dim = 32, hidden = 48, layers = 2, heads = 4, kv_heads = 2, vocab = 64, seq_len = 64;
  bool shared = true;
};

// A llama2.c file with weights drawn from N(0, 0.2) (norm weights around 1) from `seed`.
inline Bytes tiny_llama2c(const TinyShape& s, std::uint32_t seed) {
  Bytes out(28);
  const std::int32_t header[7] = {s.dim, s.hidden, s.layers, s.heads, s.kv_heads, s.shared ? s.vocab : -s.vocab, s.seq_len};
  std::memcpy(out.data(), header, 28);
  std::mt19937 rng(seed);
  std::normal_distribution<float> w(0, 0.2f), norm(1, 0.1f);
  auto put = [&](std::int64_t n, std::normal_distribution<float>& d) {
    for (std::int64_t i = 0; i < n; ++i) {
      float f = d(rng);
      std::uint8_t b[4];
      std::memcpy(b, &f, 4);
      out.insert(out.end(), b, b + 4);
    }
  };
  const std::int64_t d = s.dim, L = s.layers, hd = s.dim / s.heads, kv = hd * s.kv_heads, h = s.hidden;
  put(s.vocab * d, w);
  put(L * d, norm);
  put(L * d * d, w);
  put(L * kv * d, w);
  put(L * kv * d, w);
  put(L * d * d, w);
  put(L * d, norm);
  put(L * h * d, w);
  put(L * d * h, w);
  put(L * h * d, w);
  put(d, norm);
  put(s.seq_len * hd, w);  // the unused RoPE tables
  if (!s.shared) put(s.vocab * d, w);
  return out;
}

// Writes `checkpoint` as DIR/model.safetensors + DIR/config.json in Hugging Face layout.
inline void write_hf_copy(const infer::Checkpoint& checkpoint, const std::filesystem::path& dir) {
  infer::ModelConfig hf;
  auto tensors = infer::to_hf_llama(checkpoint, hf);
  if (!tensors) throw std::runtime_error(tensors.error().message);
  std::filesystem::create_directories(dir);
  auto st = infer::write_safetensors((dir / "model.safetensors").string(), *tensors);
  if (!st) throw std::runtime_error(st.error().message);
  write_text(dir / "config.json", infer::model_config_json(hf));
}

}  // namespace cci::test
