#include "base/utf8.h"

namespace cci {
namespace {

// The allowed range of the second byte for lead byte `c` (table 3-7); the later bytes are
// always 80..BF.
bool second_ok(unsigned char lead, unsigned char b) {
  switch (lead) {
    case 0xE0: return b >= 0xA0 && b <= 0xBF;
    case 0xED: return b >= 0x80 && b <= 0x9F;
    case 0xF0: return b >= 0x90 && b <= 0xBF;
    case 0xF4: return b >= 0x80 && b <= 0x8F;
    default: return b >= 0x80 && b <= 0xBF;
  }
}

size_t sequence_size(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;  // 80..C1, F5..FF never start a character
}

}  // namespace

Utf8Step utf8_step(std::string_view s, size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  const size_t need = sequence_size(lead);
  if (need == 0) return {Utf8Step::kInvalid, 1};
  if (need == 1) return {Utf8Step::kValid, 1};
  size_t k = 1;
  for (; k < need; ++k) {
    if (i + k >= s.size()) return {Utf8Step::kIncomplete, k};
    const auto b = static_cast<unsigned char>(s[i + k]);
    const bool ok = k == 1 ? second_ok(lead, b) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return {Utf8Step::kInvalid, k};
  }
  return {Utf8Step::kValid, need};
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto st = utf8_step(s, i);
    if (st.kind != Utf8Step::kValid) return false;
    i += st.size;
  }
  return true;
}

std::string repair_utf8(std::string_view s, size_t* held) {
  std::string out;
  out.reserve(s.size());
  if (held) *held = 0;
  for (size_t i = 0; i < s.size();) {
    const auto st = utf8_step(s, i);
    if (st.kind == Utf8Step::kValid) {
      out.append(s.substr(i, st.size));
    } else if (st.kind == Utf8Step::kIncomplete && held) {
      *held = st.size;
      break;
    } else {
      out.append(kReplacementCharacter);
    }
    i += st.size;
  }
  return out;
}

}  // namespace cci
