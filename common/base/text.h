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
#include <vector>

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

// RFC 3339 in UTC, "2025-06-19T10:16:03Z" or with a fraction "2022-12-31T23:59:59.999Z" (the
// fraction is dropped: whole seconds); nullopt for any other form.
inline std::optional<std::time_t> parse_rfc3339_utc(std::string_view s) {
  if (s.size() < 20 || s.back() != 'Z') return std::nullopt;
  const std::string_view whole = s.substr(0, 19);
  std::string_view frac = s.substr(19, s.size() - 20);
  if (!frac.empty()) {
    if (frac.size() < 2 || frac.size() > 10 || frac[0] != '.') return std::nullopt;
    for (char c : frac.substr(1)) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    }
  }
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  for (size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(whole[i])) : whole[i] != kShape[i]) return std::nullopt;
  }
  auto num = [&](size_t at, size_t n) {
    int v = 0;
    for (size_t i = 0; i < n; ++i) v = v * 10 + (whole[at + i] - '0');
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) return std::nullopt;
  return timegm(&tm);
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

// A version of dot-separated numbers, as vendors print them: "550.90.07" (base 10), the VBIOS's
// "96.00.9f.00.01" (base 16). min_parts..max_parts parts of 1 to 8 digits each, nothing else.
inline std::optional<std::vector<std::uint32_t>> parse_dotted_version(std::string_view t, int base, size_t min_parts, size_t max_parts) {
  std::vector<std::uint32_t> parts;
  size_t pos = 0;
  while (true) {
    const size_t dot = std::min(t.find('.', pos), t.size());
    const std::string_view part = t.substr(pos, dot - pos);
    std::uint32_t v = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v, base);
    if (part.empty() || part.size() > 8 || ec != std::errc() || end != part.data() + part.size() || parts.size() == max_parts) return std::nullopt;
    parts.push_back(v);
    if (dot == t.size()) break;
    pos = dot + 1;
  }
  if (parts.size() < min_parts) return std::nullopt;
  return parts;
}

// a < b, part by part; a missing part counts as 0 ("550.90" == "550.90.0").
inline bool version_less(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::uint32_t x = i < a.size() ? a[i] : 0, y = i < b.size() ? b[i] : 0;
    if (x != y) return x < y;
  }
  return false;
}

// Fixed-width dotted hex ("96.00.9f.00.01": `parts` parts of `width` digits each), lowercased;
// nullopt for anything else.
inline std::optional<std::string> fixed_dotted_hex(std::string_view t, size_t parts, size_t width) {
  if (parts == 0 || t.size() != parts * (width + 1) - 1) return std::nullopt;
  for (size_t i = 0; i < t.size(); ++i) {
    const bool dot = (i + 1) % (width + 1) == 0;
    if (dot ? t[i] != '.' : !std::isxdigit(static_cast<unsigned char>(t[i]))) return std::nullopt;
  }
  return ascii_lower(t);
}

}  // namespace cci
