#include "infer/llama2c.h"

#include <cstring>
#include <filesystem>

#include "base/byte_reader.h"

namespace cci::infer {
namespace {

Error bad(const std::string& what, const std::string& msg, const std::string& field) {
  return make_error(ErrorCode::kMalformed, what + ": " + msg, field);
}

Result<ModelConfig> header_config(const ByteReader& rd, bool& shared) {
  std::int32_t h[7];
  const char* names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
  for (int i = 0; i < 7; ++i) {
    auto v = rd.le32(static_cast<size_t>(4 * i), names[i]);
    if (!v) return v.error();
    h[i] = static_cast<std::int32_t>(*v);
  }
  shared = h[5] > 0;
  ModelConfig c;
  c.arch = Architecture::kLlama;
  c.hidden = h[0];
  c.intermediate = h[1];
  c.layers = h[2];
  c.heads = h[3];
  c.kv_heads = h[4];
  c.vocab_size = h[5] < 0 ? -static_cast<std::int64_t>(h[5]) : h[5];
  c.max_positions = h[6];
  c.rope_style = RopeStyle::kInterleaved;
  c.tied_embeddings = shared;
  c.norm_eps = 1e-5;
  const std::int64_t lim[7] = {kMaxHidden, kMaxIntermediate, kMaxLayers, kMaxHeads, kMaxHeads, kMaxVocab, kMaxPositions};
  const std::int64_t val[7] = {c.hidden, c.intermediate, c.layers, c.heads, c.kv_heads, c.vocab_size, c.max_positions};
  for (int i = 0; i < 7; ++i) {
    if (val[i] < 1 || val[i] > lim[i]) return bad(rd.what(), std::string(names[i]) + " " + std::to_string(val[i]) + " is out of range", names[i]);
  }
  if (c.hidden % c.heads != 0) return bad(rd.what(), "dim must be a multiple of n_heads", "n_heads");
  c.head_dim = c.hidden / c.heads;
  CCI_TRY(check_model_config(c, rd.what()));
  return c;
}

// Lays the arrays out in file order and checks that they end exactly at the end of the file.
struct Layout {
  ByteView file;
  size_t at = 28;
  std::map<std::string, TensorView> out;
  bool overflow = false;
  ByteView take(std::int64_t floats) {
    const size_t n = static_cast<size_t>(floats) * 4;
    if (at > file.size() || n > file.size() - at) {
      overflow = true;
      return {};
    }
    ByteView v = file.subspan(at, n);
    at += n;
    return v;
  }
  void add(const std::string& name, std::vector<std::int64_t> shape, ByteView data) {
    TensorView t;
    t.dtype = DType::kF32;
    t.shape = std::move(shape);
    t.data = data;
    out[name] = std::move(t);
  }
  // A [L, rows, cols] array split into one tensor per layer.
  void per_layer(const std::string& suffix, std::int64_t layers, std::vector<std::int64_t> shape) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    for (std::int64_t l = 0; l < layers; ++l) add("model.layers." + std::to_string(l) + "." + suffix, shape, take(n));
  }
};

std::string layer_name(std::int64_t l, const char* suffix) { return "model.layers." + std::to_string(l) + "." + suffix; }

// Rows of a [heads * hd, in] matrix from adjacent-pair to rotate_half order.
Bytes permute_rows(ByteView w, std::int64_t heads, std::int64_t hd, std::int64_t in) {
  Bytes out(w.size());
  const size_t row = static_cast<size_t>(in) * 4;
  for (std::int64_t h = 0; h < heads; ++h) {
    for (std::int64_t i = 0; i < hd / 2; ++i) {
      for (std::int64_t j = 0; j < 2; ++j) {
        const size_t from = static_cast<size_t>(h * hd + 2 * i + j), to = static_cast<size_t>(h * hd + j * (hd / 2) + i);
        std::memcpy(out.data() + to * row, w.data() + from * row, row);
      }
    }
  }
  return out;
}

}  // namespace

Result<Checkpoint> load_llama2c(const std::string& path, const MappedCheck& on_mapped) {
  auto reader = path_reader(path, on_mapped);
  return load_llama2c(*reader);
}

Result<Checkpoint> load_llama2c(ModelReader& reader) {
  const std::string what = reader.single_name();
  auto mf = reader.map(what);
  if (!mf) return mf.error();
  const ByteReader rd((*mf)->bytes(), what);
  bool shared = true;
  auto config = header_config(rd, shared);
  if (!config) return config.error();
  const ModelConfig& c = *config;
  Layout lay;
  lay.file = (*mf)->bytes();
  const std::int64_t d = c.hidden, kv = c.kv_dim(), hid = c.intermediate, L = c.layers;
  lay.add("model.embed_tokens.weight", {c.vocab_size, d}, lay.take(c.vocab_size * d));
  lay.per_layer("input_layernorm.weight", L, {d});
  lay.per_layer("self_attn.q_proj.weight", L, {d, d});
  lay.per_layer("self_attn.k_proj.weight", L, {kv, d});
  lay.per_layer("self_attn.v_proj.weight", L, {kv, d});
  lay.per_layer("self_attn.o_proj.weight", L, {d, d});
  lay.per_layer("post_attention_layernorm.weight", L, {d});
  lay.per_layer("mlp.gate_proj.weight", L, {hid, d});
  lay.per_layer("mlp.down_proj.weight", L, {d, hid});
  lay.per_layer("mlp.up_proj.weight", L, {hid, d});
  lay.add("model.norm.weight", {d}, lay.take(d));
  (void)lay.take(c.max_positions * c.head_dim);  // freq_cis_real and freq_cis_imag: recomputed
  if (!shared) lay.add("lm_head.weight", {c.vocab_size, d}, lay.take(c.vocab_size * d));
  if (lay.overflow || lay.at != (*mf)->bytes().size()) {
    return bad(what, "the file has " + std::to_string((*mf)->bytes().size()) + " bytes but its header describes " +
                         (lay.overflow ? std::string("more") : std::to_string(lay.at)),
               "file size");
  }
  Checkpoint out;
  out.config = c;
  out.weights.tensors = std::move(lay.out);
  out.weights.files.push_back(std::move(*mf));
  return out;
}

Result<std::map<std::string, OwnedTensor>> to_hf_llama(const Checkpoint& c, ModelConfig& hf_config) {
  std::map<std::string, OwnedTensor> out;
  for (const auto& [name, t] : c.weights.tensors) {
    OwnedTensor o{t.dtype, t.shape, Bytes(t.data.begin(), t.data.end())};
    out.emplace(name, std::move(o));
  }
  if (c.config.rope_style == RopeStyle::kInterleaved) {
    for (std::int64_t l = 0; l < c.config.layers; ++l) {
      auto& q = out.at(layer_name(l, "self_attn.q_proj.weight"));
      q.data = permute_rows(q.data, c.config.heads, c.config.head_dim, c.config.hidden);
      auto& k = out.at(layer_name(l, "self_attn.k_proj.weight"));
      k.data = permute_rows(k.data, c.config.kv_heads, c.config.head_dim, c.config.hidden);
    }
  }
  hf_config = c.config;
  hf_config.rope_style = RopeStyle::kHalf;
  return out;
}

}  // namespace cci::infer
