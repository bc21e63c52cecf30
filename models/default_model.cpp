#include "default_model.h"

// .incbin places each file in .rodata; 64-byte alignment keeps the F32 tensors aligned (the
// safetensors header is padded to a multiple of 8).
#define CCI_EMBED(sym, file)                                       \
  asm(".section .rodata\n.balign 64\n.global " #sym "\n" #sym ":\n" \
      ".incbin \"" CCI_KJV_DIR "/" file "\"\n.global " #sym "_end\n" #sym "_end:\n.byte 0\n.previous\n")

CCI_EMBED(cci_kjv_safetensors, "model.safetensors");
CCI_EMBED(cci_kjv_config, "config.json");
CCI_EMBED(cci_kjv_tokenizer, "tokenizer.model");

extern "C" {
extern const unsigned char cci_kjv_safetensors[], cci_kjv_safetensors_end[];
extern const unsigned char cci_kjv_config[], cci_kjv_config_end[];
extern const unsigned char cci_kjv_tokenizer[], cci_kjv_tokenizer_end[];
}

namespace cci::models {

const EmbeddedModel& default_model() {
  static const EmbeddedModel m{
      ByteView(cci_kjv_safetensors, static_cast<size_t>(cci_kjv_safetensors_end - cci_kjv_safetensors)),
      ByteView(cci_kjv_config, static_cast<size_t>(cci_kjv_config_end - cci_kjv_config)),
      ByteView(cci_kjv_tokenizer, static_cast<size_t>(cci_kjv_tokenizer_end - cci_kjv_tokenizer)),
      "embedded kjv-tiny",
  };
  return m;
}

Result<infer::LoadedModel> load_default_model() {
  const EmbeddedModel& m = default_model();
  return infer::load_model_from_memory(m.safetensors, m.config_json, m.tokenizer_model, m.name);
}

}  // namespace cci::models
