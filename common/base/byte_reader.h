// Bounds-checked little-endian access to binary structures by absolute offset.
//
// Contract: every read names the field it is reading; a read past the end returns a
// kMalformed error that names the field and the byte range ("field 'gpa' at 0x10..0x14
// is past the end of the 12-byte firmware"). Nothing here overlays packed structs, so
// alignment and endianness never depend on the host compiler.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci {

class ByteReader {
 public:
  // `what` names the whole structure in error messages ("OVMF firmware", "SNP report").
  ByteReader(ByteView data, std::string what) : data_(data), what_(std::move(what)) {}

  size_t size() const { return data_.size(); }
  ByteView data() const { return data_; }
  const std::string& what() const { return what_; }

  Result<ByteView> bytes(size_t off, size_t len, const char* field) const {
    if (off > data_.size() || len > data_.size() - off) return out_of_range(off, len, field);
    return data_.subspan(off, len);
  }
  Result<std::uint8_t> u8(size_t off, const char* field) const { return le<std::uint8_t>(off, field); }
  Result<std::uint16_t> le16(size_t off, const char* field) const { return le<std::uint16_t>(off, field); }
  Result<std::uint32_t> le32(size_t off, const char* field) const { return le<std::uint32_t>(off, field); }
  Result<std::uint64_t> le64(size_t off, const char* field) const { return le<std::uint64_t>(off, field); }

  // Succeeds when [off, off+len) lies inside the data and is all zero bytes.
  Status require_zero(size_t off, size_t len, const char* field) const {
    auto b = bytes(off, len, field);
    if (!b) return b.error();
    for (size_t i = 0; i < len; ++i) {
      if ((*b)[i] != 0) {
        return make_error(ErrorCode::kMalformed,
                          "reserved field '" + std::string(field) + "' " + range(off, len) + " of the " + what_ +
                              " must be zero (byte " + hex_offset(off + i) + " is not)",
                          field);
      }
    }
    return {};
  }

  static std::string hex_offset(size_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%zx", v);
    return buf;
  }
  static std::string range(size_t off, size_t len) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "[0x%zx, 0x%zx)", off, off + len);
    return buf;
  }

 private:
  template <class T>
  Result<T> le(size_t off, const char* field) const {
    auto b = bytes(off, sizeof(T), field);
    if (!b) return b.error();
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>(v | (static_cast<T>((*b)[i]) << (8 * i)));
    return v;
  }

  Error out_of_range(size_t off, size_t len, const char* field) const {
    // (appended piece by piece: GCC 12's -Wrestrict misjudges chains of operator+ at -O3)
    std::string msg = "field '";
    msg.append(field).append("' ").append(range(off, len)).append(" lies beyond the end of the ");
    msg.append(std::to_string(data_.size())).append("-byte ").append(what_);
    return make_error(ErrorCode::kMalformed, msg, field);
  }

  ByteView data_;
  std::string what_;
};

// Little-endian writers for building binary structures (VMSA pages, tables, reports).
inline void put_le(Bytes& out, size_t off, std::uint64_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) out.at(off + i) = static_cast<std::uint8_t>(v >> (8 * i));
}
inline void append_le(Bytes& out, std::uint64_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace cci
