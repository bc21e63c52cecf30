#include "crypto/keys.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cstring>

namespace cci::crypto {
namespace {

KeyType classify(EVP_PKEY* k) {
  if (k == nullptr) return KeyType::kOther;
  if (EVP_PKEY_is_a(k, "SM2")) return KeyType::kSm2;
  if (EVP_PKEY_is_a(k, "ED25519")) return KeyType::kEd25519;
  if (EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "RSA-PSS")) return KeyType::kRsa;
  if (EVP_PKEY_is_a(k, "EC")) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1) {
      return KeyType::kOther;
    }
    std::string_view g(group, len);
    if (g == "prime256v1" || g == "P-256") return KeyType::kEcP256;
    if (g == "secp384r1" || g == "P-384") return KeyType::kEcP384;
    if (g == "secp521r1" || g == "P-521") return KeyType::kEcP521;
    if (g == "SM2") return KeyType::kSm2;
  }
  return KeyType::kOther;
}

Result<std::string> bio_to_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  if (n < 0) return ossl_error(ErrorCode::kInternal, "BIO read failed");
  return std::string(data, static_cast<size_t>(n));
}

// Passphrase callback state for PEM reads: records whether a passphrase was asked for.
struct PassState {
  const std::optional<std::string>* pass;
  bool asked = false;
};

int pass_cb(char* buf, int size, int /*rwflag*/, void* u) {
  auto* st = static_cast<PassState*>(u);
  st->asked = true;
  if (!st->pass->has_value()) return -1;
  const std::string& p = **st->pass;
  if (p.size() > static_cast<size_t>(size)) return -1;
  std::memcpy(buf, p.data(), p.size());
  return static_cast<int>(p.size());
}

// Creates a digest-sign/verify context carrying the SM2 ID when needed (OpenSSL 3 EVP_PKEY_CTX_set1_id; GB/T 32918.2 §5.5 Z_A).
struct SigCtx {
  UniquePtr<EVP_MD_CTX> md;
  UniquePtr<EVP_PKEY_CTX> pctx;  // owned here for SM2 (EVP_MD_CTX_set_pkey_ctx does not take ownership)
};

Result<SigCtx> make_sig_ctx(EVP_PKEY* key, KeyType type, const SignOptions& opts, bool signing) {
  SigCtx c;
  c.md.reset(EVP_MD_CTX_new());
  if (!c.md) return ossl_error(ErrorCode::kInternal, "EVP_MD_CTX_new");
  std::optional<DigestAlg> dg = opts.digest ? opts.digest : default_digest(type);
  const EVP_MD* md = dg ? evp_md(*dg) : nullptr;
  if (type == KeyType::kSm2) {
    if (opts.sm2_id.empty()) {
      return make_error(ErrorCode::kUsage, "SM2 signatures need an explicit distinguishing ID");
    }
    c.pctx.reset(EVP_PKEY_CTX_new(key, nullptr));
    if (!c.pctx ||
        EVP_PKEY_CTX_set1_id(c.pctx.get(), opts.sm2_id.data(), static_cast<int>(opts.sm2_id.size())) != 1) {
      return ossl_error(ErrorCode::kInternal, "cannot set the SM2 ID");
    }
    EVP_MD_CTX_set_pkey_ctx(c.md.get(), c.pctx.get());
  }
  int rc = signing ? EVP_DigestSignInit(c.md.get(), nullptr, md, nullptr, key)
                   : EVP_DigestVerifyInit(c.md.get(), nullptr, md, nullptr, key);
  if (rc != 1) return ossl_error(ErrorCode::kInternal, "signature context initialisation failed");
  return c;
}

}  // namespace

const char* key_type_name(KeyType t) {
  switch (t) {
    case KeyType::kEcP256: return "ecdsa-p256";
    case KeyType::kEcP384: return "ecdsa-p384";
    case KeyType::kEcP521: return "ecdsa-p521";
    case KeyType::kSm2: return "sm2";
    case KeyType::kEd25519: return "ed25519";
    case KeyType::kRsa: return "rsa";
    case KeyType::kOther: return "other";
  }
  return "other";
}

std::optional<KeyType> key_type_from_name(std::string_view name) {
  for (auto t : {KeyType::kEcP256, KeyType::kEcP384, KeyType::kEcP521, KeyType::kSm2, KeyType::kEd25519}) {
    if (name == key_type_name(t)) return t;
  }
  return std::nullopt;
}

