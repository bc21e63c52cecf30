#include "cli/keyless.h"

#include <cstdlib>
#include <regex>

#include "base/file_io.h"

namespace cci::cli {

void add_keyless_flags(CLI::App* sub, KeylessFlags& f, const std::string& prefix) {
  const std::string p = "--" + prefix;
  sub->add_option(p + "identity", f.identity, "Keyless (Sigstore) bundles: the signer's exact identity (certificate e-mail or URI)")->group("Keyless signatures");
  sub->add_option(p + "identity-regexp", f.identity_regexp, "Keyless: a regular expression (ECMAScript) the whole identity must match")->group("Keyless signatures");
  sub->add_option(p + "issuer", f.issuer, "Keyless: the exact OIDC issuer of the signer's identity")->group("Keyless signatures");
  sub->add_option("--trusted-root", f.trusted_root, "Keyless: Sigstore trusted_root.json (file) [env: CCI_SIGSTORE_TRUSTED_ROOT]")->group("Keyless signatures");
}

Result<sigstore::TrustedRoot> load_trusted_root(const std::string& path, Bytes* bytes_out) {
  CCI_ASSIGN(bytes, read_file(path, sigstore::kMaxTrustedRootBytes));
  auto root = sigstore::parse_trusted_root(bytes);
  if (!root) return Error::make(root.error().code, path + ": " + root.error().message, root.error().field);
  if (bytes_out) *bytes_out = std::move(bytes);
  return std::move(*root);
}

Result<Keyless> load_keyless(const KeylessFlags& f, const std::string& prefix) {
  const std::string p = "--" + prefix;
  if (!f.identity.empty() && !f.identity_regexp.empty()) return make_error(ErrorCode::kUsage, "give " + p + "identity or " + p + "identity-regexp, not both");
  if (f.identity.empty() && f.identity_regexp.empty()) {
    return make_error(ErrorCode::kUsage, "a keyless signature needs the signer: give " + p + "identity (or " + p + "identity-regexp)");
  }
  if (f.issuer.empty()) {
    return make_error(ErrorCode::kUsage, "a keyless signature needs the signer's OIDC issuer: give " + p + "issuer (e.g. https://token.actions.githubusercontent.com)");
  }
  if (!f.identity_regexp.empty()) {
    try {
      (void)std::regex(f.identity_regexp, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return make_error(ErrorCode::kUsage, p + "identity-regexp is not a regular expression: " + std::string(e.what()));
    }
  }
  std::string path = f.trusted_root;
  if (path.empty()) {
    const char* env = std::getenv("CCI_SIGSTORE_TRUSTED_ROOT");
    if (env) path = env;
  }
  if (path.empty()) {
    return make_error(ErrorCode::kUsage,
                      "a keyless signature is checked against a Sigstore trusted root: give --trusted-root FILE (trusted_root.json, e.g. from "
                      "the sigstore/root-signing repository's targets/, verified through TUF) or set CCI_SIGSTORE_TRUSTED_ROOT");
  }
  Keyless k;
  CCI_ASSIGN(root, load_trusted_root(path, &k.root_json));
  k.root = std::make_shared<const sigstore::TrustedRoot>(std::move(root));
  k.signer = {f.identity, f.identity_regexp, f.issuer};
  return k;
}

Result<manifest::ReleaseSigner> load_release_signer(const std::string& release_key, const KeylessFlags& keyless) {
  if (release_key.empty() == !keyless.given()) {
    return make_error(ErrorCode::kUsage,
                      "give the release's signer: --release-key PUB.pem, or for a keyless model bundle --release-identity ID --release-issuer URL "
                      "--trusted-root trusted_root.json (one of the two)",
                      "release-key");
  }
  manifest::ReleaseSigner s;
  if (!release_key.empty() && !keyless.trusted_root.empty()) {
    return make_error(ErrorCode::kUsage, "--trusted-root is for a keyless signer (--release-identity, --release-issuer), not with --release-key", "trusted-root");
  }
  if (!release_key.empty()) {
    CCI_ASSIGN(pem, read_file(release_key, 1u << 20));
    if (pem.empty()) return make_error(ErrorCode::kInvalidInput, release_key + ": empty", "release-key");
    s.key_pem = std::move(pem);
    return s;
  }
  CCI_ASSIGN(k, load_keyless(keyless, "release-"));
  s.trusted_root = std::move(k.root_json);
  s.identity = std::move(k.signer);
  return s;
}

}  // namespace cci::cli
