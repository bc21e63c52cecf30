// EFI GUIDs as they appear in firmware and tables: the first three fields little-endian
// ("bytes_le" / EFI_GUID layout), the last eight bytes in order.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace cci {

using Guid = std::array<std::uint8_t, 16>;

// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into EFI byte order. The argument is a
// compile-time constant of this project; a malformed one is a programming error.
constexpr Guid guid_le(std::string_view text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw "bad GUID digit";
  };
  std::array<std::uint8_t, 16> be{};
  size_t n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-') continue;
    if (n >= 32 || i + 1 >= text.size()) throw "bad GUID length";
    be[n / 2] = static_cast<std::uint8_t>(nibble(text[i]) * 16 + nibble(text[i + 1]));
    n += 2;
    ++i;
  }
  if (n != 32) throw "bad GUID length";
  Guid g = be;
  // time_low (4), time_mid (2), time_hi (2) are little-endian.
  g[0] = be[3]; g[1] = be[2]; g[2] = be[1]; g[3] = be[0];
  g[4] = be[5]; g[5] = be[4];
  g[6] = be[7]; g[7] = be[6];
  return g;
}

inline bool guid_equal(ByteView bytes, const Guid& g) {
  if (bytes.size() != g.size()) return false;
  for (size_t i = 0; i < g.size(); ++i) {
    if (bytes[i] != g[i]) return false;
  }
  return true;
}

// The canonical text form of an EFI-ordered GUID.
std::string guid_text(ByteView le16);

}  // namespace cci
