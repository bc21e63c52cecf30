#include "ratls/cbor_util.h"

#include <cstdlib>

namespace cci::ratls::cbor {

Result<Bytes> serialize(const cbor_item_t* item) {
  unsigned char* buf = nullptr;
  size_t cap = 0;
  const size_t n = cbor_serialize_alloc(item, &buf, &cap);
  if (n == 0) return make_error(ErrorCode::kInternal, "CBOR serialization failed");
  Bytes out(buf, buf + n);
  std::free(buf);
  return out;
}

Result<Item> load_strict(ByteView data, size_t max_bytes, const std::string& what) {
  if (data.empty() || data.size() > max_bytes) {
    return make_error(ErrorCode::kMalformed, what + " is empty or larger than " + std::to_string(max_bytes) + " bytes", what);
  }
  cbor_load_result res;
  Item item(cbor_load(data.data(), data.size(), &res));
  if (!item || res.error.code != CBOR_ERR_NONE) return make_error(ErrorCode::kMalformed, what + " is not valid CBOR", what);
  if (res.read != data.size()) return make_error(ErrorCode::kMalformed, what + " has " + std::to_string(data.size() - res.read) + " trailing bytes", what);
  return item;
}

}  // namespace cci::ratls::cbor
