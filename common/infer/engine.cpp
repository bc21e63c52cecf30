// The libtorch side of the engine (see engine.h). One translation unit: each one that
// includes torch costs ~22 s and 1 GB to compile.
#include "infer/engine.h"

#include "base/huge_pages.h"
#include "infer/decode_cpu.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <dlfcn.h>
#include <malloc.h>

#include <chrono>
#include <mutex>
#include <cmath>
#include <fstream>

namespace cci::infer {
namespace {

using torch::Tensor;
namespace F = torch::nn::functional;

torch::Device torch_device(const Device& d) {
  return d.is_cuda() ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(d.index)) : torch::Device(torch::kCPU);
}

// A zeroed KV cache in huge pages (base/huge_pages.h): every decode step reads the keys and
// values of all positions so far, and a process's scattered 4 KiB pages read about a third slower
// than contiguous memory here, differently in each process. Small caches stay on the heap, and
// a GPU's cache in its own memory.
Tensor zeroed_cache(at::IntArrayRef shape, torch::ScalarType dtype, torch::Device device) {
  if (device.is_cuda()) return torch::zeros(shape, torch::TensorOptions().dtype(dtype).device(device));
  const auto opts = torch::TensorOptions().dtype(dtype);
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  const size_t bytes = static_cast<size_t>(n) * c10::elementSize(dtype);
  if (bytes < kHugePageBytes) return torch::zeros(shape, opts);
  auto mem = HugePageMemory::map(bytes);
  if (!mem) return torch::zeros(shape, opts);
  auto owner = std::make_shared<HugePageMemory>(std::move(*mem));
  return torch::from_blob(owner->data(), shape, [owner](void*) {}, opts);
}

Error bad_weights(const std::string& msg, const std::string& field) { return make_error(ErrorCode::kMalformed, msg, field); }

std::string shape_text(const std::vector<std::int64_t>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

// Binds checkpoint tensors by name, checking shape and dtype against the configuration. On the
// CPU, fp32 and bf16 (when computing in bf16) are wrapped in place and everything else is
// converted once; on a GPU, every tensor is copied once from the verified mapping to its memory.
class Binder {
 public:
  Binder(std::shared_ptr<const WeightSet> w, torch::Dtype compute, torch::Device device) : w_(std::move(w)), compute_(compute), device_(device) {}
  Result<Tensor> get(const std::string& name, const std::vector<std::int64_t>& shape) {
    const TensorView* t = w_->find(name);
    if (!t) return bad_weights("the checkpoint has no tensor '" + name + "'", name);
    if (t->shape != shape) {
      return bad_weights("tensor '" + name + "' has shape " + shape_text(t->shape) + " but config.json implies " + shape_text(shape), name);
    }
    torch::Dtype src;
    switch (t->dtype) {
      case DType::kF32: src = torch::kFloat32; break;
      case DType::kBF16: src = torch::kBFloat16; break;
      case DType::kF16: src = torch::kFloat16; break;
      default: return bad_weights("tensor '" + name + "' has dtype " + std::string(dtype_name(t->dtype)) + " (need F32, BF16 or F16)", name);
    }
    used_.push_back(name);
    // The mapping is read-only and outlives the engine (it holds w_); nothing writes to it.
    Tensor v = torch::from_blob(const_cast<std::uint8_t*>(t->data.data()), shape, torch::TensorOptions().dtype(src));
    if (device_.is_cuda()) return v.to(torch::TensorOptions().device(device_).dtype(compute_)).contiguous();
    if (src == compute_ && reinterpret_cast<std::uintptr_t>(t->data.data()) % torch::elementSize(src) == 0) return v;
    return v.to(compute_).contiguous();
  }
  Result<Tensor> get_any(const std::vector<std::string>& names, const std::vector<std::int64_t>& shape) {
    for (const auto& n : names) {
      if (w_->find(n)) return get(n, shape);
    }
    return get(names.front(), shape);
  }
  bool has(const std::string& name) const { return w_->find(name) != nullptr; }
  const std::vector<std::string>& used() const { return used_; }

 private:
  std::shared_ptr<const WeightSet> w_;
  torch::Dtype compute_;
  torch::Device device_;
  std::vector<std::string> used_;
};


struct Layer {
  Tensor attn_norm, wq, wk, wv, wo, mlp_norm, w_gate, w_up, w_down;        // Llama
  Tensor ln1_b, ln2_b, qkv_b, o_b, fc_b, proj_b, w_qkv, w_fc, w_proj;      // GPT-2 (+ attn_norm, mlp_norm, wo)
};

// y = x W^T: matrix-vector for one row (decode), matrix-matrix otherwise.
Tensor project(const Tensor& x, const Tensor& w) {
  if (x.size(0) == 1) return torch::mv(w, x[0]).unsqueeze(0);
  return torch::matmul(x, w.t());
}

Tensor rms_norm(const Tensor& x, const Tensor& w, double eps) {
  Tensor xf = x.to(torch::kFloat32);
  Tensor r = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + eps);
  return (r.to(x.scalar_type()) * w);
}

// RoPE inverse frequencies with the checkpoint's scaling (transformers' rope_init_fn rules).
Tensor rope_inv_freq(const ModelConfig& c) {
  const std::int64_t half = c.head_dim / 2;
  Tensor inv = 1.0 / torch::pow(c.rope_theta, torch::arange(0, half, torch::kFloat64) * 2.0 / static_cast<double>(c.head_dim));
  const RopeScaling& s = c.rope_scaling;
  if (s.type == "linear") return inv / s.factor;
  if (s.type != "llama3") return inv;
  const double old_ctx = static_cast<double>(s.original_max_position);
  const double low_wavelen = old_ctx / s.low_freq_factor, high_wavelen = old_ctx / s.high_freq_factor;
  Tensor wavelen = 2 * M_PI / inv;
  Tensor scaled = torch::where(wavelen > low_wavelen, inv / s.factor, inv);
  Tensor smooth = (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
  Tensor smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
  Tensor medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen);
  return torch::where(medium, smoothed, scaled);
}

class TorchEngine final : public Engine {
 public:
  const ModelConfig& config() const override { return c_; }
  const Device& device() const override { return device_; }
  std::int64_t context() const override { return ctx_; }
  std::int64_t position() const override { return pos_; }
  // Zeroes the cache rows in use: no key or value of one request survives into the next.
  void reset() override {
    if (pos_ > 0) {
      torch::NoGradGuard no_grad;
      k_cache_.narrow(2, 0, pos_).zero_();
      v_cache_.narrow(2, 0, pos_).zero_();
    }
    pos_ = 0;
  }