std::optional<DigestAlg> default_digest(KeyType t) {
  switch (t) {
    case KeyType::kEcP256: return DigestAlg::kSha256;
    case KeyType::kEcP384: return DigestAlg::kSha384;
    case KeyType::kEcP521: return DigestAlg::kSha512;
    case KeyType::kSm2: return DigestAlg::kSm3;
    case KeyType::kRsa: return DigestAlg::kSha384;
    case KeyType::kEd25519:
    case KeyType::kOther: return std::nullopt;
  }
  return std::nullopt;
}

PublicKey::PublicKey(UniquePtr<EVP_PKEY> k) : key_(std::move(k)), type_(classify(key_.get())) {}

std::string PublicKey::pem() const {
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) return {};
  auto s = bio_to_string(bio.get());
  return s ? *s : std::string();
}

PublicKey PublicKey::clone() const {
  EVP_PKEY_up_ref(key_.get());
  return PublicKey(UniquePtr<EVP_PKEY>(key_.get()));
}

Bytes PublicKey::spki_der() const { return to_der(i2d_PUBKEY, key_.get()); }

PrivateKey::PrivateKey(UniquePtr<EVP_PKEY> k) : key_(std::move(k)), type_(classify(key_.get())) {}

PublicKey PrivateKey::public_key() const {
  // Round-trip through SPKI DER so the public key object never carries private material.
  Bytes der = to_der(i2d_PUBKEY, key_.get());
  const unsigned char* p = der.data();
  UniquePtr<EVP_PKEY> pub(der.empty() ? nullptr : d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  return PublicKey(std::move(pub));
}

Result<std::string> PrivateKey::pem(const std::optional<std::string>& passphrase) const {
  UniquePtr<BIO> bio(BIO_new(BIO_s_secmem()));
  if (!bio) return ossl_error(ErrorCode::kInternal, "BIO_new");
  const EVP_CIPHER* cipher = passphrase ? EVP_aes_256_cbc() : nullptr;
  const auto* kstr = passphrase ? reinterpret_cast<const unsigned char*>(passphrase->data()) : nullptr;
  int klen = passphrase ? static_cast<int>(passphrase->size()) : 0;
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key_.get(), cipher, reinterpret_cast<const char*>(kstr), klen,
                                    nullptr, nullptr) != 1) {
    return ossl_error(ErrorCode::kInternal, "cannot encode the private key as PKCS#8 PEM");
  }
  return bio_to_string(bio.get());
}

Result<PrivateKey> generate_key(KeyType type) {
  UniquePtr<EVP_PKEY> k;
  switch (type) {
    case KeyType::kEcP256: k.reset(EVP_EC_gen("P-256")); break;
    case KeyType::kEcP384: k.reset(EVP_EC_gen("P-384")); break;
    case KeyType::kEcP521: k.reset(EVP_EC_gen("P-521")); break;
    case KeyType::kSm2: {
      UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "SM2", nullptr));
      EVP_PKEY* raw = nullptr;
      if (ctx && EVP_PKEY_keygen_init(ctx.get()) == 1 && EVP_PKEY_generate(ctx.get(), &raw) == 1) k.reset(raw);
      break;
    }
    case KeyType::kEd25519: k.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")); break;
    default: return make_error(ErrorCode::kUsage, std::string("cannot generate keys of type ") + key_type_name(type));
  }
  if (!k) return ossl_error(ErrorCode::kInternal, std::string("key generation failed for ") + key_type_name(type));
  return PrivateKey(std::move(k));
}

Result<PrivateKey> load_private_key_pem(ByteView pem, const std::optional<std::string>& passphrase) {
  clear_ossl_errors();
  if (pem.empty()) return make_error(ErrorCode::kInvalidInput, "not a PEM private key (empty input)");
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return ossl_error(ErrorCode::kInternal, "BIO_new_mem_buf");
  PassState st{&passphrase};
  UniquePtr<EVP_PKEY> k(PEM_read_bio_PrivateKey(bio.get(), nullptr, pass_cb, &st));
  if (!k) {
    if (st.asked && !passphrase) {
      clear_ossl_errors();
      return make_error(ErrorCode::kInvalidInput,
                        "the private key is encrypted: give its passphrase with --key-pass-file or CCI_KEY_PASSWORD");
    }
    if (st.asked) {
      clear_ossl_errors();
      return make_error(ErrorCode::kInvalidInput, "cannot decrypt the private key: wrong passphrase?");
    }
    return ossl_error(ErrorCode::kInvalidInput, "not a PEM private key");
  }
  return PrivateKey(std::move(k));
}

