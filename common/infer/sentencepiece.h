// SentencePiece models (google/sentencepiece: sentencepiece_model.proto, bpe_model.cc,
// normalizer.cc) read without libsentencepiece, which cannot share a process with libtorch on
// Debian 12 (it carries its own protobuf runtime). Supported: BPE models with the identity
// normalizer (Llama 1/2, TinyLlama and the embedded model are of this kind), byte fallback,
// user-defined symbols, add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces.
// Anything else (unigram models, a precompiled normalization map) is refused by name. The
// tests check every encoding against libsentencepiece itself, in a process without torch.
#pragma once

#include <map>
#include <string>

#include "base/bytes.h"
#include "infer/tokenizer.h"

namespace cci::infer {

Result<std::unique_ptr<Tokenizer>> parse_sentencepiece(ByteView model_proto, const std::string& what);

}  // namespace cci::infer