  static Result<std::unique_ptr<Engine>> build(const ModelConfig& c, std::shared_ptr<const WeightSet> w, const EngineOptions& o);

  Result<std::vector<float>> forward(const std::vector<std::int64_t>& tokens) override {
    CCI_TRY(check_tokens(tokens, pos_));
    if (direct_ && tokens.size() == 1) {
      std::vector<float> logits(static_cast<size_t>(c_.vocab_size));
      direct_->run(tokens[0], pos_, k_cache_.data_ptr<float>(), v_cache_.data_ptr<float>(), logits.data());
      ++pos_;
      return logits;
    }
    try {
      torch::NoGradGuard no_grad;
      Tensor logits = run(tokens, pos_, /*last_only=*/true);
      pos_ += static_cast<std::int64_t>(tokens.size());
      return to_vector(logits[0]);
    } catch (const std::exception& e) {
      return make_error(ErrorCode::kInternal, std::string("libtorch: ") + e.what());
    }
  }

  Result<std::vector<std::vector<float>>> forward_all(const std::vector<std::int64_t>& tokens) override {
    CCI_TRY(check_tokens(tokens, 0));
    try {
      return run_all(tokens);
    } catch (const std::exception& e) {
      return make_error(ErrorCode::kInternal, std::string("libtorch: ") + e.what());
    }
  }

