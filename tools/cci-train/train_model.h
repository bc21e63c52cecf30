// cci-train's network: the engine's Llama (infer/engine.cpp) written with autograd (RMSNorm, RoPE
// in rotate_half order, grouped-query attention, SwiGLU, tied embeddings, Hugging Face names),
// and the loss figures training reports.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "infer/model_config.h"

namespace cci::train {

using torch::Tensor;

struct Model {
  infer::ModelConfig c;
  std::map<std::string, Tensor> p;  // Hugging Face names
  Tensor cos, sin;

  explicit Model(const infer::ModelConfig& cfg);
  Tensor rms(const Tensor& x, const Tensor& w) const;
  Tensor rope(const Tensor& x) const;     // [B, H, T, hd]
  Tensor logits(const Tensor& ids) const;  // [B, T] -> [B, T, V]
  std::vector<Tensor> parameters() const;
};

// A batch of random windows of seq + 1 tokens: inputs and next-token targets.
std::pair<Tensor, Tensor> batch_of(const std::vector<std::int64_t>& stream, int batch, int seq, std::mt19937_64& rng);
// Mean next-token loss (nats) over consecutive windows of the validation stream.
double evaluate(const Model& m, const std::vector<std::int64_t>& val, int seq);
// The unigram model's loss on the same validation targets (add-one smoothed training counts).
double unigram_loss(const std::vector<std::int64_t>& train, const std::vector<std::int64_t>& val, int vocab, int seq);

}  // namespace cci::train
