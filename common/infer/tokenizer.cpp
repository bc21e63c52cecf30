#include "infer/tokenizer.h"

#include <string.h>  // explicit_bzero

#include <algorithm>
#include <cstring>
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

namespace {
constexpr size_t kPendingReserve = 256;  // pieces are short: appends stay in this one buffer
}

StreamDecoder::StreamDecoder(const Tokenizer& t, const std::vector<std::int64_t>& prefix) : t_(t) {
  pending_.reserve(kPendingReserve);
  std::string scratch;
  for (auto id : prefix) {
    if (t_.append_piece(id, at_start_, scratch)) at_start_ = false;
    if (!at_start_) break;  // only whether a visible piece came before matters
  }
  explicit_bzero(scratch.data(), scratch.size());
}

StreamDecoder::~StreamDecoder() { explicit_bzero(pending_.data(), pending_.capacity()); }

std::string StreamDecoder::push(std::int64_t id) {
  if (pending_.capacity() < kPendingReserve) pending_.reserve(kPendingReserve);
  if (t_.append_piece(id, at_start_, pending_)) at_start_ = false;
  // Whole characters only; an unfinished one at the end waits for its next byte, and any
  // ill-formed sequence (a byte piece followed by ASCII, say) becomes U+FFFD.
  size_t held = 0;
  std::string out = repair_utf8(pending_, &held);
  const size_t done = pending_.size() - held;
  std::memmove(pending_.data(), pending_.data() + done, held);
  explicit_bzero(pending_.data() + held, done);
  pending_.resize(held);
  return out;
}

std::string StreamDecoder::finish() {
  if (pending_.empty()) return {};
  std::string out = repair_utf8(pending_);
  explicit_bzero(pending_.data(), pending_.size());
  pending_.clear();
  return out;
}

}  // namespace cci::infer
