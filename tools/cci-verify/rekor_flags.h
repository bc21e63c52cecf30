// Loading a Rekor log entry and the log's key (a trusted root, or the key itself) from the files
// the user names, for the commands that check a file is in the log (blob, manifest).
#pragma once

#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keys.h"
#include "sigstore/rekor_entry.h"

namespace cci::tools::verify {

// Errors name the file. Exactly one of `trusted_root` and `rekor_key` must be given (a usage error
// otherwise). `expected_signer`: the key the logged signature must be by, when given.
Result<sigstore::LoggedArtifact> check_rekor_entry(const std::string& entry, const std::string& trusted_root, const std::string& rekor_key, ByteView artifact,
                                                   const crypto::PublicKey* expected_signer);

}  // namespace cci::tools::verify
