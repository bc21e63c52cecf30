// The cci encrypted model file, version 1 (docs/encrypted-model.md): a header that names the file,
// the key and the model it belongs to, then the plaintext in fixed-size chunks, each sealed with
// AES-256-GCM. Every chunk's AAD is SHA-256 of the whole header, and its nonce is the file's random
// 7-byte prefix ‖ the chunk index (big-endian u32) ‖ a final-chunk flag (the STREAM construction
// of Hoang, Reyhanitabar, Rogaway and Vizár, "Online Authenticated-Encryption and its Nonce-Reuse
// Misuse-Resistance", 2015, section 7): chunks cannot be reordered, dropped, truncated, extended
// or moved to another file without a tag failing. Pure parsing and arithmetic; no I/O here.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::sealed {

inline constexpr std::array<std::uint8_t, 8> kMagic = {'C', 'C', 'I', '-', 'E', 'N', 'C', '1'};
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::uint32_t kMinChunkSize = 4096, kMaxChunkSize = 64u << 20, kDefaultChunkSize = 1u << 20;
inline constexpr size_t kFixedHeaderBytes = 76;  // up to and including the two length fields
inline constexpr size_t kMaxNameBytes = 4096, kMaxKeyIdBytes = 1024;
inline constexpr size_t kMaxHeaderBytes = kFixedHeaderBytes + kMaxNameBytes + kMaxKeyIdBytes;
inline constexpr size_t kNoncePrefixBytes = 7, kTagBytes = 16, kModelDigestBytes = 32;
inline constexpr char kIndexName[] = "cci-encryption.json";  // the directory's index (not a model file)

struct Header {
  std::uint32_t chunk_size = kDefaultChunkSize;
  std::uint64_t plaintext_size = 0;
  std::array<std::uint8_t, kNoncePrefixBytes> nonce_prefix{};
  std::array<std::uint8_t, kModelDigestBytes> model_digest{};  // the plaintext model's root digest
  std::string name;    // the file's path in the model, '/'-separated
  std::string key_id;  // where the key comes from (a URI), e.g. kbs:///default/llama/dek

  size_t header_size() const { return kFixedHeaderBytes + name.size() + key_id.size(); }
  std::uint64_t chunks() const;       // ceil(plaintext_size / chunk_size), at least 1
  std::uint64_t sealed_size() const;  // header + plaintext + one tag per chunk
  // The byte range of chunk i: its plaintext offset and length, and its offset in the file.
  std::uint64_t plain_offset(std::uint64_t i) const { return i * chunk_size; }
  std::uint32_t plain_length(std::uint64_t i) const;
  std::uint64_t sealed_offset(std::uint64_t i) const { return header_size() + i * (std::uint64_t{chunk_size} + kTagBytes); }
};

// The header's bytes; the values must pass check_header (encode does not re-check).
Bytes encode_header(const Header& h);
// A header's values as the reader requires them; errors name the field.
Status check_header(const Header& h);
// Parses the header at the start of `data` (at least the header's bytes; more is ignored).
// kMalformed naming the field: wrong magic, an unknown version, a chunk size that is not a
// power of two in [4 KiB, 64 MiB], non-zero reserved bytes, a bad name or key id, too many chunks.
Result<Header> parse_header(ByteView data);

// AAD of every chunk: SHA-256 of the header's bytes.
Bytes chunk_aad(ByteView header_bytes);
// The 12-byte nonce of chunk `index`.
std::array<std::uint8_t, 12> chunk_nonce(const Header& h, std::uint64_t index);

// A model path as the format allows it: non-empty UTF-8, '/'-separated, relative, no empty,
// "." or ".." component, no NUL, and not the directory's index.
Status check_model_path(const std::string& name);

}  // namespace cci::sealed
