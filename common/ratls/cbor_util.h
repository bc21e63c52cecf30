// libcbor behind RAII and strict loading (one definite item, no trailing bytes, bounded size).
// Internal to common/ratls.
#pragma once

#include <cbor.h>

#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::ratls::cbor {

struct ItemDeleter {
  void operator()(cbor_item_t* i) const { cbor_decref(&i); }
};
using Item = std::unique_ptr<cbor_item_t, ItemDeleter>;

inline Item bytes_item(ByteView b) { return Item(cbor_build_bytestring(b.data(), b.size())); }
inline Item text_item(const std::string& s) { return Item(cbor_build_stringn(s.data(), s.size())); }
inline std::string text_of(const cbor_item_t* i) { return std::string(reinterpret_cast<const char*>(cbor_string_handle(i)), cbor_string_length(i)); }
inline Bytes bytes_of(const cbor_item_t* i) { return Bytes(cbor_bytestring_handle(i), cbor_bytestring_handle(i) + cbor_bytestring_length(i)); }
inline bool is_bytes(const cbor_item_t* i) { return cbor_isa_bytestring(i) && cbor_bytestring_is_definite(i); }

Result<Bytes> serialize(const cbor_item_t* item);
// `what` names the structure in errors (kMalformed).
Result<Item> load_strict(ByteView data, size_t max_bytes, const std::string& what);

}  // namespace cci::ratls::cbor
