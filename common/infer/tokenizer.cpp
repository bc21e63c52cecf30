#include "infer/tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "base/file_io.h"
#include "base/utf8.h"
#include "infer/bpe_tokenizer.h"
#include "infer/model_reader.h"
#include "infer/sentencepiece.h"

namespace cci::infer {

// tokenizer.model first: Hugging Face Llama 2 directories also carry a tokenizer.json whose
// normalizer this reader does not implement, for the same tokenizer.
Result<std::unique_ptr<Tokenizer>> load_tokenizer(ModelReader& reader) {
  const bool use_sp = reader.has("tokenizer.model");
  const std::string name = use_sp ? "tokenizer.model" : "tokenizer.json";
  auto b = reader.read(name, 64u << 20);
  if (!b) return b.error();
  return use_sp ? parse_sentencepiece(*b, name) : parse_tokenizer_json(*b, name);
}

std::string StreamDecoder::push(std::int64_t id) {
  ids_.push_back(id);
  const std::string all = t_.decode(ids_);
  if (all.size() < emitted_) {  // a decoder that rewrote earlier text (never for ours): restart there
    emitted_ = all.size();
    return {};
  }
  // Whole characters only; an unfinished one at the end waits for its next byte, and any
  // ill-formed sequence (a byte piece followed by ASCII, say) becomes U+FFFD.
  size_t held = 0;
  std::string out = repair_utf8(std::string_view(all).substr(emitted_), &held);
  emitted_ = all.size() - held;
  return out;
}

std::string StreamDecoder::finish() {
  const std::string all = t_.decode(ids_);
  if (all.size() <= emitted_) return {};
  std::string out = repair_utf8(std::string_view(all).substr(emitted_));
  emitted_ = all.size();
  return out;
}

}  // namespace cci::infer
