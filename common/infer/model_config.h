// A model's shape from Hugging Face config.json: the Llama family (model_type llama, mistral:
// RMSNorm, RoPE, grouped-query attention, SwiGLU) and GPT-2. Sizes are checked against hard
// limits before anything is allocated, and against each other (heads divide the width, ...).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::infer {

enum class Architecture { kLlama, kGpt2 };

// How RoPE pairs the dimensions of a head: Hugging Face's rotate_half (i, i + d/2), or the
// original Meta / llama2.c layout of adjacent pairs (2i, 2i + 1).
enum class RopeStyle { kHalf, kInterleaved };

struct RopeScaling {  // rope_scaling: none, "linear" or "llama3"
  std::string type;   // empty: none
  double factor = 1, low_freq_factor = 1, high_freq_factor = 4;
  std::int64_t original_max_position = 8192;
};

struct ModelConfig {
  Architecture arch = Architecture::kLlama;
  std::int64_t vocab_size = 0, hidden = 0, intermediate = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0;
  std::int64_t max_positions = 0;
  double norm_eps = 1e-5, rope_theta = 10000;
  RopeStyle rope_style = RopeStyle::kHalf;
  RopeScaling rope_scaling;
  bool tied_embeddings = false;
  std::vector<std::int64_t> bos_ids, eos_ids;
  std::string torch_dtype;  // as the checkpoint says ("float32", "bfloat16", ...); informative

  std::int64_t kv_dim() const { return kv_heads * head_dim; }
  std::int64_t parameter_count() const;  // from the shape (embeddings counted once when tied)
};

inline constexpr std::int64_t kMaxHidden = 1 << 16, kMaxLayers = 1024, kMaxHeads = 1024, kMaxVocab = 1 << 21;
inline constexpr std::int64_t kMaxPositions = 1 << 20, kMaxIntermediate = 1 << 18;

// Every tensor a Llama checkpoint of this shape holds, in Hugging Face names ("lm_head.weight"
// only when the embeddings are not tied), with its shape: what the engine binds.
struct TensorShape {
  std::string name;
  std::vector<std::int64_t> shape;
};
std::vector<TensorShape> llama_tensor_shapes(const ModelConfig& c);

Result<ModelConfig> parse_model_config(ByteView json, const std::string& what = "config.json");
Status check_model_config(const ModelConfig& c, const std::string& what);
std::string model_config_json(const ModelConfig& c);  // config.json text for a Llama checkpoint we write

}  // namespace cci::infer
