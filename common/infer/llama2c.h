// The llama2.c checkpoint format (karpathy/llama2.c, "legacy" version 0, as run.c reads it):
// seven int32 {dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len}, then fp32
// arrays: token embeddings [vocab, dim], rms_att [L, dim], wq [L, dim, dim], wk and wv
// [L, kv_dim, dim], wo [L, dim, dim], rms_ffn [L, dim], w1 and w3 [L, hidden, dim],
// w2 [L, dim, hidden], rms_final [dim], two RoPE tables [seq_len, head_dim / 2] (unused), and,
// when vocab_size < 0, an untied classifier [vocab, dim]. Weights are [out, in] like torch's
// Linear; RoPE rotates adjacent pairs (RopeStyle::kInterleaved). The file size must match
// the header exactly. Tensors get Hugging Face Llama names and are views into the mapping.
#pragma once

#include <map>
#include <string>

#include "infer/model_config.h"
#include "infer/safetensors.h"

namespace cci::infer {

struct Checkpoint {
  ModelConfig config;
  WeightSet weights;
};

Result<Checkpoint> load_llama2c(const std::string& path, const MappedCheck& on_mapped = {});
Result<Checkpoint> load_llama2c(ModelReader& reader);  // the reader's single file

// The same weights in Hugging Face's layout: q and k rows permuted from adjacent pairs to
// rotate_half order (as transformers' convert_llama_weights_to_hf does), config RopeStyle::kHalf.
// Both load into the same model and must give the same tokens.
Result<std::map<std::string, OwnedTensor>> to_hf_llama(const Checkpoint& c, ModelConfig& hf_config);

}  // namespace cci::infer
