// A minimal DER element reader (ITU-T X.690 section 8.1 and 10.1) for the small vendor extensions
// cci reads by hand (Intel's PCK SGX extension, TCG DiceTcbInfo): single-byte tags, definite
// lengths in their shortest form (at most three length bytes: 16 MiB), each value inside the
// bytes it came from. X.509 itself is OpenSSL's.
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::der {

inline constexpr std::uint8_t kInteger = 0x02, kOctetString = 0x04, kOid = 0x06, kEnumerated = 0x0a, kSequence = 0x30;

struct Tlv {
  std::uint8_t tag = 0;
  ByteView value;
};

// Errors name the structure (`context`, e.g. "DiceTcbInfo") and the element (`what`):
// kMalformed "CONTEXT: WHAT is truncated", with `field`.
class Reader {
 public:
  Reader(std::string context, std::string field) : context_(std::move(context)), field_(std::move(field)) {}
  // One element from the front of `in`, which is advanced past it.
  Result<Tlv> next(ByteView& in, const std::string& what) const;
  // The same, with tag `tag`.
  Result<Tlv> expect(ByteView& in, std::uint8_t tag, const std::string& what) const;
  Error bad(const std::string& what, const std::string& why) const;

 private:
  std::string context_, field_;
};

}  // namespace cci::der
