// The embedded default model: models/kjv-tiny (a small Llama trained on the King James Bible by
// tools/cci-train; see its README) compiled into the binary as read-only data.
#pragma once

#include "base/bytes.h"

namespace cci::models {

struct EmbeddedModel {
  ByteView safetensors, config_json, tokenizer_model;
  const char* name;
};

const EmbeddedModel& default_model();

}  // namespace cci::models
