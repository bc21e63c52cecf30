// Small text helpers shared by the parsers.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace cci {

// RFC 3339 in UTC with whole seconds, "2025-06-19T10:16:03Z": how cci prints times, and how
// Intel's PCS writes them.
inline std::string rfc3339_utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// ASCII lower case (names of products, VMM types; never locale-dependent).
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// An unsigned integer typed by a person: decimal, or hex, octal or binary after 0x, 0o, 0b (as
// CLI11 reads integer flags); the whole text, at most `max`.
inline std::optional<std::uint64_t> parse_uint_text(std::string_view t, std::uint64_t max) {
  int base = 10;
  if (t.size() > 2 && t[0] == '0') {
    const char p = static_cast<char>(t[1] | 0x20);
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 10;
    if (base != 10) t.remove_prefix(2);
  }
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v, base);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size() || v > max) return std::nullopt;
  return v;
}

}  // namespace cci
