// Secure randomness, constant-time comparison and wiping of secrets.
#pragma once

#include "base/bytes.h"
#include "base/result.h"

namespace cci::crypto {

// `n` bytes from OpenSSL's CSPRNG.
Result<Bytes> random_bytes(size_t n);

// True iff a and b have the same length and content; the content comparison takes time
// independent of where they differ (lengths are treated as public).
bool ct_equal(ByteView a, ByteView b);

// Overwrites memory in a way the compiler may not elide.
void secure_clear(void* p, size_t n);

// A byte buffer that is wiped when destroyed: use for keys, MAC keys, passphrases.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(Bytes b) : b_(std::move(b)) {}
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& o) noexcept : b_(std::move(o.b_)) { o.b_.clear(); }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    wipe();
    b_ = std::move(o.b_);
    o.b_.clear();
    return *this;
  }
  ~SecretBytes() { wipe(); }
  ByteView view() const { return b_; }
  size_t size() const { return b_.size(); }
  bool empty() const { return b_.empty(); }

 private:
  void wipe() {
    if (!b_.empty()) secure_clear(b_.data(), b_.size());
    b_.clear();
  }
  Bytes b_;
};

}  // namespace cci::crypto
