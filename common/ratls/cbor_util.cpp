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

namespace {

// libcbor allocates a definite array or map for the count its header declares before it reads
// one item (an 8-byte header can declare 2^32 items: gigabytes for a 9-byte input). So the
// header of every item is walked first (RFC 8949 section 3: major type, argument) and a count or
// length that the remaining bytes cannot hold is refused: an array item takes at least one byte,
// a map pair two. Indefinite lengths, tags and nesting are bounded the same way.
bool plausible(ByteView d, size_t& at, int depth) {
  if (depth > 16 || at >= d.size()) return false;
  const std::uint8_t ib = d[at++];
  const unsigned major = ib >> 5, info = ib & 0x1f;
  std::uint64_t arg = info;
  if (info >= 24 && info <= 27) {
    const size_t n = size_t{1} << (info - 24);
    if (d.size() - at < n) return false;
    arg = 0;
    for (size_t i = 0; i < n; ++i) arg = arg << 8 | d[at++];
  } else if (info >= 28 && info <= 30) {
    return false;  // reserved
  }
  const bool indefinite = info == 31;
  const size_t left = d.size() - at;
  switch (major) {
    case 0: case 1: return !indefinite;
    case 2: case 3:
      if (indefinite) {
        while (at < d.size() && d[at] != 0xff) {
          if (!plausible(d, at, depth + 1)) return false;
        }
        return at++ < d.size();
      }
      if (arg > left) return false;
      at += static_cast<size_t>(arg);
      return true;
    case 4: case 5: {
      if (indefinite) {
        while (at < d.size() && d[at] != 0xff) {
          if (!plausible(d, at, depth + 1)) return false;
        }
        return at++ < d.size();
      }
      const std::uint64_t items = major == 4 ? arg : arg * 2;
      if (arg > left || items > left) return false;
      for (std::uint64_t i = 0; i < items; ++i) {
        if (!plausible(d, at, depth + 1)) return false;
      }
      return true;
    }
    case 6: return !indefinite && plausible(d, at, depth + 1);
    default: return !indefinite;  // simple values and floats; a break outside an indefinite item is refused
  }
}

}  // namespace

Result<Item> load_strict(ByteView data, size_t max_bytes, const std::string& what) {
  if (data.empty() || data.size() > max_bytes) {
    return make_error(ErrorCode::kMalformed, what + " is empty or larger than " + std::to_string(max_bytes) + " bytes", what);
  }
  size_t at = 0;
  if (!plausible(data, at, 0)) return make_error(ErrorCode::kMalformed, what + " is not valid CBOR (a length or count exceeds the data)", what);
  cbor_load_result res;
  Item item(cbor_load(data.data(), data.size(), &res));
  if (!item || res.error.code != CBOR_ERR_NONE) return make_error(ErrorCode::kMalformed, what + " is not valid CBOR", what);
  if (res.read != data.size()) return make_error(ErrorCode::kMalformed, what + " has " + std::to_string(data.size() - res.read) + " trailing bytes", what);
  return item;
}

}  // namespace cci::ratls::cbor
