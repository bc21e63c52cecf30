#include "base/hex.h"

#include <array>

namespace cci {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string to_hex_u64(std::uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), kDigits[v & 0xf]);
    v >>= 4;
  } while (v != 0);
  return out;
}

std::string to_hex(ByteView data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (std::uint8_t b : data) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

Result<Bytes> from_hex(std::string_view text, std::string_view what,
                       std::optional<size_t> expected_len) {
  if (text.size() % 2 != 0) {
    return make_error(ErrorCode::kMalformed,
                      std::string(what) + ": hex string has odd length " + std::to_string(text.size()),
                      std::string(what));
  }
  Bytes out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = hex_value(text[i]);
    int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return make_error(ErrorCode::kMalformed,
                        std::string(what) + ": not a hex digit at position " + std::to_string(hi < 0 ? i : i + 1),
                        std::string(what));
    }
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  if (expected_len && out.size() != *expected_len) {
    return make_error(ErrorCode::kMalformed,
                      std::string(what) + ": expected " + std::to_string(*expected_len) + " bytes (" +
                          std::to_string(*expected_len * 2) + " hex digits), got " + std::to_string(out.size()),
                      std::string(what));
  }
  return out;
}

Result<Bytes> hex_arg(std::string_view text, std::string_view what, std::optional<size_t> expected_len) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  auto b = from_hex(text, what, expected_len);
  if (!b) return make_error(ErrorCode::kUsage, b.error().message, b.error().field);
  return b;
}

std::string base64_encode(ByteView data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    std::uint32_t v = std::uint32_t{data[i]} << 16 | std::uint32_t{data[i + 1]} << 8 | data[i + 2];
    out.push_back(kB64[v >> 18 & 63]);
    out.push_back(kB64[v >> 12 & 63]);
    out.push_back(kB64[v >> 6 & 63]);
    out.push_back(kB64[v & 63]);
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    std::uint32_t v = std::uint32_t{data[i]} << 16;
    out.push_back(kB64[v >> 18 & 63]);
    out.push_back(kB64[v >> 12 & 63]);
    out += "==";
  } else if (rest == 2) {
    std::uint32_t v = std::uint32_t{data[i]} << 16 | std::uint32_t{data[i + 1]} << 8;
    out.push_back(kB64[v >> 18 & 63]);
    out.push_back(kB64[v >> 12 & 63]);
    out.push_back(kB64[v >> 6 & 63]);
    out.push_back('=');
  }
  return out;
}

Result<Bytes> base64_decode(std::string_view text, std::string_view what) {
  auto fail = [&](const std::string& why) {
    return make_error(ErrorCode::kMalformed, std::string(what) + ": invalid base64 (" + why + ")",
                      std::string(what));
  };
  if (text.size() % 4 != 0) return fail("length " + std::to_string(text.size()) + " is not a multiple of 4");
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = (text.size() >= 2 && text[text.size() - 2] == '=') ? 2 : 1;
  Bytes out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    std::array<int, 4> v{};
    bool last = i + 4 == text.size();
    for (size_t k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (c == '=' && last && k >= 4 - pad) { v[k] = 0; continue; }
      v[k] = b64_value(c);
      if (v[k] < 0) return fail("unexpected character at position " + std::to_string(i + k));
    }
    std::uint32_t word = std::uint32_t(v[0]) << 18 | std::uint32_t(v[1]) << 12 | std::uint32_t(v[2]) << 6 | std::uint32_t(v[3]);
    out.push_back(static_cast<std::uint8_t>(word >> 16));
    if (!(last && pad == 2)) out.push_back(static_cast<std::uint8_t>(word >> 8));
    if (!(last && pad >= 1)) out.push_back(static_cast<std::uint8_t>(word));
    if (last && pad > 0) {
      // Canonical form: the bits dropped by padding must be zero.
      std::uint32_t dropped = pad == 2 ? (word & 0xffff) : (word & 0xff);
      if (dropped != 0) return fail("non-zero padding bits");
    }
  }
  return out;
}

}  // namespace cci
