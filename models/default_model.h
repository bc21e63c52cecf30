// The embedded default model: models/kjv-tiny (a small Llama trained on the King James Bible by
// tools/cci-train; see its README) compiled into the binary as read-only data.
#pragma once

#include "base/bytes.h"
#include "infer/model_files.h"

namespace cci::models {

struct EmbeddedModel {
  ByteView safetensors, config_json, tokenizer_model;
  const char* name;
};

const EmbeddedModel& default_model();

// The embedded model parsed (weights stay in the binary's read-only data).
Result<infer::LoadedModel> load_default_model();

}  // namespace cci::models
