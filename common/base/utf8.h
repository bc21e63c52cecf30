// UTF-8 as the Unicode Standard defines it (chapter 3, table 3-7 "Well-Formed UTF-8 Byte
// Sequences"): validation, and repair by "substitution of maximal subparts" (§3.9, U+FFFD for
// each maximal subpart of an ill-formed sequence), the practice the WHATWG Encoding standard
// and the reference inference servers follow. Model output is made of byte pieces and may be
// anything; what reaches JSON, a client or a log must be valid.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cci {

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

// One step of decoding at s[i]: `size` bytes form a well-formed character (kValid), a maximal
// ill-formed subpart (kInvalid), or a well-formed but unfinished prefix that reaches the end of
// `s` (kIncomplete: more bytes may complete it).
struct Utf8Step {
  enum Kind { kValid, kInvalid, kIncomplete } kind;
  size_t size;
};
Utf8Step utf8_step(std::string_view s, size_t i);

bool is_valid_utf8(std::string_view s);

// `s` with every maximal ill-formed subpart replaced by U+FFFD. With `keep_incomplete_tail`,
// an unfinished character at the very end is left out of the result and its size returned in
// `*held` (streaming: it may be completed by the next piece); otherwise it is replaced too.
std::string repair_utf8(std::string_view s, size_t* held = nullptr);

}  // namespace cci
