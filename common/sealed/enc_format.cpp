#include "sealed/enc_format.h"

#include <algorithm>
#include <cstring>

#include "base/byte_reader.h"
#include "base/utf8.h"
#include "crypto/digest.h"

namespace cci::sealed {
namespace {

Error bad(const std::string& field, const std::string& why) {
  return make_error(ErrorCode::kMalformed, "encrypted model file: " + field + " " + why, field);
}

void put_le(Bytes& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace

std::uint64_t Header::chunks() const {
  if (chunk_size == 0) return 1;
  return std::max<std::uint64_t>(1, plaintext_size / chunk_size + (plaintext_size % chunk_size != 0 ? 1 : 0));
}

std::uint64_t Header::sealed_size() const { return header_size() + plaintext_size + chunks() * kTagBytes; }

std::uint32_t Header::plain_length(std::uint64_t i) const {
  const std::uint64_t off = plain_offset(i);
  if (off >= plaintext_size) return 0;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(chunk_size, plaintext_size - off));
}

Status check_model_path(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameBytes) return bad("name", "must be 1 to " + std::to_string(kMaxNameBytes) + " bytes");
  if (!is_valid_utf8(name) || name.find('\0') != std::string::npos) return bad("name", "is not valid UTF-8 without NUL");
  if (name.front() == '/') return bad("name", "must be relative");
  size_t start = 0;
  while (start <= name.size()) {
    const size_t slash = std::min(name.find('/', start), name.size());
    const std::string part = name.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") return bad("name", "'" + name + "' has an empty, '.' or '..' component");
    start = slash + 1;
  }
  if (name == kIndexName) return bad("name", std::string("may not be the index name ") + kIndexName);
  return {};
}

Status check_header(const Header& h) {
  if (h.chunk_size < kMinChunkSize || h.chunk_size > kMaxChunkSize || (h.chunk_size & (h.chunk_size - 1)) != 0) {
    return bad("chunk_size", std::to_string(h.chunk_size) + " is not a power of two from 4096 to 67108864");
  }
  if (h.chunks() > 0xffffffffu) return bad("plaintext_size", "needs more than 2^32 - 1 chunks");
  CCI_TRY(check_model_path(h.name));
  if (h.key_id.empty() || h.key_id.size() > kMaxKeyIdBytes) return bad("key_id", "must be 1 to " + std::to_string(kMaxKeyIdBytes) + " bytes");
  for (char c : h.key_id) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return bad("key_id", "must be printable ASCII without spaces (a URI)");
  }
  return {};
}

Bytes encode_header(const Header& h) {
  Bytes out(kMagic.begin(), kMagic.end());
  put_le(out, h.header_size(), 4);
  put_le(out, kFormatVersion, 4);
  put_le(out, h.chunk_size, 4);
  put_le(out, 0, 4);  // flags
  put_le(out, h.plaintext_size, 8);
  out.insert(out.end(), h.nonce_prefix.begin(), h.nonce_prefix.end());
  out.push_back(0);  // reserved
  out.insert(out.end(), h.model_digest.begin(), h.model_digest.end());
  put_le(out, h.name.size(), 2);
  put_le(out, h.key_id.size(), 2);
  out.insert(out.end(), h.name.begin(), h.name.end());
  out.insert(out.end(), h.key_id.begin(), h.key_id.end());
  return out;
}

Result<Header> parse_header(ByteView data) {
  ByteReader r(data, "encrypted model file header");
  CCI_ASSIGN(magic, r.bytes(0, 8, "magic"));
  if (!std::equal(magic.begin(), magic.end(), kMagic.begin())) return bad("magic", "is not CCI-ENC1 (not a cci encrypted model file)");
  CCI_ASSIGN(header_size, r.le32(8, "header_size"));
  CCI_ASSIGN(version, r.le32(12, "version"));
  if (version != kFormatVersion) return bad("version", std::to_string(version) + " is not supported (this build reads version 1)");
  Header h;
  CCI_SET(h.chunk_size, r.le32(16, "chunk_size"));
  CCI_ASSIGN(flags, r.le32(20, "flags"));
  if (flags != 0) return bad("flags", "must be zero in version 1");
  CCI_SET(h.plaintext_size, r.le64(24, "plaintext_size"));
  CCI_ASSIGN(prefix, r.bytes(32, kNoncePrefixBytes, "nonce_prefix"));
  std::copy(prefix.begin(), prefix.end(), h.nonce_prefix.begin());
  CCI_TRY(r.require_zero(39, 1, "reserved"));
  CCI_ASSIGN(digest, r.bytes(40, kModelDigestBytes, "model_digest"));
  std::copy(digest.begin(), digest.end(), h.model_digest.begin());
  CCI_ASSIGN(name_len, r.le16(72, "name_length"));
  CCI_ASSIGN(key_len, r.le16(74, "key_id_length"));
  if (header_size != kFixedHeaderBytes + name_len + key_len) return bad("header_size", std::to_string(header_size) + " does not match the name and key id lengths");
  CCI_ASSIGN(name, r.bytes(kFixedHeaderBytes, name_len, "name"));
  CCI_ASSIGN(key_id, r.bytes(kFixedHeaderBytes + name_len, key_len, "key_id"));
  h.name.assign(name.begin(), name.end());
  h.key_id.assign(key_id.begin(), key_id.end());
  CCI_TRY(check_header(h));
  return h;
}

Bytes chunk_aad(ByteView header_bytes) { return crypto::digest(crypto::DigestAlg::kSha256, header_bytes); }

std::array<std::uint8_t, 12> chunk_nonce(const Header& h, std::uint64_t index) {
  std::array<std::uint8_t, 12> n{};
  std::copy(h.nonce_prefix.begin(), h.nonce_prefix.end(), n.begin());
  n[7] = static_cast<std::uint8_t>(index >> 24);
  n[8] = static_cast<std::uint8_t>(index >> 16);
  n[9] = static_cast<std::uint8_t>(index >> 8);
  n[10] = static_cast<std::uint8_t>(index);
  n[11] = index + 1 == h.chunks() ? 1 : 0;
  return n;
}

}  // namespace cci::sealed
