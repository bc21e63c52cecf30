#include "cli/inputs.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>

#include "base/file_io.h"
#include "base/text.h"
#include "cli/env.h"

namespace cci::cli {

Result<std::optional<std::string>> read_passphrase(const std::string& pass_file) {
  if (!pass_file.empty()) {
    auto data = read_file(pass_file, 4096);
    if (!data) return data.error();
    std::string p(as_chars(*data));
    crypto::secure_clear(data->data(), data->size());
    if (auto nl = p.find_first_of("\r\n"); nl != std::string::npos) p.resize(nl);
    return std::optional<std::string>(std::move(p));
  }
  return env_value("CCI_KEY_PASSWORD");
}

namespace {

// A secret typed on the terminal without echo; nullopt when there is no terminal to ask on
// (stdin or stderr redirected: a script, CI), so nothing ever waits on input nobody sees.
std::optional<std::string> ask_on_terminal(const std::string& prompt) {
  if (!::isatty(STDIN_FILENO) || !::isatty(STDERR_FILENO)) return std::nullopt;
  const int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  termios old{};
  if (::tcgetattr(fd, &old) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  ::tcsetattr(fd, TCSAFLUSH, &quiet);
  (void)!::write(fd, prompt.data(), prompt.size());
  std::string secret;
  char c = 0;
  while (secret.size() < 1024 && ::read(fd, &c, 1) == 1 && c != '\n' && c != '\r') secret.push_back(c);
  ::tcsetattr(fd, TCSAFLUSH, &old);
  (void)!::write(fd, "\n", 1);
  ::close(fd);
  c = 0;
  return secret;
}

}  // namespace

Result<crypto::PrivateKey> load_signing_key(const std::string& spec, const std::string& pass_file,
                                            const std::string& pkcs11_module) {
  if (spec.rfind("pkcs11:", 0) == 0) {
    std::string module = pkcs11_module.empty() ? env_value("CCI_PKCS11_MODULE").value_or("") : pkcs11_module;
    std::optional<std::string> pin = env_value("CCI_PKCS11_PIN");
    // RFC 7512 URIs may carry the PIN themselves (pin-value) or name a file with it (pin-source).
    const bool uri_has_pin = spec.find("pin-value=") != std::string::npos || spec.find("pin-source=") != std::string::npos;
    if (!pin && !uri_has_pin) {
      pin = ask_on_terminal("PIN for the PKCS#11 token (" + spec.substr(0, spec.find(';')) + "...): ");
      if (!pin) {
        return make_error(ErrorCode::kUsage,
                          "the PKCS#11 key needs the token's PIN: set CCI_PKCS11_PIN (kept out of shell history and ps), or run on a "
                          "terminal to be asked",
                          "key");
      }
    }
    auto key = crypto::load_private_key_pkcs11(spec, module, pin);
    if (pin) crypto::secure_clear(pin->data(), pin->size());
    return key;
  }
  auto pass = read_passphrase(pass_file);
  if (!pass) return pass.error();
  auto pem = read_file(spec, kMaxKeyFileBytes);
  if (!pem) return pem.error();
  auto key = crypto::load_private_key_pem(*pem, *pass);
  crypto::secure_clear(pem->data(), pem->size());
  if (pass->has_value()) crypto::secure_clear((*pass)->data(), (*pass)->size());
  if (!key) return make_error(key.error().code, spec + ": " + key.error().message, spec);
  return key;
}

Result<crypto::PublicKey> load_public_key_file(const std::string& path) {
  auto pem = read_file(path, kMaxKeyFileBytes);
  if (!pem) return pem.error();
  auto key = crypto::load_public_key_pem(*pem);
  if (!key) return make_error(ErrorCode::kInvalidInput, path + ": " + key.error().message, path);
  return key;
}

Result<std::vector<crypto::Certificate>> load_certificates(const std::vector<std::string>& paths) { return crypto::load_certificate_files(paths); }

Result<std::uint64_t> parse_uint(const std::string& text, const std::string& what, std::uint64_t max) {
  auto v = parse_uint_text(text, max);
  if (!v) {
    return make_error(ErrorCode::kUsage,
                      what + ": '" + text + "' is not an integer between 0 and " + std::to_string(max) +
                          " (decimal or 0x-prefixed hex)",
                      what);
  }
  return *v;
}

Result<std::time_t> parse_time(const std::string& text) {
  if (text == "now") return std::time(nullptr);
  std::string_view t(text);
  if (!t.empty() && t[0] == '@') t.remove_prefix(1);
  long long secs = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), secs);
  if (ec == std::errc() && p == t.data() + t.size()) return static_cast<std::time_t>(secs);
  struct tm tm {};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) == 6 &&
      static_cast<size_t>(consumed) == text.size()) {
  } else if (consumed = 0, std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &consumed) == 3 &&
                               static_cast<size_t>(consumed) == text.size()) {
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  } else {
    return make_error(ErrorCode::kUsage,
                      "cannot read time \"" + text + "\": use now, Unix seconds or RFC 3339 UTC like 2025-06-01T12:00:00Z");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return timegm(&tm);
}

std::string format_time(std::time_t t) { return rfc3339_utc(t); }

}  // namespace cci::cli
