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
  // Appends the bytes `id` adds to the text after the ids before it; `at_start`: no visible id
  // came before (SentencePiece then drops the dummy-prefix space). Returns false for an id the
  // text does not show (control and special tokens), which appends nothing. An id outside the
  // vocabulary appends U+FFFD. Byte pieces append raw bytes, which may be invalid UTF-8.
  virtual bool append_piece(std::int64_t id, bool at_start, std::string& out) const = 0;
  // The text of `ids`: append_piece over them, so decoding a whole sequence and streaming it
  // (StreamDecoder) give the same bytes.
  std::string decode(const std::vector<std::int64_t>& ids) const {
    std::string out;
    bool at_start = true;
    for (auto id : ids) {
      if (append_piece(id, at_start, out)) at_start = false;
    }
    return out;
  }
  virtual std::int64_t vocab_size() const = 0;
  virtual std::optional<std::int64_t> bos_id() const = 0;
  virtual std::optional<std::int64_t> eos_id() const = 0;
};

class ModelReader;

// tokenizer.model (SentencePiece) or else tokenizer.json (byte-level BPE) of the model the
// reader reads. Errors name the file.
Result<std::unique_ptr<Tokenizer>> load_tokenizer(ModelReader& reader);

// Text for a growing id sequence, piece by piece, in time linear in the output: each push()
// decodes one id. What push() returns is always valid UTF-8 (a character split over byte
// pieces waits for its last byte; an ill-formed sequence, which a sampled byte piece followed by
// anything else makes, becomes U+FFFD). The bytes held back live in wiped memory.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& t) : t_(t) {}
  // Continues after `prefix` (the prompt), so the first piece keeps its leading space.
  StreamDecoder(const Tokenizer& t, const std::vector<std::int64_t>& prefix);
  ~StreamDecoder();
  StreamDecoder(const StreamDecoder&) = delete;
  StreamDecoder& operator=(const StreamDecoder&) = delete;
  std::string push(std::int64_t id);
  // What is still held back at the end of generation (an unfinished character: U+FFFD).
  std::string finish();

 private:
  const Tokenizer& t_;
  bool at_start_ = true;
  std::string pending_;  // bytes decoded but not yet returned (an unfinished character)
};

}  // namespace cci::infer