 private:
  std::vector<std::vector<float>> run_all(const std::vector<std::int64_t>& tokens) {
    torch::NoGradGuard no_grad;
    const std::int64_t saved = pos_;
    // The reference pass uses a scratch cache so the live one is untouched.
    std::swap(k_cache_, k_scratch());
    std::swap(v_cache_, v_scratch_);
    Tensor logits = run(tokens, 0, false);
    std::swap(k_cache_, k_scratch_);
    std::swap(v_cache_, v_scratch_);
    pos_ = saved;
    std::vector<std::vector<float>> out;
    for (std::int64_t i = 0; i < logits.size(0); ++i) out.push_back(to_vector(logits[i]));
    return out;
  }

  Tensor& k_scratch() {
    if (!k_scratch_.defined()) {
      k_scratch_ = torch::zeros_like(k_cache_);
      v_scratch_ = torch::zeros_like(v_cache_);
    }
    return k_scratch_;
  }

  // The host copy waits for the device: on a GPU, this is where a step's work completes.
  static std::vector<float> to_vector(const Tensor& t) {
    Tensor f = t.to(torch::TensorOptions().device(torch::kCPU).dtype(torch::kFloat32)).contiguous();
    return std::vector<float>(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
  }

  Status check_tokens(const std::vector<std::int64_t>& tokens, std::int64_t at) const {
    if (tokens.empty()) return make_error(ErrorCode::kUsage, "no tokens to run", "tokens");
    if (at + static_cast<std::int64_t>(tokens.size()) > ctx_) {
      return make_error(ErrorCode::kUsage,
                        std::to_string(at + static_cast<std::int64_t>(tokens.size())) + " tokens do not fit the context of " + std::to_string(ctx_),
                        "context");
    }
    for (auto t : tokens) {
      if (t < 0 || t >= c_.vocab_size) return make_error(ErrorCode::kUsage, "token id " + std::to_string(t) + " is outside the vocabulary", "tokens");
    }
    return {};
  }

  bool direct_decode() const override { return direct_ != nullptr; }

  Status bind_llama(Binder& b);
  void prepare_direct_decode(int threads, std::int64_t parallel_floats);
  Status bind_gpt2(Binder& b);
  Tensor run(const std::vector<std::int64_t>& tokens, std::int64_t pos, bool last_only);
  Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, std::int64_t layer, std::int64_t pos);
  Tensor rope(const Tensor& x, std::int64_t pos) const;
  Tensor llama_layer(Tensor x, std::int64_t l, std::int64_t pos);
  Tensor gpt2_layer(Tensor x, std::int64_t l, std::int64_t pos);

