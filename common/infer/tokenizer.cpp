#include "infer/tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "base/file_io.h"
#include "infer/bpe_tokenizer.h"
#include "infer/sentencepiece.h"

namespace cci::infer {

// tokenizer.model first: Hugging Face Llama 2 directories also carry a tokenizer.json whose
// normalizer this reader does not implement, for the same tokenizer.
Result<std::unique_ptr<Tokenizer>> load_tokenizer(const std::string& model_dir) {
  std::error_code ec;
  const std::string sp = model_dir + "/tokenizer.model", hf = model_dir + "/tokenizer.json";
  const bool use_sp = std::filesystem::exists(sp, ec);
  auto b = read_file(use_sp ? sp : hf, 64u << 20);
  if (!b) return b.error();
  return use_sp ? parse_sentencepiece(*b, sp) : parse_tokenizer_json(*b, hf);
}

std::string StreamDecoder::push(std::int64_t id) {
  ids_.push_back(id);
  const std::string all = t_.decode(ids_);
  // Hold back an incomplete UTF-8 sequence at the end.
  size_t end = all.size(), i = all.size();
  while (i > emitted_ && i > all.size() - std::min<size_t>(all.size(), 4)) {
    --i;
    const unsigned char c = static_cast<unsigned char>(all[i]);
    if ((c & 0xC0) != 0x80) {
      if (utf8_sequence_length(c) > all.size() - i) end = i;
      break;
    }
  }
  if (end <= emitted_) return {};
  std::string out = all.substr(emitted_, end - emitted_);
  emitted_ = end;
  return out;
}

}  // namespace cci::infer
