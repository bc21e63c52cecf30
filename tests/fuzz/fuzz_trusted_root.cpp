// Fuzz target: Sigstore trusted roots (common/sigstore/trusted_root), the file a user gives.
#include <cstdint>

#include "sigstore/trusted_root.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  auto t = cci::sigstore::parse_trusted_root(cci::ByteView(data, size));
  if (t) {
    for (const auto& l : t->tlogs) (void)cci::sigstore::find_log(t->ctlogs, l.log_id);
  }
  return 0;
}
