#include "infer/model_config.h"

#include <nlohmann/json.hpp>

namespace cci::infer {
namespace {

using Json = nlohmann::json;

Error bad(const std::string& what, const std::string& msg, const std::string& field) {
  return make_error(ErrorCode::kMalformed, what + ": " + msg, field);
}

// An integer field in [lo, hi]; `fallback` when absent (or a required error when fallback < 0).
Result<std::int64_t> int_field(const Json& j, const char* key, std::int64_t lo, std::int64_t hi, std::int64_t fallback, const std::string& what) {
  if (!j.contains(key) || j[key].is_null()) {
    if (fallback >= 0) return fallback;
    return bad(what, std::string("missing ") + key, key);
  }
  const Json& v = j[key];
  if (!v.is_number_integer() || v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi) {
    return bad(what, std::string(key) + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + ", not " + v.dump(), key);
  }
  return v.get<std::int64_t>();
}

Result<double> real_field(const Json& j, const char* key, double lo, double hi, double fallback, const std::string& what) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  const Json& v = j[key];
  if (!v.is_number() || !(v.get<double>() >= lo && v.get<double>() <= hi)) {
    return bad(what, std::string(key) + " must be a number from " + std::to_string(lo) + " to " + std::to_string(hi), key);
  }
  return v.get<double>();
}

Result<std::vector<std::int64_t>> ids_field(const Json& j, const char* key, std::int64_t vocab, const std::string& what) {
  std::vector<std::int64_t> ids;
  if (!j.contains(key) || j[key].is_null()) return ids;
  const Json& v = j[key];
  for (const Json& x : v.is_array() ? v : Json::array({v})) {
    if (!x.is_number_integer() || x.get<std::int64_t>() < 0 || x.get<std::int64_t>() >= vocab) {
      return bad(what, std::string(key) + " must be token ids below vocab_size", key);
    }
    ids.push_back(x.get<std::int64_t>());
  }
  return ids;
}

Result<RopeScaling> rope_scaling_of(const Json& j, const std::string& what) {
  RopeScaling s;
  if (!j.contains("rope_scaling") || j["rope_scaling"].is_null()) return s;
  const Json& r = j["rope_scaling"];
  if (!r.is_object()) return bad(what, "rope_scaling must be an object", "rope_scaling");
  s.type = r.value("rope_type", r.value("type", std::string()));
  if (s.type == "default") {
    s.type.clear();
    return s;
  }
  if (s.type != "linear" && s.type != "llama3") return bad(what, "rope_scaling type '" + s.type + "' is not supported (linear, llama3)", "rope_scaling");
  auto f = real_field(r, "factor", 1, 1024, 1, what);
  auto lo = real_field(r, "low_freq_factor", 0.001, 1024, 1, what);
  auto hi = real_field(r, "high_freq_factor", 0.001, 1024, 4, what);
  auto orig = int_field(r, "original_max_position_embeddings", 1, kMaxPositions, 8192, what);
  if (!f || !lo || !hi || !orig) return bad(what, "rope_scaling has a value out of range", "rope_scaling");
  s.factor = *f;
  s.low_freq_factor = *lo;
  s.high_freq_factor = *hi;
  s.original_max_position = *orig;
  if (s.type == "llama3" && !(s.high_freq_factor > s.low_freq_factor)) return bad(what, "rope_scaling: high_freq_factor must exceed low_freq_factor", "rope_scaling");
  return s;
}


Result<ModelConfig> llama_config(const Json& j, const std::string& what) {
  ModelConfig c;
  c.arch = Architecture::kLlama;
  CCI_SET(c.vocab_size, int_field(j, "vocab_size", 1, kMaxVocab, -1, what));
  CCI_SET(c.hidden, int_field(j, "hidden_size", 2, kMaxHidden, -1, what));
  CCI_SET(c.intermediate, int_field(j, "intermediate_size", 1, kMaxIntermediate, -1, what));
  CCI_SET(c.layers, int_field(j, "num_hidden_layers", 1, kMaxLayers, -1, what));
  CCI_SET(c.heads, int_field(j, "num_attention_heads", 1, kMaxHeads, -1, what));
  CCI_SET(c.kv_heads, int_field(j, "num_key_value_heads", 1, kMaxHeads, c.heads, what));
  CCI_SET(c.head_dim, int_field(j, "head_dim", 2, kMaxHidden, c.hidden / c.heads, what));
  CCI_SET(c.max_positions, int_field(j, "max_position_embeddings", 1, kMaxPositions, 2048, what));
  CCI_SET(c.norm_eps, real_field(j, "rms_norm_eps", 1e-12, 1, 1e-6, what));
  CCI_SET(c.rope_theta, real_field(j, "rope_theta", 1, 1e9, 10000, what));
  CCI_SET(c.rope_scaling, rope_scaling_of(j, what));
  c.tied_embeddings = j.value("tie_word_embeddings", false);
  return c;
}

Result<ModelConfig> gpt2_config(const Json& j, const std::string& what) {
  ModelConfig c;
  c.arch = Architecture::kGpt2;
  c.tied_embeddings = true;
  CCI_SET(c.vocab_size, int_field(j, "vocab_size", 1, kMaxVocab, -1, what));
  CCI_SET(c.hidden, int_field(j, "n_embd", 2, kMaxHidden, -1, what));
  CCI_SET(c.layers, int_field(j, "n_layer", 1, kMaxLayers, -1, what));
  CCI_SET(c.heads, int_field(j, "n_head", 1, kMaxHeads, -1, what));
  c.kv_heads = c.heads;
  c.head_dim = c.hidden / c.heads;
  CCI_SET(c.intermediate, int_field(j, "n_inner", 1, kMaxIntermediate, 4 * c.hidden, what));
  CCI_SET(c.max_positions, int_field(j, "n_positions", 1, kMaxPositions, 1024, what));
  CCI_SET(c.norm_eps, real_field(j, "layer_norm_epsilon", 1e-12, 1, 1e-5, what));
  return c;
}

}  // namespace

