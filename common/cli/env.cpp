#include "cli/env.h"

#include <cstdlib>

namespace cci::cli {

const std::vector<EnvVar>& env_registry() {
  static const std::vector<EnvVar> k{
      {"CCI_KEY_PASSWORD", "passphrase of an encrypted private key (instead of --key-pass-file)", true},
      {"CCI_PKCS11_MODULE", "PKCS#11 module for pkcs11: key URIs (default: the engine's, p11-kit-proxy)", false},
      {"CCI_PKCS11_PIN", "PIN for pkcs11: key URIs that carry no pin-value", true},
      {"CCI_THREADS", "default for -j/--threads", false},
      {"CCI_PROGRESS", "default for --progress: auto, always or never", false},
      {"CCI_KDS_URL", "AMD KDS base URL for cci-verify fetch/report (default https://kdsintf.amd.com)", false},
      {"CCI_HYGON_KDS_URL", "Hygon KDS base URL for cci-verify fetch/report (default https://cert.hygon.cn)", false},
      {"CCI_CACHE_DIR", "collateral cache (default $XDG_CACHE_HOME/cci, else ~/.cache/cci)", false},
      {"NO_COLOR", "disable colour (any non-empty value)", false},
      {"CLICOLOR_FORCE", "force colour even when not writing to a terminal", false},
  };
  return k;
}

std::optional<std::string> env_value(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

unsigned env_threads() {
  auto v = env_value("CCI_THREADS");
  if (!v) return 0;
  char* end = nullptr;
  unsigned long n = std::strtoul(v->c_str(), &end, 10);
  return (end != nullptr && *end == '\0' && n < 4096) ? static_cast<unsigned>(n) : 0;
}

std::string env_help(const std::vector<std::string>& names) {
  std::string out = "Environment:\n";
  for (const auto& v : env_registry()) {
    for (const auto& n : names) {
      if (n == v.name) out += "  " + std::string(v.name) + "  " + v.description + "\n";
    }
  }
  return out;
}

}  // namespace cci::cli
