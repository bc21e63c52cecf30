// Plain C++ reference forward passes, written from the model definitions (llama2.c run.c for
// Llama with adjacent-pair RoPE; GPT-2 from the original TF code), one token at a time with a
// KV cache, in double precision. The engine's logits are compared against them.
#pragma once

#include <cmath>
#include <cstring>
#include <functional>
#include <vector>

#include "infer/model_config.h"
#include "infer/safetensors.h"

namespace cci::test {

using Vec = std::vector<double>;
using Get = std::function<Vec(const std::string& name)>;  // a tensor as doubles, row-major

inline Vec tensor_as_doubles(const infer::TensorView& t) {
  Vec v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) {
    float f;
    std::memcpy(&f, t.data.data() + 4 * i, 4);
    v[i] = f;
  }
  return v;
}

// out[r] = sum_c W[r][c] x[c]  (W: rows x cols)
inline Vec matvec(const Vec& w, const Vec& x, size_t rows) {
  const size_t cols = x.size();
  Vec out(rows, 0);
  for (size_t r = 0; r < rows; ++r) {
    double s = 0;
    for (size_t c = 0; c < cols; ++c) s += w[r * cols + c] * x[c];
    out[r] = s;
  }
  return out;
}

// out[c] = sum_r x[r] W[r][c]  (GPT-2 Conv1D: W is in x out)
inline Vec vecmat(const Vec& x, const Vec& w, size_t cols) {
  Vec out(cols, 0);
  for (size_t r = 0; r < x.size(); ++r) {
    for (size_t c = 0; c < cols; ++c) out[c] += x[r] * w[r * cols + c];
  }
  return out;
}

inline void softmax(Vec& v) {
  double m = v[0], s = 0;
  for (double x : v) m = std::max(m, x);
  for (double& x : v) s += x = std::exp(x - m);
  for (double& x : v) x /= s;
}

// Attention of one query over the cached keys/values of one position list; GQA by h / group.
inline Vec attend(const Vec& q, const std::vector<Vec>& keys, const std::vector<Vec>& values, int heads, int kv_heads, int hd) {
  Vec out(static_cast<size_t>(heads * hd), 0);
  for (int h = 0; h < heads; ++h) {
    const int kh = h / (heads / kv_heads);
    Vec att(keys.size());
    for (size_t t = 0; t < keys.size(); ++t) {
      double s = 0;
      for (int i = 0; i < hd; ++i) s += q[static_cast<size_t>(h * hd + i)] * keys[t][static_cast<size_t>(kh * hd + i)];
      att[t] = s / std::sqrt(static_cast<double>(hd));
    }
    softmax(att);
    for (size_t t = 0; t < keys.size(); ++t) {
      for (int i = 0; i < hd; ++i) out[static_cast<size_t>(h * hd + i)] += att[t] * values[t][static_cast<size_t>(kh * hd + i)];
    }
  }
  return out;
}

