// Fuzz target: Hugging Face tokenizer.json parsing (byte-level BPE), then encoding and decoding
// with whatever tokenizer it accepted.
#include <cstdint>

#include "infer/bpe_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  auto t = cci::infer::parse_tokenizer_json(cci::ByteView(data, size), "fuzz");
  if (!t) return 0;
  for (const char* s : {"Hello world's 123", "  x\n\ny ", "\xF0\x9F\x99\x82 caf\xC3\xA9", "\xFF\xFE", "<|endoftext|>a"}) {
    auto ids = (*t)->encode(s);
    if (ids) (void)(*t)->decode(*ids);
  }
  (void)(*t)->decode({-1, 0, 1, 2, 1 << 30});
  return 0;
}
