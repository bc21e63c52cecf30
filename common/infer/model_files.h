// A model as the user names it: a Hugging Face style directory (config.json, model.safetensors
// or a sharded index, tokenizer.model), a llama2.c checkpoint file, or bytes embedded in the
// binary (the default model). Weights stay in their mapping (or in the binary's rodata).
#pragma once

#include <memory>
#include <string>

#include "base/bytes.h"
#include "infer/model_config.h"
#include "infer/safetensors.h"
#include "infer/tokenizer.h"

namespace cci::infer {

struct LoadedModel {
  std::string source;  // the directory or file, or "embedded default model"
  ModelConfig config;
  std::shared_ptr<const WeightSet> weights;
  std::unique_ptr<Tokenizer> tokenizer;  // null when the model has none (llama2.c files)
};

// `path`: a directory or a llama2.c .bin file. `on_mapped` sees every weight file's bytes as
// it is mapped.
Result<LoadedModel> load_model(const std::string& path, const MappedCheck& on_mapped = {});
// The same through a reader (verified loading hands one out that serves only checked bytes).
Result<LoadedModel> load_model(ModelReader& reader);

// A model from memory: safetensors image, config.json text and tokenizer.model bytes. The
// bytes must outlive the model (static data).
Result<LoadedModel> load_model_from_memory(ByteView safetensors, ByteView config_json, ByteView tokenizer_model, const std::string& source);

}  // namespace cci::infer