std::int64_t ModelConfig::parameter_count() const {
  const std::int64_t emb = vocab_size * hidden;
  const std::int64_t attn = hidden * heads * head_dim * 2 + hidden * kv_dim() * 2;
  const std::int64_t mlp = hidden * intermediate * (arch == Architecture::kLlama ? 3 : 2);
  const std::int64_t pos = arch == Architecture::kGpt2 ? max_positions * hidden : 0;
  return emb * (tied_embeddings ? 1 : 2) + pos + layers * (attn + mlp + 2 * hidden) + hidden;
}

std::vector<TensorShape> llama_tensor_shapes(const ModelConfig& c) {
  const std::int64_t d = c.hidden, q = c.heads * c.head_dim, kv = c.kv_dim(), h = c.intermediate;
  std::vector<TensorShape> out = {{"model.embed_tokens.weight", {c.vocab_size, d}}, {"model.norm.weight", {d}}};
  if (!c.tied_embeddings) out.push_back({"lm_head.weight", {c.vocab_size, d}});
  for (std::int64_t l = 0; l < c.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    out.push_back({p + "input_layernorm.weight", {d}});
    out.push_back({p + "post_attention_layernorm.weight", {d}});
    out.push_back({p + "self_attn.q_proj.weight", {q, d}});
    out.push_back({p + "self_attn.k_proj.weight", {kv, d}});
    out.push_back({p + "self_attn.v_proj.weight", {kv, d}});
    out.push_back({p + "self_attn.o_proj.weight", {d, q}});
    out.push_back({p + "mlp.gate_proj.weight", {h, d}});
    out.push_back({p + "mlp.up_proj.weight", {h, d}});
    out.push_back({p + "mlp.down_proj.weight", {d, h}});
  }
  return out;
}

Status check_model_config(const ModelConfig& c, const std::string& what) {
  if (c.heads % c.kv_heads != 0) return bad(what, "num_attention_heads must be a multiple of num_key_value_heads", "num_key_value_heads");
  if (c.head_dim % 2 != 0) return bad(what, "the head dimension must be even (RoPE rotates pairs)", "head_dim");
  if (c.arch == Architecture::kGpt2 && c.hidden % c.heads != 0) return bad(what, "n_embd must be a multiple of n_head", "n_head");
  if (c.heads * c.head_dim > kMaxHidden) return bad(what, "heads x head_dim is absurdly large", "head_dim");
  // Refuse before allocating: 2^36 parameters (256 GiB in fp32) is beyond any machine this runs on.
  if (c.parameter_count() > (std::int64_t{1} << 36)) return bad(what, "the model would have " + std::to_string(c.parameter_count()) + " parameters", "config");
  return {};
}

Result<ModelConfig> parse_model_config(ByteView json, const std::string& what) {
  Json j = Json::parse(json.begin(), json.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad(what, "not a JSON object", "config");
  if (!j.contains("model_type") || !j["model_type"].is_string()) return bad(what, "model_type is missing or not a string", "model_type");
  const std::string type = j["model_type"].get<std::string>();
  // A well-formed config of an architecture this engine lacks is unsupported (exit 3: cannot
  // evaluate), not malformed (exit 1 would say the input failed a check).
  Result<ModelConfig> c = type == "llama" || type == "mistral" ? llama_config(j, what)
                          : type == "gpt2"                     ? gpt2_config(j, what)
                                                               : Result<ModelConfig>(make_error(ErrorCode::kUnsupported,
                                                                                                what + ": model_type '" + type + "' is not supported (llama, mistral, gpt2)",
                                                                                                "model_type"));
  if (!c) return c;
  CCI_SET(c->bos_ids, ids_field(j, "bos_token_id", c->vocab_size, what));
  CCI_SET(c->eos_ids, ids_field(j, "eos_token_id", c->vocab_size, what));
  c->torch_dtype = j.value("torch_dtype", std::string());
  CCI_TRY(check_model_config(*c, what));
  return c;
}

std::string model_config_json(const ModelConfig& c) {
  Json j = {{"model_type", "llama"},
            {"architectures", {"LlamaForCausalLM"}},
            {"vocab_size", c.vocab_size},
            {"hidden_size", c.hidden},
            {"intermediate_size", c.intermediate},
            {"num_hidden_layers", c.layers},
            {"num_attention_heads", c.heads},
            {"num_key_value_heads", c.kv_heads},
            {"head_dim", c.head_dim},
            {"max_position_embeddings", c.max_positions},
            {"rms_norm_eps", c.norm_eps},
            {"rope_theta", c.rope_theta},
            {"tie_word_embeddings", c.tied_embeddings},
            {"hidden_act", "silu"},
            {"torch_dtype", c.torch_dtype.empty() ? "float32" : c.torch_dtype}};
  if (!c.bos_ids.empty()) j["bos_token_id"] = c.bos_ids.front();
  if (!c.eos_ids.empty()) j["eos_token_id"] = c.eos_ids.size() == 1 ? Json(c.eos_ids.front()) : Json(c.eos_ids);
  return j.dump(2) + "\n";
}

}  // namespace cci::infer
