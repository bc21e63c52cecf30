// Small text helpers shared by the parsers.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace cci {

// ASCII lower case (names of products, VMM types; never locale-dependent).
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace cci
