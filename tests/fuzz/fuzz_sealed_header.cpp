// Fuzz target: the CCI-ENC1 header parser (common/sealed). What it accepts must encode back to
// the same bytes, and the chunk arithmetic must stay inside the file size it implies.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "sealed/enc_format.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  if (size > cci::sealed::kMaxHeaderBytes + 4096) return 0;
  auto h = cci::sealed::parse_header(cci::ByteView(data, size));
  if (!h) return 0;
  const cci::Bytes again = cci::sealed::encode_header(*h);
  if (again.size() != h->header_size() || again.size() > size || std::memcmp(again.data(), data, again.size()) != 0) std::abort();
  const std::uint64_t n = h->chunks();
  if (n == 0 || h->sealed_offset(n - 1) + h->plain_length(n - 1) + cci::sealed::kTagBytes != h->sealed_size()) std::abort();
  (void)cci::sealed::chunk_nonce(*h, n - 1);
  return 0;
}
