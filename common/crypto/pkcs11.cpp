// PKCS#11 private keys through OpenSSL's (deprecated but still shipped) ENGINE interface:
// Debian packages the pkcs11 engine (libengine-pkcs11-openssl) but no PKCS#11 provider.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <fcntl.h>
#include <openssl/engine.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "crypto/keys.h"

namespace cci::crypto {
namespace {

// libp11 reports on stderr besides OpenSSL's error queue ("Login to token failed, returning
// NULL...", "PKCS11_get_private_key returned NULL"): the queue has the same reasons and the error
// below names them, so while the engine works its lines are kept off the user's terminal.
class QuietStderr {
 public:
  QuietStderr() {
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved_ >= 0 && null >= 0) ::dup2(null, STDERR_FILENO);
    if (null >= 0) ::close(null);
  }
  ~QuietStderr() {
    std::fflush(stderr);
    if (saved_ >= 0) {
      ::dup2(saved_, STDERR_FILENO);
      ::close(saved_);
    }
  }
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

 private:
  int saved_ = -1;
};

// The URI for messages: a pin-value (RFC 7512, section 2.3) is never printed.
std::string shown(const std::string& uri) {
  std::string out = uri;
  for (size_t at = out.find("pin-value="); at != std::string::npos; at = out.find("pin-value=", at + 1)) {
    const size_t from = at + 10;
    const size_t end = std::min(out.find_first_of(";?&", from), out.size());
    out.replace(from, end - from, "***");
  }
  return out;
}

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
  UniquePtr<EVP_PKEY> key;
  {
    QuietStderr quiet;
    key.reset(ENGINE_load_private_key(engine.get(), uri.c_str(), nullptr, nullptr));
  }
  if (!key) {
    const std::string where = shown(uri);
    Error e = ossl_error(ErrorCode::kIo, "cannot load the private key " + where + " from the token");
    if (e.message.find("PIN incorrect") != std::string::npos || e.message.find("PIN_INCORRECT") != std::string::npos) {
      return make_error(ErrorCode::kIo, "the token refused the PIN for " + where + " (CCI_PKCS11_PIN, the URI's pin-value, or what was typed)", "key");
    }
    if (e.message.find("object not found") != std::string::npos) {
      return make_error(ErrorCode::kIo, "no private key at " + where + " on the token (list them: pkcs11-tool --module MODULE --list-objects --login)", "key");
    }
    return e;
  }
  // The key holds its own reference on the engine; ours is released by EngineDeleter.
  return PrivateKey(std::move(key));
}

}  // namespace cci::crypto