Result<PublicKey> load_public_key_pem(ByteView pem) {
  clear_ossl_errors();
  if (pem.empty()) return make_error(ErrorCode::kInvalidInput, "not a PEM public key (empty input)");
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return ossl_error(ErrorCode::kInternal, "BIO_new_mem_buf");
  UniquePtr<EVP_PKEY> k(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!k) return ossl_error(ErrorCode::kInvalidInput, "not a PEM public key (SubjectPublicKeyInfo)");
  return PublicKey(std::move(k));
}

Result<PublicKey> load_public_key_der(ByteView der) {
  clear_ossl_errors();
  const unsigned char* p = der.data();
  UniquePtr<EVP_PKEY> k(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!k || p != der.data() + der.size()) return ossl_error(ErrorCode::kMalformed, "not a DER public key");
  return PublicKey(std::move(k));
}

Result<Bytes> sign(const PrivateKey& key, ByteView msg, const SignOptions& opts) {
  clear_ossl_errors();
  auto ctx = make_sig_ctx(key.get(), key.type(), opts, true);
  if (!ctx) return ctx.error();
  size_t len = 0;
  if (EVP_DigestSign(ctx->md.get(), nullptr, &len, msg.data(), msg.size()) != 1) {
    return ossl_error(ErrorCode::kInternal, "signing failed");
  }
  Bytes sig(len);
  if (EVP_DigestSign(ctx->md.get(), sig.data(), &len, msg.data(), msg.size()) != 1) {
    return ossl_error(ErrorCode::kInternal, "signing failed");
  }
  sig.resize(len);
  return sig;
}

Status verify(const PublicKey& key, ByteView msg, ByteView sig, const SignOptions& opts) {
  clear_ossl_errors();
  auto ctx = make_sig_ctx(key.get(), key.type(), opts, false);
  if (!ctx) return ctx.error();
  int rc = EVP_DigestVerify(ctx->md.get(), sig.data(), sig.size(), msg.data(), msg.size());
  clear_ossl_errors();
  if (rc != 1) return make_error(ErrorCode::kVerificationFailed, "signature does not verify");
  return {};
}

Result<Bytes> ecdsa_le_rs_to_der(ByteView r_le, ByteView s_le) {
  auto to_bn = [](ByteView le) {
    Bytes be(le.rbegin(), le.rend());
    return UniquePtr<BIGNUM>(BN_bin2bn(be.data(), static_cast<int>(be.size()), nullptr));
  };
  UniquePtr<BIGNUM> r = to_bn(r_le), s = to_bn(s_le);
  UniquePtr<ECDSA_SIG> sig(ECDSA_SIG_new());
  if (!r || !s || !sig) return ossl_error(ErrorCode::kInternal, "BIGNUM allocation");
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return ossl_error(ErrorCode::kInternal, "ECDSA_SIG_set0");
  (void)r.release();  // owned by sig now
  (void)s.release();
  Bytes out = to_der(i2d_ECDSA_SIG, sig.get());
  if (out.empty()) return ossl_error(ErrorCode::kInternal, "i2d_ECDSA_SIG");
  return out;
}

Result<std::pair<Bytes, Bytes>> ecdsa_der_to_le_rs(ByteView der, size_t width) {
  clear_ossl_errors();
  const unsigned char* p = der.data();
  UniquePtr<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig || p != der.data() + der.size()) return ossl_error(ErrorCode::kMalformed, "not a DER ECDSA signature");
  auto to_le = [width](const BIGNUM* bn) -> Result<Bytes> {
    Bytes be(width);
    if (BN_bn2binpad(bn, be.data(), static_cast<int>(width)) < 0) return make_error(ErrorCode::kMalformed, "signature value too large");
    return Bytes(be.rbegin(), be.rend());
  };
  auto r = to_le(ECDSA_SIG_get0_r(sig.get()));
  auto s = to_le(ECDSA_SIG_get0_s(sig.get()));
  if (!r) return r.error();
  if (!s) return s.error();
  return std::make_pair(std::move(*r), std::move(*s));
}

Status verify_rsa_pss(const PublicKey& key, DigestAlg digest, int salt_len, ByteView msg, ByteView sig) {
  clear_ossl_errors();
  if (key.type() != KeyType::kRsa) return make_error(ErrorCode::kVerificationFailed, "RSA-PSS needs an RSA key");
  UniquePtr<EVP_MD_CTX> md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by md
  if (!md || EVP_DigestVerifyInit(md.get(), &pctx, evp_md(digest), nullptr, key.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_len) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, evp_md(digest)) != 1) {
    return ossl_error(ErrorCode::kInternal, "RSA-PSS context");
  }
  int rc = EVP_DigestVerify(md.get(), sig.data(), sig.size(), msg.data(), msg.size());
  clear_ossl_errors();
  if (rc != 1) return make_error(ErrorCode::kVerificationFailed, "RSA-PSS signature does not verify");
  return {};
}

}  // namespace cci::crypto