  ModelConfig c_;
  Device device_;
  torch::Device tdev_ = torch::kCPU;
  std::shared_ptr<const WeightSet> weights_;
  torch::Dtype dtype_ = torch::kFloat32;
  std::int64_t ctx_ = 0, pos_ = 0;
  Tensor embed_, lm_head_, final_norm_, final_norm_b_, pos_embed_;
  std::vector<Layer> layers_;
  Tensor cos_, sin_;  // [ctx, head_dim / 2]
  Tensor k_cache_, v_cache_, k_scratch_, v_scratch_;  // [layers, kv_heads, ctx, head_dim]
  std::unique_ptr<DecodeStep> direct_;  // one-token steps; null: through libtorch
};

// The direct kernels read the bound tensors' memory: every one must be contiguous f32 (the
// mapped weights themselves, or the engine's own converted copies).
void TorchEngine::prepare_direct_decode(int threads, std::int64_t parallel_floats) {
  std::vector<const Tensor*> all = {&embed_, &lm_head_, &final_norm_, &cos_, &sin_, &k_cache_, &v_cache_};
  for (const Layer& L : layers_) {
    for (const Tensor* t : {&L.attn_norm, &L.wq, &L.wk, &L.wv, &L.wo, &L.mlp_norm, &L.w_gate, &L.w_up, &L.w_down}) all.push_back(t);
  }
  for (const Tensor* t : all) {
    if (t->scalar_type() != torch::kFloat32 || !t->is_contiguous()) return;
  }
  DecodeModel m;
  m.dim = c_.hidden;
  m.hidden = c_.intermediate;
  m.heads = c_.heads;
  m.kv_heads = c_.kv_heads;
  m.head_dim = c_.head_dim;
  m.vocab = c_.vocab_size;
  m.ctx = ctx_;
  m.eps = static_cast<float>(c_.norm_eps);
  m.rope_half = c_.rope_style == RopeStyle::kHalf;
  m.embed = embed_.data_ptr<float>();
  m.final_norm = final_norm_.data_ptr<float>();
  m.lm_head = lm_head_.data_ptr<float>();
  m.cos = cos_.data_ptr<float>();
  m.sin = sin_.data_ptr<float>();
  m.threads = threads;
  if (parallel_floats > 0) m.parallel_floats = parallel_floats;
  for (const Layer& L : layers_) {
    m.layers.push_back({L.attn_norm.data_ptr<float>(), L.wq.data_ptr<float>(), L.wk.data_ptr<float>(), L.wv.data_ptr<float>(), L.wo.data_ptr<float>(),
                        L.mlp_norm.data_ptr<float>(), L.w_gate.data_ptr<float>(), L.w_up.data_ptr<float>(), L.w_down.data_ptr<float>()});
  }
  direct_ = std::make_unique<DecodeStep>(std::move(m));
}

Status TorchEngine::bind_llama(Binder& b) {
  const std::int64_t d = c_.hidden, q = c_.heads * c_.head_dim, kv = c_.kv_dim(), hid = c_.intermediate;
  CCI_SET(embed_, b.get("model.embed_tokens.weight", {c_.vocab_size, d}));
  CCI_SET(final_norm_, b.get("model.norm.weight", {d}));
  if (c_.tied_embeddings || !b.has("lm_head.weight")) {
    if (!c_.tied_embeddings) return bad_weights("the checkpoint has no tensor 'lm_head.weight' and config.json does not tie embeddings", "lm_head.weight");
    lm_head_ = embed_;
  } else {
    CCI_SET(lm_head_, b.get("lm_head.weight", {c_.vocab_size, d}));
  }
  layers_.resize(static_cast<size_t>(c_.layers));
  for (std::int64_t l = 0; l < c_.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    Layer& L = layers_[static_cast<size_t>(l)];
    CCI_SET(L.attn_norm, b.get(p + "input_layernorm.weight", {d}));
    CCI_SET(L.wq, b.get(p + "self_attn.q_proj.weight", {q, d}));
    CCI_SET(L.wk, b.get(p + "self_attn.k_proj.weight", {kv, d}));
    CCI_SET(L.wv, b.get(p + "self_attn.v_proj.weight", {kv, d}));
    CCI_SET(L.wo, b.get(p + "self_attn.o_proj.weight", {d, q}));
    CCI_SET(L.mlp_norm, b.get(p + "post_attention_layernorm.weight", {d}));
    CCI_SET(L.w_gate, b.get(p + "mlp.gate_proj.weight", {hid, d}));
    CCI_SET(L.w_up, b.get(p + "mlp.up_proj.weight", {hid, d}));
    CCI_SET(L.w_down, b.get(p + "mlp.down_proj.weight", {d, hid}));
  }
  return {};
}

// GPT-2 checkpoints name tensors with or without "transformer."; its Conv1D weights are
// [in, out], transposed here once so every projection is x W^T.
Status TorchEngine::bind_gpt2(Binder& b) {
  const std::int64_t d = c_.hidden, hid = c_.intermediate;
  auto name = [&](const std::string& n) { return std::vector<std::string>{n, "transformer." + n}; };
  CCI_SET(embed_, b.get_any(name("wte.weight"), {c_.vocab_size, d}));
  CCI_SET(pos_embed_, b.get_any(name("wpe.weight"), {c_.max_positions, d}));
  CCI_SET(final_norm_, b.get_any(name("ln_f.weight"), {d}));
  CCI_SET(final_norm_b_, b.get_any(name("ln_f.bias"), {d}));
  lm_head_ = embed_;
  layers_.resize(static_cast<size_t>(c_.layers));
  for (std::int64_t l = 0; l < c_.layers; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    Layer& L = layers_[static_cast<size_t>(l)];
    CCI_SET(L.attn_norm, b.get_any(name(p + "ln_1.weight"), {d}));
    CCI_SET(L.ln1_b, b.get_any(name(p + "ln_1.bias"), {d}));
    CCI_SET(L.w_qkv, b.get_any(name(p + "attn.c_attn.weight"), {d, 3 * d}));
    CCI_SET(L.qkv_b, b.get_any(name(p + "attn.c_attn.bias"), {3 * d}));
    CCI_SET(L.wo, b.get_any(name(p + "attn.c_proj.weight"), {d, d}));
    CCI_SET(L.o_b, b.get_any(name(p + "attn.c_proj.bias"), {d}));
    CCI_SET(L.mlp_norm, b.get_any(name(p + "ln_2.weight"), {d}));
    CCI_SET(L.ln2_b, b.get_any(name(p + "ln_2.bias"), {d}));
    CCI_SET(L.w_fc, b.get_any(name(p + "mlp.c_fc.weight"), {d, hid}));
    CCI_SET(L.fc_b, b.get_any(name(p + "mlp.c_fc.bias"), {hid}));
    CCI_SET(L.w_proj, b.get_any(name(p + "mlp.c_proj.weight"), {hid, d}));
    CCI_SET(L.proj_b, b.get_any(name(p + "mlp.c_proj.bias"), {d}));
    L.w_qkv = L.w_qkv.t().contiguous();
    L.wo = L.wo.t().contiguous();
    L.w_fc = L.w_fc.t().contiguous();
    L.w_proj = L.w_proj.t().contiguous();
  }
  return {};
}

Result<std::unique_ptr<Engine>> TorchEngine::build(const ModelConfig& c, std::shared_ptr<const WeightSet> w, const EngineOptions& o) {
  CCI_TRY(check_model_config(c, "config"));
  if (o.threads < 1 || o.threads > 256) return make_error(ErrorCode::kUsage, "threads must be 1 to 256", "threads");
  CCI_TRY(check_device(o.device));
  if (o.compute == Compute::kBF16 && !o.device.is_cuda() && !cpu_has_native_bf16()) {
    return make_error(ErrorCode::kUnsupported, "this CPU has no native bf16 arithmetic (AVX512-BF16 or AMX): compute in f32", "compute");
  }
  if (o.context < 0 || o.context > c.max_positions) {
    return make_error(ErrorCode::kUsage, "context must be at most the model's " + std::to_string(c.max_positions) + " positions", "context");
  }
  torch::set_num_threads(o.threads);
  auto e = std::unique_ptr<TorchEngine>(new TorchEngine);
  e->c_ = c;
  e->device_ = o.device;
  e->tdev_ = torch_device(o.device);
  e->weights_ = w;
  e->dtype_ = o.compute == Compute::kBF16 ? torch::kBFloat16 : torch::kFloat32;
  e->ctx_ = o.context > 0 ? o.context : std::min<std::int64_t>(c.max_positions, 4096);
  Binder b(w, e->dtype_, e->tdev_);
  torch::NoGradGuard no_grad;
  CCI_TRY(c.arch == Architecture::kLlama ? e->bind_llama(b) : e->bind_gpt2(b));
  if (b.used().size() != w->tensors.size() && !(c.arch == Architecture::kGpt2)) {
    for (const auto& [name, t] : w->tensors) {
      if (std::find(b.used().begin(), b.used().end(), name) == b.used().end() && name.find("rotary_emb") == std::string::npos) {
        return bad_weights("the checkpoint has a tensor this architecture does not use: '" + name + "'", name);
      }
    }
  }
  if (c.arch == Architecture::kLlama) {
    Tensor inv = rope_inv_freq(c);
    Tensor ang = torch::outer(torch::arange(0, e->ctx_, torch::kFloat64), inv);
    const auto f32 = torch::TensorOptions().device(e->tdev_).dtype(torch::kFloat32);
    e->cos_ = ang.cos().to(f32);
    e->sin_ = ang.sin().to(f32);
  }
  e->k_cache_ = zeroed_cache({c.layers, c.kv_heads, e->ctx_, c.head_dim}, e->dtype_, e->tdev_);
  e->v_cache_ = zeroed_cache({c.layers, c.kv_heads, e->ctx_, c.head_dim}, e->dtype_, e->tdev_);
  if (o.direct_decode && !o.device.is_cuda() && c.arch == Architecture::kLlama && e->dtype_ == torch::kFloat32) {
    e->prepare_direct_decode(o.threads, o.direct_parallel_floats);
  }
  return std::unique_ptr<Engine>(std::move(e));
}

// x: [T, heads, head_dim] at positions pos..pos+T-1.
Tensor TorchEngine::rope(const Tensor& x, std::int64_t pos) const {
  const std::int64_t T = x.size(0), half = c_.head_dim / 2;
  Tensor cos = cos_.narrow(0, pos, T).unsqueeze(1), sin = sin_.narrow(0, pos, T).unsqueeze(1);  // [T, 1, half]
  Tensor xf = x.to(torch::kFloat32);
  Tensor out;
  if (c_.rope_style == RopeStyle::kHalf) {
    Tensor x1 = xf.narrow(-1, 0, half), x2 = xf.narrow(-1, half, half);
    out = torch::cat({x1 * cos - x2 * sin, x2 * cos + x1 * sin}, -1);
  } else {
    Tensor pairs = xf.view({T, x.size(1), half, 2});
    Tensor x0 = pairs.select(-1, 0), x1 = pairs.select(-1, 1);
    out = torch::stack({x0 * cos - x1 * sin, x0 * sin + x1 * cos}, -1).view({T, x.size(1), c_.head_dim});
  }
  return out.to(x.scalar_type());
}

// Grouped-query attention over the cache: query head h reads key/value head h / (heads / kv_heads).
Tensor TorchEngine::attention(const Tensor& q, const Tensor& k, const Tensor& v, std::int64_t l, std::int64_t pos) {
  const std::int64_t T = q.size(0), S = pos + T, kvh = c_.kv_heads, g = c_.heads / kvh, hd = c_.head_dim;
  Tensor kc = k_cache_[l], vc = v_cache_[l];  // [kv_heads, ctx, hd]
  kc.narrow(1, pos, T).copy_(k.transpose(0, 1));
  vc.narrow(1, pos, T).copy_(v.transpose(0, 1));
  Tensor keys = kc.narrow(1, 0, S), values = vc.narrow(1, 0, S);
  Tensor qg = q.view({T, kvh, g, hd}).permute({1, 2, 0, 3}).reshape({kvh, g * T, hd});
  Tensor scores = torch::bmm(qg, keys.transpose(1, 2)).to(torch::kFloat32) / std::sqrt(static_cast<double>(hd));  // [kvh, g*T, S]
  if (T > 1) {
    const auto i64 = torch::TensorOptions().device(tdev_).dtype(torch::kInt64);
    Tensor qpos = torch::arange(pos, S, i64).unsqueeze(1), kpos = torch::arange(0, S, i64).unsqueeze(0);
    Tensor mask = (kpos > qpos).repeat({g, 1});  // [g*T, S]
    scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
  }
  Tensor p = torch::softmax(scores, -1).to(values.scalar_type());
  Tensor out = torch::bmm(p, values);  // [kvh, g*T, hd]
  return out.view({kvh, g, T, hd}).permute({2, 0, 1, 3}).reshape({T, c_.heads * hd});
}

Tensor TorchEngine::llama_layer(Tensor x, std::int64_t l, std::int64_t pos) {
  const Layer& L = layers_[static_cast<size_t>(l)];
  const std::int64_t T = x.size(0);
  Tensor h = rms_norm(x, L.attn_norm, c_.norm_eps);
  Tensor q = rope(project(h, L.wq).view({T, c_.heads, c_.head_dim}), pos);
  Tensor k = rope(project(h, L.wk).view({T, c_.kv_heads, c_.head_dim}), pos);
  Tensor v = project(h, L.wv).view({T, c_.kv_heads, c_.head_dim});
  x = x + project(attention(q, k, v, l, pos), L.wo);
  h = rms_norm(x, L.mlp_norm, c_.norm_eps);
  return x + project(torch::silu(project(h, L.w_gate)) * project(h, L.w_up), L.w_down);
}

Tensor TorchEngine::gpt2_layer(Tensor x, std::int64_t l, std::int64_t pos) {
  const Layer& L = layers_[static_cast<size_t>(l)];
  const std::int64_t T = x.size(0), d = c_.hidden;
  Tensor h = F::layer_norm(x, F::LayerNormFuncOptions({d}).weight(L.attn_norm).bias(L.ln1_b).eps(c_.norm_eps));
  Tensor qkv = project(h, L.w_qkv) + L.qkv_b;
  Tensor q = qkv.narrow(1, 0, d).view({T, c_.heads, c_.head_dim});
  Tensor k = qkv.narrow(1, d, d).view({T, c_.heads, c_.head_dim});
  Tensor v = qkv.narrow(1, 2 * d, d).view({T, c_.heads, c_.head_dim});
  x = x + project(attention(q, k, v, l, pos), L.wo) + L.o_b;
  h = F::layer_norm(x, F::LayerNormFuncOptions({d}).weight(L.mlp_norm).bias(L.ln2_b).eps(c_.norm_eps));
  return x + project(torch::gelu(project(h, L.w_fc) + L.fc_b, "tanh"), L.w_proj) + L.proj_b;
}

Tensor TorchEngine::run(const std::vector<std::int64_t>& tokens, std::int64_t pos, bool last_only) {
  const auto n = static_cast<std::int64_t>(tokens.size());
  Tensor ids = torch::from_blob(const_cast<std::int64_t*>(tokens.data()), {n}, torch::kInt64).to(tdev_);
  Tensor x = embed_.index_select(0, ids);
  if (c_.arch == Architecture::kGpt2) x = x + pos_embed_.narrow(0, pos, n);
  for (std::int64_t l = 0; l < c_.layers; ++l) x = c_.arch == Architecture::kLlama ? llama_layer(x, l, pos) : gpt2_layer(x, l, pos);
  if (last_only) x = x.narrow(0, n - 1, 1);
  x = c_.arch == Architecture::kLlama ? rms_norm(x, final_norm_, c_.norm_eps)
                                      : F::layer_norm(x, F::LayerNormFuncOptions({c_.hidden}).weight(final_norm_).bias(final_norm_b_).eps(c_.norm_eps));
  return project(x, lm_head_).to(torch::kFloat32);
}

}  // namespace

