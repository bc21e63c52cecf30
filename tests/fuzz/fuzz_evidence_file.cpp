// Fuzz target: the cci.evidence.v1 file (cci-run attest's output, cci-verify report's input):
// recognition, the typed parser, and writing back what it accepted.
#include <cstdint>

#include "evidence/evidence_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const cci::ByteView in(data, size);
  (void)cci::evidence::looks_like_evidence_file(in);
  auto e = cci::evidence::parse_evidence_file(in);
  if (e) (void)cci::evidence::write_evidence_file(*e);
  return 0;
}
