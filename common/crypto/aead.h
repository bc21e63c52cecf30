// AES-256-GCM (NIST SP 800-38D) with 96-bit nonces and 128-bit tags, one message per call: the
// primitive under cci's encrypted model files (common/sealed). The key is copied into a wiped
// buffer; every call builds its own cipher context, so one Aead serves many threads at once.
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/random.h"

struct evp_cipher_ctx_st;  // OpenSSL's EVP_CIPHER_CTX

namespace cci::crypto {

inline constexpr size_t kAeadKeyBytes = 32, kAeadNonceBytes = 12, kAeadTagBytes = 16;

class Aes256Gcm {
 public:
  static Result<Aes256Gcm> create(ByteView key);  // exactly 32 bytes
  // Writes plaintext.size() bytes of ciphertext then the 16-byte tag to `out`.
  Status seal(ByteView nonce, ByteView aad, ByteView plaintext, std::uint8_t* out) const;
  // `sealed` is ciphertext ‖ tag; writes sealed.size() - 16 bytes of plaintext to `out`. A tag
  // that does not verify is kVerificationFailed, and `out` must then be discarded (it is
  // zeroed here, but a caller's copies are its own).
  Status open(ByteView nonce, ByteView aad, ByteView sealed, std::uint8_t* out) const;

  // A cipher context for the open below, owned by the caller (one per thread or per call).
  class Context {
   public:
    Context();
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

   private:
    friend class Aes256Gcm;
    evp_cipher_ctx_st* ctx_;
  };
  // The same as open(nonce, …) in the caller's context, with nothing alive in this call that
  // needs a destructor while `sealed` is read: a caller may leave it by siglongjmp when reading
  // `sealed` raises SIGBUS (base/sigbus.h: a mapped file that shrank), and must then discard `out`.
  Status open(Context& c, ByteView nonce, ByteView aad, ByteView sealed, std::uint8_t* out) const;

 private:
  explicit Aes256Gcm(SecretBytes key) : key_(std::move(key)) {}
  SecretBytes key_;
};

}  // namespace cci::crypto
