// Hugging Face tokenizer.json with a byte-level BPE model (GPT-2, Llama 3, SmolLM, Qwen):
// added tokens matched first (longest first), then the pre-tokenizer's regex split (PCRE2 with
// Unicode properties: GPT-2's pattern by default, or the Split pattern of a Sequence), bytes
// mapped to GPT-2's printable byte alphabet, and merges applied by rank (lowest first). With
// "ignore_merges" (Llama 3) a pre-token that is itself in the vocabulary is taken whole.
// Unsupported settings (normalizers, dropout, other models) are refused by name.
#pragma once

#include <string>

#include "base/bytes.h"
#include "infer/tokenizer.h"

namespace cci::infer {

Result<std::unique_ptr<Tokenizer>> parse_tokenizer_json(ByteView json, const std::string& what);

// The pre-tokenizer alone (for tests and tools): the pieces `text` is split into.
Result<std::vector<std::string>> pretokenize_for_test(ByteView tokenizer_json, std::string_view text);

// GPT-2's split pattern (openai/gpt-2 encoder.py).
inline constexpr char kGpt2Pattern[] = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace cci::infer
