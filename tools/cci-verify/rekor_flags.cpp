#include "rekor_flags.h"

#include "base/file_io.h"
#include "cli/inputs.h"
#include "cli/keyless.h"

namespace cci::tools::verify {

Result<sigstore::LoggedArtifact> check_rekor_entry(const std::string& entry, const std::string& trusted_root, const std::string& rekor_key, ByteView artifact,
                                                   const crypto::PublicKey* expected_signer) {
  if (rekor_key.empty() == trusted_root.empty()) {
    return make_error(ErrorCode::kUsage, "a Rekor entry is checked with the log's key: give --trusted-root FILE or --rekor-key PEM (one of them)");
  }
  CCI_ASSIGN(bytes, read_file(entry, sigstore::kMaxRekorEntryBytes));
  auto e = sigstore::parse_rekor_entry(bytes);
  if (!e) return Error::make(e.error().code, entry + ": " + e.error().message, e.error().field);
  Result<sigstore::LoggedArtifact> v = Error::make(ErrorCode::kInternal, "unset");
  if (!rekor_key.empty()) {
    CCI_ASSIGN(log_key, cli::load_public_key_file(rekor_key));
    v = sigstore::verify_rekor_entry(*e, log_key, "", artifact, expected_signer);
  } else {
    CCI_ASSIGN(root, cli::load_trusted_root(trusted_root));
    v = sigstore::verify_rekor_entry(*e, root, artifact, expected_signer);
  }
  if (!v) return Error::make(v.error().code, entry + ": " + v.error().message + " (" + v.error().field + ")", v.error().field);
  return v;
}

}  // namespace cci::tools::verify
