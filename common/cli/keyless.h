// The flags that name a keyless (Sigstore) signer, shared by every command that checks a release
// signature: the expected identity (exact, or a regular expression the whole identity must
// match), the OIDC issuer, and the Sigstore trusted root (a file; nothing is fetched).
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "base/result.h"
#include "manifest/release.h"
#include "sigstore/bundle.h"
#include "sigstore/trusted_root.h"

namespace cci::cli {

struct KeylessFlags {
  std::string identity, identity_regexp, issuer, trusted_root;
  bool given() const { return !identity.empty() || !identity_regexp.empty() || !issuer.empty(); }
};

// --identity, --identity-regexp, --issuer, --trusted-root [env: CCI_SIGSTORE_TRUSTED_ROOT];
// with `prefix` "release-": --release-identity, --release-identity-regexp, --release-issuer (the
// signer of the release a server serves) and --trusted-root.
void add_keyless_flags(CLI::App* sub, KeylessFlags& f, const std::string& prefix = "");

struct Keyless {
  Bytes root_json;  // the trusted root's file, as read
  std::shared_ptr<const sigstore::TrustedRoot> root;
  sigstore::ExpectedSigner signer;
};

// A trusted root file read once and parsed (errors name the file); `bytes_out`, when given, gets
// the file's bytes.
Result<sigstore::TrustedRoot> load_trusted_root(const std::string& path, Bytes* bytes_out = nullptr);

// Usage errors name what is missing: an identity (one form only), the issuer, the trusted root.
Result<Keyless> load_keyless(const KeylessFlags& f, const std::string& prefix = "");

// The signer a served release must be by: --release-key PEM, or the keyless flags added with the
// prefix "release-" (exactly one of the two; a usage error names them otherwise).
Result<manifest::ReleaseSigner> load_release_signer(const std::string& release_key, const KeylessFlags& keyless);

}  // namespace cci::cli
