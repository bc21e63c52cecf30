#include "train_model.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace cci::train {

Model::Model(const infer::ModelConfig& cfg) : c(cfg) {
  const std::int64_t hd = c.head_dim;
  const double std0 = 0.02, std_out = 0.02 / std::sqrt(2.0 * static_cast<double>(c.layers));
  auto ends_with = [](const std::string& s, const char* tail) {
    return s.size() >= std::strlen(tail) && s.compare(s.size() - std::strlen(tail), std::string::npos, tail) == 0;
  };
  // Norm weights start at one; residual-branch outputs (o_proj, down_proj) get the scaled-down
  // standard deviation; everything else N(0, 0.02).
  for (const auto& t : infer::llama_tensor_shapes(c)) {
    if (t.shape.size() == 1)
      p[t.name] = torch::ones(t.shape).requires_grad_();
    else
      p[t.name] =
          (torch::randn(t.shape) * (ends_with(t.name, "o_proj.weight") || ends_with(t.name, "down_proj.weight") ? std_out : std0)).requires_grad_();
  }
  Tensor inv = 1.0 / torch::pow(c.rope_theta, torch::arange(0, hd / 2, torch::kFloat64) * 2.0 / static_cast<double>(hd));
  Tensor ang = torch::outer(torch::arange(0, c.max_positions, torch::kFloat64), inv);
  cos = ang.cos().to(torch::kFloat32);
  sin = ang.sin().to(torch::kFloat32);
}

Tensor Model::rms(const Tensor& x, const Tensor& w) const { return x * torch::rsqrt(x.pow(2).mean(-1, true) + c.norm_eps) * w; }

Tensor Model::rope(const Tensor& x) const {
  const std::int64_t T = x.size(2), half = c.head_dim / 2;
  Tensor co = cos.narrow(0, 0, T), si = sin.narrow(0, 0, T);
  Tensor x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  return torch::cat({x1 * co - x2 * si, x2 * co + x1 * si}, -1);
}

Tensor Model::logits(const Tensor& ids) const {
  const std::int64_t B = ids.size(0), T = ids.size(1), H = c.heads, KV = c.kv_heads, hd = c.head_dim;
  const Tensor& emb = p.at("model.embed_tokens.weight");
  Tensor x = emb.index_select(0, ids.reshape({-1})).view({B, T, c.hidden});
  Tensor mask = torch::ones({T, T}, torch::kBool).triu(1);
  for (std::int64_t l = 0; l < c.layers; ++l) {
    const std::string n = "model.layers." + std::to_string(l) + ".";
    Tensor h = rms(x, p.at(n + "input_layernorm.weight"));
    Tensor q = rope(torch::matmul(h, p.at(n + "self_attn.q_proj.weight").t()).view({B, T, H, hd}).transpose(1, 2));
    Tensor k = rope(torch::matmul(h, p.at(n + "self_attn.k_proj.weight").t()).view({B, T, KV, hd}).transpose(1, 2));
    Tensor v = torch::matmul(h, p.at(n + "self_attn.v_proj.weight").t()).view({B, T, KV, hd}).transpose(1, 2);
    k = k.repeat_interleave(H / KV, 1);
    v = v.repeat_interleave(H / KV, 1);
    Tensor s = torch::matmul(q, k.transpose(2, 3)) / std::sqrt(static_cast<double>(hd));
    s = s.masked_fill(mask, -std::numeric_limits<float>::infinity());
    Tensor a = torch::matmul(torch::softmax(s, -1), v).transpose(1, 2).reshape({B, T, H * hd});
    x = x + torch::matmul(a, p.at(n + "self_attn.o_proj.weight").t());
    h = rms(x, p.at(n + "post_attention_layernorm.weight"));
    Tensor g = torch::silu(torch::matmul(h, p.at(n + "mlp.gate_proj.weight").t())) * torch::matmul(h, p.at(n + "mlp.up_proj.weight").t());
    x = x + torch::matmul(g, p.at(n + "mlp.down_proj.weight").t());
  }
  return torch::matmul(rms(x, p.at("model.norm.weight")), emb.t());
}

std::vector<Tensor> Model::parameters() const {
  std::vector<Tensor> v;
  for (const auto& [n, t] : p) v.push_back(t);
  return v;
}

std::pair<Tensor, Tensor> batch_of(const std::vector<std::int64_t>& stream, int batch, int seq, std::mt19937_64& rng) {
  std::uniform_int_distribution<size_t> start(0, stream.size() - static_cast<size_t>(seq) - 2);
  Tensor x = torch::empty({batch, seq}, torch::kInt64), y = torch::empty({batch, seq}, torch::kInt64);
  for (int b = 0; b < batch; ++b) {
    const size_t s = start(rng);
    for (int t = 0; t < seq; ++t) {
      x[b][t] = stream[s + static_cast<size_t>(t)];
      y[b][t] = stream[s + static_cast<size_t>(t) + 1];
    }
  }
  return {x, y};
}

double evaluate(const Model& m, const std::vector<std::int64_t>& val, int seq) {
  torch::NoGradGuard ng;
  double sum = 0;
  std::int64_t n = 0;
  for (size_t s = 0; s + static_cast<size_t>(seq) + 1 <= val.size(); s += static_cast<size_t>(seq)) {
    Tensor x = torch::tensor(std::vector<std::int64_t>(val.begin() + static_cast<long>(s), val.begin() + static_cast<long>(s) + seq)).view({1, seq});
    Tensor y =
        torch::tensor(std::vector<std::int64_t>(val.begin() + static_cast<long>(s) + 1, val.begin() + static_cast<long>(s) + seq + 1)).view({1, seq});
    sum += torch::nn::functional::cross_entropy(m.logits(x).view({seq, -1}), y.view({seq}),
                                                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
               .item<double>();
    n += seq;
  }
  return sum / static_cast<double>(n);
}

double unigram_loss(const std::vector<std::int64_t>& train, const std::vector<std::int64_t>& val, int vocab, int seq) {
  std::vector<double> count(static_cast<size_t>(vocab), 1.0);
  for (auto t : train) count[static_cast<size_t>(t)] += 1;
  const double total = static_cast<double>(train.size()) + vocab;
  double sum = 0;
  std::int64_t n = 0;
  for (size_t s = 0; s + static_cast<size_t>(seq) + 1 <= val.size(); s += static_cast<size_t>(seq)) {
    for (int t = 1; t <= seq; ++t) sum -= std::log(count[static_cast<size_t>(val[s + static_cast<size_t>(t)])] / total);
    n += seq;
  }
  return sum / static_cast<double>(n);
}

}  // namespace cci::train