// RoPE frequency of pair i with the checkpoint's scaling (transformers'
// _compute_linear_scaling / _compute_llama3_parameters, restated per frequency).
inline double rope_frequency(const infer::ModelConfig& c, int i) {
  const double f = 1.0 / std::pow(c.rope_theta, 2.0 * i / static_cast<double>(c.head_dim));
  const auto& s = c.rope_scaling;
  if (s.type == "linear") return f / s.factor;
  if (s.type != "llama3") return f;
  const double old_ctx = static_cast<double>(s.original_max_position), wavelen = 2 * M_PI / f;
  if (wavelen < old_ctx / s.high_freq_factor) return f;       // high frequency: kept
  if (wavelen > old_ctx / s.low_freq_factor) return f / s.factor;  // low frequency: scaled
  const double smooth = (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
  return (1 - smooth) * f / s.factor + smooth * f;
}

// llama2.c run.c, with the checkpoint's RoPE layout. Returns the logits after each token.
inline std::vector<Vec> reference_llama(const infer::ModelConfig& c, const Get& w, const std::vector<std::int64_t>& tokens) {
  const size_t d = static_cast<size_t>(c.hidden), V = static_cast<size_t>(c.vocab_size);
  const int H = static_cast<int>(c.heads), KV = static_cast<int>(c.kv_heads), hd = static_cast<int>(c.head_dim);
  const Vec emb = w("model.embed_tokens.weight");
  const Vec head = c.tied_embeddings ? emb : w("lm_head.weight");
  auto rms = [&](const Vec& x, const Vec& g) {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double k = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + c.norm_eps);
    Vec o(x.size());
    for (size_t i = 0; i < x.size(); ++i) o[i] = x[i] * k * g[i];
    return o;
  };
  auto rope = [&](Vec& v, int pos, int nheads) {
    for (int h = 0; h < nheads; ++h) {
      for (int i = 0; i < hd / 2; ++i) {
        const double freq = rope_frequency(c, i), a = pos * freq, co = std::cos(a), si = std::sin(a);
        const size_t i0 = static_cast<size_t>(h * hd) + (c.rope_style == infer::RopeStyle::kInterleaved ? static_cast<size_t>(2 * i) : static_cast<size_t>(i));
        const size_t i1 = c.rope_style == infer::RopeStyle::kInterleaved ? i0 + 1 : i0 + static_cast<size_t>(hd / 2);
        const double x0 = v[i0], x1 = v[i1];
        v[i0] = x0 * co - x1 * si;
        v[i1] = x0 * si + x1 * co;
      }
    }
  };
  std::vector<std::vector<Vec>> kc(static_cast<size_t>(c.layers)), vc(static_cast<size_t>(c.layers));
  std::vector<Vec> out;
  for (size_t pos = 0; pos < tokens.size(); ++pos) {
    Vec x(emb.begin() + static_cast<long>(static_cast<size_t>(tokens[pos]) * d), emb.begin() + static_cast<long>((static_cast<size_t>(tokens[pos]) + 1) * d));
    for (std::int64_t l = 0; l < c.layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      Vec h = rms(x, w(p + "input_layernorm.weight"));
      Vec q = matvec(w(p + "self_attn.q_proj.weight"), h, static_cast<size_t>(H * hd));
      Vec k = matvec(w(p + "self_attn.k_proj.weight"), h, static_cast<size_t>(KV * hd));
      Vec v = matvec(w(p + "self_attn.v_proj.weight"), h, static_cast<size_t>(KV * hd));
      rope(q, static_cast<int>(pos), H);
      rope(k, static_cast<int>(pos), KV);
      kc[static_cast<size_t>(l)].push_back(k);
      vc[static_cast<size_t>(l)].push_back(v);
      Vec a = matvec(w(p + "self_attn.o_proj.weight"), attend(q, kc[static_cast<size_t>(l)], vc[static_cast<size_t>(l)], H, KV, hd), d);
      for (size_t i = 0; i < d; ++i) x[i] += a[i];
      h = rms(x, w(p + "post_attention_layernorm.weight"));
      const size_t hid = static_cast<size_t>(c.intermediate);
      Vec g = matvec(w(p + "mlp.gate_proj.weight"), h, hid), u = matvec(w(p + "mlp.up_proj.weight"), h, hid);
      for (size_t i = 0; i < hid; ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
      Vec m = matvec(w(p + "mlp.down_proj.weight"), g, d);
      for (size_t i = 0; i < d; ++i) x[i] += m[i];
    }
    out.push_back(matvec(head, rms(x, w("model.norm.weight")), V));
  }
  return out;
}

// GPT-2: learned positions, pre-LayerNorm blocks, Conv1D weights (in x out), gelu (tanh).
inline std::vector<Vec> reference_gpt2(const infer::ModelConfig& c, const Get& w, const std::vector<std::int64_t>& tokens) {
  const size_t d = static_cast<size_t>(c.hidden), V = static_cast<size_t>(c.vocab_size);
  const int H = static_cast<int>(c.heads), hd = static_cast<int>(c.head_dim);
  const Vec wte = w("wte.weight"), wpe = w("wpe.weight");
  auto ln = [&](const Vec& x, const Vec& g, const Vec& b) {
    double mean = 0, var = 0;
    for (double v : x) mean += v;
    mean /= static_cast<double>(x.size());
    for (double v : x) var += (v - mean) * (v - mean);
    var /= static_cast<double>(x.size());
    Vec o(x.size());
    for (size_t i = 0; i < x.size(); ++i) o[i] = (x[i] - mean) / std::sqrt(var + c.norm_eps) * g[i] + b[i];
    return o;
  };
  auto add = [](Vec& a, const Vec& b) {
    for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  };
  std::vector<std::vector<Vec>> kc(static_cast<size_t>(c.layers)), vc(static_cast<size_t>(c.layers));
  std::vector<Vec> out;
  for (size_t pos = 0; pos < tokens.size(); ++pos) {
    Vec x(d);
    for (size_t i = 0; i < d; ++i) x[i] = wte[static_cast<size_t>(tokens[pos]) * d + i] + wpe[pos * d + i];
    for (std::int64_t l = 0; l < c.layers; ++l) {
      const std::string p = "h." + std::to_string(l) + ".";
      Vec h = ln(x, w(p + "ln_1.weight"), w(p + "ln_1.bias"));
      Vec qkv = vecmat(h, w(p + "attn.c_attn.weight"), 3 * d);
      add(qkv, w(p + "attn.c_attn.bias"));
      Vec q(qkv.begin(), qkv.begin() + static_cast<long>(d)), k(qkv.begin() + static_cast<long>(d), qkv.begin() + static_cast<long>(2 * d)),
          v(qkv.begin() + static_cast<long>(2 * d), qkv.end());
      kc[static_cast<size_t>(l)].push_back(k);
      vc[static_cast<size_t>(l)].push_back(v);
      Vec a = vecmat(attend(q, kc[static_cast<size_t>(l)], vc[static_cast<size_t>(l)], H, H, hd), w(p + "attn.c_proj.weight"), d);
      add(a, w(p + "attn.c_proj.bias"));
      add(x, a);
      h = ln(x, w(p + "ln_2.weight"), w(p + "ln_2.bias"));
      const size_t hid = static_cast<size_t>(c.intermediate);
      Vec f = vecmat(h, w(p + "mlp.c_fc.weight"), hid);
      add(f, w(p + "mlp.c_fc.bias"));
      for (double& z : f) z = 0.5 * z * (1 + std::tanh(std::sqrt(2 / M_PI) * (z + 0.044715 * z * z * z)));
      Vec m = vecmat(f, w(p + "mlp.c_proj.weight"), d);
      add(m, w(p + "mlp.c_proj.bias"));
      add(x, m);
    }
    out.push_back(matvec(wte, ln(x, w("ln_f.weight"), w("ln_f.bias")), V));
  }
  return out;
}

}  // namespace cci::test