namespace cci::crypto {

Result<PublicKey> ec_public_key_from_xy(KeyType curve, ByteView x_be, ByteView y_be) {
  clear_ossl_errors();
  const char* group = curve == KeyType::kSm2 ? "SM2" : curve == KeyType::kEcP256 ? "prime256v1" : nullptr;
  const char* type = curve == KeyType::kSm2 ? "SM2" : "EC";
  const std::string name = curve == KeyType::kSm2 ? "SM2" : "P-256";
  if (group == nullptr) return make_error(ErrorCode::kInternal, "ec_public_key_from_xy: P-256 or SM2 only");
  if (x_be.size() != 32 || y_be.size() != 32) return make_error(ErrorCode::kMalformed, name + " coordinates must be 32 bytes each");
  Bytes point{0x04};
  point.insert(point.end(), x_be.begin(), x_be.end());
  point.insert(point.end(), y_be.begin(), y_be.end());
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end(),
  };
  UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 || EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return ossl_error(ErrorCode::kMalformed, name + " public key: the point is not on the curve");
  }
  UniquePtr<EVP_PKEY> key(raw);
  UniquePtr<EVP_PKEY_CTX> check(EVP_PKEY_CTX_new(key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return ossl_error(ErrorCode::kMalformed, name + " public key: the point is not on the curve");
  }
  return PublicKey(std::move(key));
}

Result<PublicKey> sm2_public_key_from_xy(ByteView x_be, ByteView y_be) { return ec_public_key_from_xy(KeyType::kSm2, x_be, y_be); }

Result<SecretBytes> ec_private_scalar(const PrivateKey& key, size_t width) {
  clear_ossl_errors();
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1 || raw == nullptr) {
    return ossl_error(ErrorCode::kInvalidInput, "not an EC private key whose scalar can be read");
  }
  Bytes d(width);
  const int ok = BN_bn2binpad(raw, d.data(), static_cast<int>(width));
  BN_clear_free(raw);
  if (ok != static_cast<int>(width)) {
    secure_clear(d.data(), d.size());
    return make_error(ErrorCode::kInternal, "EC private scalar wider than " + std::to_string(width) + " bytes");
  }
  return SecretBytes(std::move(d));
}

Result<PrivateKey> p256_private_key(ByteView d_be, ByteView x_be, ByteView y_be) {
  clear_ossl_errors();
  if (d_be.size() != 32 || x_be.size() != 32 || y_be.size() != 32) return make_error(ErrorCode::kMalformed, "P-256 key values must be 32 bytes each");
  Bytes point{0x04};
  point.insert(point.end(), x_be.begin(), x_be.end());
  point.insert(point.end(), y_be.begin(), y_be.end());
  UniquePtr<BIGNUM> d(BN_bin2bn(d_be.data(), static_cast<int>(d_be.size()), nullptr));
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (!d || bld == nullptr || OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1) {
    OSSL_PARAM_BLD_free(bld);
    return ossl_error(ErrorCode::kInternal, "P-256 private key parameters");
  }
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  OSSL_PARAM_BLD_free(bld);
  UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  const bool made = params != nullptr && ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 && EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params) == 1;
  OSSL_PARAM_free(params);
  BN_clear(d.get());
  if (!made) return ossl_error(ErrorCode::kMalformed, "P-256 private key");
  UniquePtr<EVP_PKEY> key(raw);
  UniquePtr<EVP_PKEY_CTX> check(EVP_PKEY_CTX_new(key.get(), nullptr));
  if (!check || EVP_PKEY_pairwise_check(check.get()) != 1) return ossl_error(ErrorCode::kMalformed, "P-256 private key: d does not match (x, y)");
  return PrivateKey(std::move(key));
}

}  // namespace cci::crypto

namespace cci::crypto {

Result<std::pair<Bytes, Bytes>> ec_public_xy(const PublicKey& key, size_t width) {
  clear_ossl_errors();
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0, &len) != 1 || len != 1 + 2 * width) {
    return ossl_error(ErrorCode::kUsage, "not an uncompressed EC public key of the expected size");
  }
  Bytes pt(len);
  if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, pt.data(), pt.size(), &len) != 1 || pt[0] != 0x04) {
    return ossl_error(ErrorCode::kInternal, "EC public key export");
  }
  return std::make_pair(Bytes(pt.begin() + 1, pt.begin() + 1 + static_cast<std::ptrdiff_t>(width)),
                        Bytes(pt.begin() + 1 + static_cast<std::ptrdiff_t>(width), pt.end()));
}

}  // namespace cci::crypto
