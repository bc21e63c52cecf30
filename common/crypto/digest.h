// Message digests and HMAC over OpenSSL 3 (EVP).
#pragma once

#include <optional>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/ossl.h"

namespace cci::crypto {

enum class DigestAlg { kSha256, kSha384, kSha512, kBlake2b512, kSm3 };

size_t digest_size(DigestAlg alg);
const char* digest_name(DigestAlg alg);  // "sha256", "sha384", "sha512", "blake2b", "sm3"
std::optional<DigestAlg> digest_from_name(std::string_view name);
// The fetched OpenSSL implementation (cached for the life of the process; never null).
const EVP_MD* evp_md(DigestAlg alg);

// Streaming hasher. Construction cannot fail for the algorithms above on a sane OpenSSL;
// an allocation failure throws std::bad_alloc.
class Hasher {
 public:
  explicit Hasher(DigestAlg alg);
  void update(ByteView data);
  Bytes finish();  // the hasher must not be used afterwards
  DigestAlg alg() const { return alg_; }

 private:
  DigestAlg alg_;
  UniquePtr<EVP_MD_CTX> ctx_;
};

Bytes digest(DigestAlg alg, ByteView data);

// Digests every `block_size`-byte block of `data` (whose size is a multiple of it) as
// H(prefix ‖ block ‖ suffix), writing digest i at out + i * stride. Used for hash trees
// (dm-verity: salt prefix in format 1, salt suffix in format 0); the prefix state is
// computed once and copied per block.
void digest_blocks(DigestAlg alg, ByteView prefix, ByteView suffix, ByteView data, size_t block_size,
                   std::uint8_t* out, size_t stride);

// HMAC(key, data) with the given digest (SHA-256/384/512, SM3).
Result<Bytes> hmac(DigestAlg alg, ByteView key, ByteView data);

}  // namespace cci::crypto
