#include "crypto/digest.h"

#include <openssl/core_names.h>

#include <array>
#include <mutex>
#include <new>
#include <stdexcept>

namespace cci::crypto {
namespace {

const char* ossl_name(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::kSha256: return "SHA256";
    case DigestAlg::kSha384: return "SHA384";
    case DigestAlg::kSha512: return "SHA512";
    case DigestAlg::kBlake2b512: return "BLAKE2B-512";
    case DigestAlg::kSm3: return "SM3";
  }
  return "SHA256";
}

}  // namespace

size_t digest_size(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::kSha256: return 32;
    case DigestAlg::kSha384: return 48;
    case DigestAlg::kSha512: return 64;
    case DigestAlg::kBlake2b512: return 64;
    case DigestAlg::kSm3: return 32;
  }
  return 0;
}

const char* digest_name(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::kSha256: return "sha256";
    case DigestAlg::kSha384: return "sha384";
    case DigestAlg::kSha512: return "sha512";
    case DigestAlg::kBlake2b512: return "blake2b";
    case DigestAlg::kSm3: return "sm3";
  }
  return "?";
}

std::optional<DigestAlg> digest_from_name(std::string_view name) {
  for (auto alg : {DigestAlg::kSha256, DigestAlg::kSha384, DigestAlg::kSha512, DigestAlg::kBlake2b512,
                   DigestAlg::kSm3}) {
    if (name == digest_name(alg)) return alg;
  }
  return std::nullopt;
}

const EVP_MD* evp_md(DigestAlg alg) {
  static std::array<EVP_MD*, 5> cache{};
  static std::once_flag once;
  std::call_once(once, [] {
    for (int i = 0; i < 5; ++i) {
      cache[static_cast<size_t>(i)] = EVP_MD_fetch(nullptr, ossl_name(static_cast<DigestAlg>(i)), nullptr);
    }
  });
  const EVP_MD* md = cache[static_cast<size_t>(alg)];
  if (md == nullptr) throw std::runtime_error(std::string("OpenSSL lacks digest ") + ossl_name(alg));
  return md;
}

Hasher::Hasher(DigestAlg alg) : alg_(alg), ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex2(ctx_.get(), evp_md(alg), nullptr) != 1) throw std::bad_alloc();
}

void Hasher::update(ByteView data) {
  if (!data.empty() && EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) {
    throw std::runtime_error("EVP_DigestUpdate failed");
  }
}

Bytes Hasher::finish() {
  Bytes out(static_cast<size_t>(EVP_MD_get_size(evp_md(alg_))));
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), out.data(), &len) != 1) throw std::runtime_error("EVP_DigestFinal_ex failed");
  out.resize(len);
  return out;
}

Bytes digest(DigestAlg alg, ByteView data) {
  Hasher h(alg);
  h.update(data);
  return h.finish();
}

void digest_blocks(DigestAlg alg, ByteView prefix, ByteView suffix, ByteView data, size_t block_size,
                   std::uint8_t* out, size_t stride) {
  UniquePtr<EVP_MD_CTX> base(EVP_MD_CTX_new());
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (!base || !ctx || EVP_DigestInit_ex2(base.get(), evp_md(alg), nullptr) != 1) throw std::bad_alloc();
  if (!prefix.empty() && EVP_DigestUpdate(base.get(), prefix.data(), prefix.size()) != 1) {
    throw std::runtime_error("EVP_DigestUpdate failed");
  }
  for (size_t off = 0, i = 0; off + block_size <= data.size(); off += block_size, ++i) {
    unsigned int len = 0;
    if (EVP_MD_CTX_copy_ex(ctx.get(), base.get()) != 1 ||
        EVP_DigestUpdate(ctx.get(), data.data() + off, block_size) != 1 ||
        (!suffix.empty() && EVP_DigestUpdate(ctx.get(), suffix.data(), suffix.size()) != 1) ||
        EVP_DigestFinal_ex(ctx.get(), out + i * stride, &len) != 1) {
      throw std::runtime_error("block digest failed");
    }
  }
}

Result<Bytes> hmac(DigestAlg alg, ByteView key, ByteView data) {
  UniquePtr<EVP_MAC> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return ossl_error(ErrorCode::kInternal, "HMAC unavailable");
  UniquePtr<EVP_MAC_CTX> ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) return ossl_error(ErrorCode::kInternal, "HMAC context");
  std::string md = ossl_name(alg);
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, md.data(), 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1) {
    return ossl_error(ErrorCode::kInternal, "HMAC computation failed");
  }
  Bytes out(EVP_MAC_CTX_get_mac_size(ctx.get()));
  size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1) {
    return ossl_error(ErrorCode::kInternal, "HMAC finalisation failed");
  }
  out.resize(len);
  return out;
}

}  // namespace cci::crypto
