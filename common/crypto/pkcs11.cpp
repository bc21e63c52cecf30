// PKCS#11 private keys through OpenSSL's (deprecated but still shipped) ENGINE interface:
// Debian packages the pkcs11 engine (libengine-pkcs11-openssl) but no PKCS#11 provider.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/engine.h>

#include "crypto/keys.h"

namespace cci::crypto {
namespace {

struct EngineDeleter {
  void operator()(ENGINE* e) const {
    ENGINE_finish(e);
    ENGINE_free(e);
  }
};

}  // namespace

Result<PrivateKey> load_private_key_pkcs11(const std::string& uri, const std::string& module,
                                           const std::optional<std::string>& pin) {
  clear_ossl_errors();
  ENGINE_load_builtin_engines();
  ENGINE* raw = ENGINE_by_id("pkcs11");
  if (raw == nullptr) {
    return ossl_error(ErrorCode::kIo,
                      "the OpenSSL pkcs11 engine is not installed (Debian package libengine-pkcs11-openssl)");
  }
  // ENGINE_by_id returned a structural reference; ENGINE_init adds the functional one that
  // EngineDeleter releases with ENGINE_finish.
  if (!module.empty() && ENGINE_ctrl_cmd_string(raw, "MODULE_PATH", module.c_str(), 0) != 1) {
    ENGINE_free(raw);
    return ossl_error(ErrorCode::kIo, "cannot use PKCS#11 module " + module);
  }
  if (ENGINE_init(raw) != 1) {
    ENGINE_free(raw);
    return ossl_error(ErrorCode::kIo, "cannot initialise the pkcs11 engine");
  }
  std::unique_ptr<ENGINE, EngineDeleter> engine(raw);
  if (pin && ENGINE_ctrl_cmd_string(engine.get(), "PIN", pin->c_str(), 0) != 1) {
    return ossl_error(ErrorCode::kIo, "cannot pass the PKCS#11 PIN to the engine");
  }
  UniquePtr<EVP_PKEY> key(ENGINE_load_private_key(engine.get(), uri.c_str(), nullptr, nullptr));
  if (!key) return ossl_error(ErrorCode::kIo, "cannot load the private key " + uri + " from the token");
  // The key holds its own reference on the engine; ours is released by EngineDeleter.
  return PrivateKey(std::move(key));
}

}  // namespace cci::crypto
