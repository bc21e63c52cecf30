// Tokenizers behind one interface: SentencePiece tokenizer.model (infer/sentencepiece.h) and
// Hugging Face tokenizer.json byte-level BPE (infer/bpe_tokenizer.h). Encoding never adds BOS; the caller does.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace cci::infer {

// Bytes in the UTF-8 sequence that starts with `lead` (1 for a stray continuation byte, so
// malformed text still advances).
inline size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual Result<std::vector<std::int64_t>> encode(std::string_view text) const = 0;
  // Ids outside the vocabulary decode to U+FFFD; invalid UTF-8 from byte pieces likewise.
  virtual std::string decode(const std::vector<std::int64_t>& ids) const = 0;
  virtual std::int64_t vocab_size() const = 0;
  virtual std::optional<std::int64_t> bos_id() const = 0;
  virtual std::optional<std::int64_t> eos_id() const = 0;
};

class ModelReader;

// tokenizer.model (SentencePiece) or else tokenizer.json (byte-level BPE) of the model the
// reader reads. Errors name the file.
Result<std::unique_ptr<Tokenizer>> load_tokenizer(ModelReader& reader);

// Text for a growing id sequence, piece by piece: what push() returns is always valid UTF-8
// (a character split over byte pieces waits for its last byte; an ill-formed sequence, which a
// sampled byte piece followed by anything else makes, becomes U+FFFD).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& t) : t_(t) {}
  // Continues after `prefix` (the prompt), so the first piece keeps its leading space.
  StreamDecoder(const Tokenizer& t, std::vector<std::int64_t> prefix) : t_(t), ids_(std::move(prefix)), emitted_(t.decode(ids_).size()) {}
  std::string push(std::int64_t id);
  // What is still held back at the end of generation (an unfinished character: U+FFFD).
  std::string finish();

 private:
  const Tokenizer& t_;
  std::vector<std::int64_t> ids_;
  size_t emitted_ = 0;  // bytes of decode(ids_) already returned
};

}  // namespace cci::infer
