// Strict hex and base64 codecs. Decoders reject anything that is not canonical input:
// wrong length, stray characters, missing padding. They never throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"

namespace cci {

std::string to_hex(ByteView data);  // lowercase
std::string to_hex_u64(std::uint64_t v);  // lowercase, no prefix, no leading zeros ("0" for 0)
// Decodes hex (either case). If expected_len is set, the decoded size must equal it.
// `what` names the input in the error message.
Result<Bytes> from_hex(std::string_view text, std::string_view what,
                       std::optional<size_t> expected_len = std::nullopt);

// A hex value typed by a user (a command-line flag): from_hex after an optional "0x"/"0X" prefix,
// and any error is a usage error (exit 2) naming `what`. File formats keep the strict from_hex.
Result<Bytes> hex_arg(std::string_view text, std::string_view what, std::optional<size_t> expected_len = std::nullopt);

std::string base64_encode(ByteView data);  // RFC 4648 standard alphabet, padded
Result<Bytes> base64_decode(std::string_view text, std::string_view what);

}  // namespace cci
