// Fuzz target: the SentencePiece model reader, then encoding and decoding with whatever model
// it accepted.
#include <cstdint>

#include "infer/sentencepiece.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  auto t = cci::infer::parse_sentencepiece(cci::ByteView(data, size), "fuzz");
  if (!t) return 0;
  for (const char* s : {"In the beginning", "  x  y ", "\xF0\x9F\x99\x82 caf\xC3\xA9", "\xFF\xFE"}) {
    auto ids = (*t)->encode(s);
    if (ids) (void)(*t)->decode(*ids);
  }
  (void)(*t)->decode({-1, 0, 1, 2, 1 << 30});
  return 0;
}