namespace {

// Activation buffers are megabytes (a prefill of T tokens allocates T x hidden floats per step).
// glibc serves blocks over its mmap threshold (128 KiB, raised only as such blocks are freed) with
// fresh mappings, so a process that has not yet freed a large block (a worker just started)
// faults in every activation page of every step: about 21,000 faults per 211-token prefill on the
// 110M shape, 5 % of its time. Blocks up to 64 MiB come from the heap instead, and the heap keeps
// up to 512 MiB free for the next step. The memory stays in this process (one user's worker).
void keep_activation_buffers() {
  static std::once_flag once;
  std::call_once(once, [] {
    ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 512 << 20);
  });
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::create(const ModelConfig& config, std::shared_ptr<const WeightSet> weights, const EngineOptions& o) {
  keep_activation_buffers();
  try {
    return TorchEngine::build(config, std::move(weights), o);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("libtorch: ") + e.what());
  }
}

// Waits for the work queued on a GPU (nothing to wait for on the CPU).
static void settle(const Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize(d.index);
}

double measure_matmul_gflops(int threads, std::int64_t m, std::int64_t k, std::int64_t n, const Device& device) {
  torch::NoGradGuard no_grad;
  torch::set_num_threads(threads);
  const auto opts = torch::TensorOptions().device(torch_device(device)).dtype(torch::kFloat32);
  Tensor a = torch::randn({m, k}, opts), b = torch::randn({k, n}, opts);
  Tensor c = torch::matmul(a, b);  // warm-up
  settle(device);
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    c = torch::matmul(a, b);
    settle(device);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n) / best / 1e9;
}

