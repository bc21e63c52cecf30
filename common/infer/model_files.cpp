#include "infer/model_files.h"

#include <filesystem>

#include "base/file_io.h"
#include "infer/llama2c.h"
#include "infer/sentencepiece.h"

namespace cci::infer {
namespace {

namespace fs = std::filesystem;

// The checkpoint's tensors must agree with config.json on the vocabulary (the engine checks
// every other shape); the tokenizer must not produce ids the model cannot embed.
Status check_tokenizer(const LoadedModel& m) {
  if (m.tokenizer && m.tokenizer->vocab_size() > m.config.vocab_size) {
    return make_error(ErrorCode::kMalformed,
                      "tokenizer.model has " + std::to_string(m.tokenizer->vocab_size()) + " pieces but the model's vocabulary is " +
                          std::to_string(m.config.vocab_size),
                      "tokenizer.model");
  }
  return {};
}

}  // namespace

Result<LoadedModel> load_model(const std::string& path, const MappedCheck& on_mapped) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return make_error(ErrorCode::kIo, "no model at " + path, path);
  auto reader = path_reader(path, on_mapped);
  return load_model(*reader);
}

Result<LoadedModel> load_model(ModelReader& reader) {
  LoadedModel m;
  m.source = reader.where();
  if (reader.single_file()) {
    auto c = load_llama2c(reader);
    if (!c) return c.error();
    m.config = c->config;
    m.weights = std::make_shared<const WeightSet>(std::move(c->weights));
    return m;
  }
  auto cfg_text = reader.read("config.json", 1 << 20);
  if (!cfg_text) return cfg_text.error();
  auto cfg = parse_model_config(*cfg_text, (fs::path(reader.where()) / "config.json").string());
  if (!cfg) return cfg.error();
  m.config = *cfg;
  auto w = load_safetensors(reader);
  if (!w) return w.error();
  m.weights = std::make_shared<const WeightSet>(std::move(*w));
  if (reader.has("tokenizer.model") || reader.has("tokenizer.json")) {
    auto t = load_tokenizer(reader);
    if (!t) return t.error();
    m.tokenizer = std::move(*t);
  }
  CCI_TRY(check_tokenizer(m));
  return m;
}

Result<LoadedModel> load_model_from_memory(ByteView safetensors, ByteView config_json, ByteView tokenizer_model, const std::string& source) {
  LoadedModel m;
  m.source = source;
  auto cfg = parse_model_config(config_json, source + "/config.json");
  if (!cfg) return cfg.error();
  m.config = *cfg;
  auto t = parse_safetensors(safetensors, source + "/model.safetensors");
  if (!t) return t.error();
  WeightSet w;
  w.tensors = std::move(*t);
  m.weights = std::make_shared<const WeightSet>(std::move(w));
  auto tok = parse_sentencepiece(tokenizer_model, source + "/tokenizer.model");
  if (!tok) return tok.error();
  m.tokenizer = std::move(*tok);
  CCI_TRY(check_tokenizer(m));
  return m;
}

}  // namespace cci::infer
