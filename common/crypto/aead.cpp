#include "crypto/aead.h"

#include <openssl/evp.h>

#include <climits>
#include <cstring>

#include "crypto/ossl.h"

namespace cci::crypto {
namespace {

Status check_sizes(ByteView nonce, ByteView aad, size_t text) {
  if (nonce.size() != kAeadNonceBytes) return make_error(ErrorCode::kInternal, "AES-GCM nonce must be 12 bytes", "nonce");
  if (aad.size() > INT_MAX || text > INT_MAX) return make_error(ErrorCode::kInternal, "AES-GCM message too large for one call", "size");
  return {};
}

}  // namespace

Result<Aes256Gcm> Aes256Gcm::create(ByteView key) {
  if (key.size() != kAeadKeyBytes) return make_error(ErrorCode::kInvalidInput, "an AES-256 key is 32 bytes, not " + std::to_string(key.size()), "key");
  return Aes256Gcm(SecretBytes(Bytes(key.begin(), key.end())));
}

Status Aes256Gcm::seal(ByteView nonce, ByteView aad, ByteView plaintext, std::uint8_t* out) const {
  CCI_TRY(check_sizes(nonce, aad, plaintext.size()));
  UniquePtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.view().data(), nonce.data()) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), out, &len, plaintext.data(), static_cast<int>(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx.get(), out + plaintext.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAeadTagBytes), out + plaintext.size()) != 1) {
    return ossl_error(ErrorCode::kInternal, "AES-256-GCM encryption failed");
  }
  return {};
}

Aes256Gcm::Context::Context() : ctx_(EVP_CIPHER_CTX_new()) {}
Aes256Gcm::Context::~Context() { EVP_CIPHER_CTX_free(ctx_); }

Status Aes256Gcm::open(ByteView nonce, ByteView aad, ByteView sealed, std::uint8_t* out) const {
  Context c;
  return open(c, nonce, aad, sealed, out);
}

Status Aes256Gcm::open(Context& c, ByteView nonce, ByteView aad, ByteView sealed, std::uint8_t* out) const {
  if (sealed.size() < kAeadTagBytes) return make_error(ErrorCode::kVerificationFailed, "AES-GCM message shorter than its tag", "tag");
  const size_t n = sealed.size() - kAeadTagBytes;
  CCI_TRY(check_sizes(nonce, aad, n));
  // From here until `sealed` is read to its end: plain locals only (see the header). `sealed` is
  // read by the tag's copy and by EVP_DecryptUpdate alone, and neither holds a lock (the cipher's
  // fetch, which does, is in EVP_DecryptInit_ex and reads only the key and nonce); a context left
  // mid-update is only freed by its owner, which clears the key schedule.
  EVP_CIPHER_CTX* const ctx = c.ctx_;
  std::uint8_t tag[kAeadTagBytes];
  std::memcpy(tag, sealed.data() + n, kAeadTagBytes);
  int len = 0;
  if (ctx == nullptr || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key_.view().data(), nonce.data()) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (n > 0 && EVP_DecryptUpdate(ctx, out, &len, sealed.data(), static_cast<int>(n)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kAeadTagBytes), tag) != 1) {
    return ossl_error(ErrorCode::kInternal, "AES-256-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(ctx, out + n, &len) != 1) {
    clear_ossl_errors();
    if (n > 0) secure_clear(out, n);
    return make_error(ErrorCode::kVerificationFailed, "AES-GCM tag does not verify", "tag");
  }
  return {};
}

}  // namespace cci::crypto