Result<double> measure_device_read_gbs(const Device& device) {
  if (!device.is_cuda()) return make_error(ErrorCode::kUsage, "the device read rate is measured on a CUDA device", "device");
  CCI_TRY(check_device(device));
  try {
    torch::NoGradGuard no_grad;
    constexpr std::int64_t kFloats = std::int64_t{1} << 28;  // 1 GiB
    Tensor buf = torch::ones({kFloats}, torch::TensorOptions().device(torch_device(device)).dtype(torch::kFloat32));
    Tensor s = buf.sum();  // warm-up
    settle(device);
    double best = 1e30;
    for (int i = 0; i < 10; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      s = buf.sum();
      settle(device);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return static_cast<double>(kFloats) * 4.0 / best / 1e9;
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("libtorch: ") + e.what(), "device");
  }
}

Status check_device(const Device& d) {
  if (!d.is_cuda()) return {};
#ifndef CCI_TORCH_CUDA
  return make_error(ErrorCode::kUnsupported,
                    "--device " + d.text() + ": this build's libtorch has no CUDA (Debian's libtorch is CPU-only); configure cci against a CUDA "
                    "libtorch with -DCCI_TORCH_DIR=... (docs/cuda.md)",
                    "device");
#else
  if (!torch::cuda::is_available()) {
    return make_error(ErrorCode::kUnsupported,
                      "--device " + d.text() + ": no CUDA device is visible to this process (is the NVIDIA driver loaded, are /dev/nvidia* "
                      "readable, what does CUDA_VISIBLE_DEVICES say?)",
                      "device");
  }
  const auto count = torch::cuda::device_count();
  if (static_cast<size_t>(d.index) >= count) {
    return make_error(ErrorCode::kUsage, "--device " + d.text() + ": this machine has " + std::to_string(count) + " CUDA device(s), numbered from 0",
                      "device");
  }
  return {};
#endif
}

const char* direct_decode_isa() { return decode_isa(); }

std::string blas_kernels() {
  // OpenBLAS built for several CPUs (Debian's is) picks its kernels once, as it loads: from the
  // CPU, or from OPENBLAS_CORETYPE where that is set. It is the BLAS libtorch's CPU matrix
  // products run on here; looked up by name so that another BLAS simply answers "".
  using CoreName = char* (*)();
  auto* name = reinterpret_cast<CoreName>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const char* s = name ? name() : nullptr;
  return s ? std::string(s) : std::string();
}

bool cpu_has_native_bf16() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("flags", 0) == 0) return line.find(" avx512_bf16") != std::string::npos || line.find(" amx_bf16") != std::string::npos;
  }
  return false;
}

}  // namespace cci::infer
