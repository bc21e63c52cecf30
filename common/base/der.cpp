#include "base/der.h"

namespace cci::der {

Error Reader::bad(const std::string& what, const std::string& why) const {
  return Error::make(ErrorCode::kMalformed, context_ + ": " + what + " " + why, field_);
}

Result<Tlv> Reader::next(ByteView& in, const std::string& what) const {
  if (in.size() < 2) return bad(what, "is truncated");
  Tlv t;
  t.tag = in[0];
  if ((t.tag & 0x1f) == 0x1f) return bad(what, "has a multi-byte tag");
  size_t len = in[1], hdr = 2;
  if (len & 0x80) {
    const size_t n = len & 0x7f;
    if (n == 0 || n > 3 || in.size() < 2 + n) return bad(what, "has a length DER does not allow");
    len = 0;
    for (size_t i = 0; i < n; ++i) len = len << 8 | in[2 + i];
    if (in[2] == 0 || len < 0x80) return bad(what, "has a length that is not in its shortest form");
    hdr = 2 + n;
  }
  if (len > in.size() - hdr) return bad(what, "runs past its container");
  t.value = in.subspan(hdr, len);
  in = in.subspan(hdr + len);
  return t;
}

Result<Tlv> Reader::expect(ByteView& in, std::uint8_t tag, const std::string& what) const {
  CCI_ASSIGN(t, next(in, what));
  if (t.tag != tag) return bad(what, "has tag " + std::to_string(t.tag) + ", expected " + std::to_string(tag));
  return t;
}

}  // namespace cci::der
