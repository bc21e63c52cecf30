// The model's data-encryption key (DEK) as a file: what cci-measure encrypt --dek-out writes and
// cci-measure decrypt, cci-run serve --key-source file:// and cci-verify remote --provision-key read.
#pragma once

#include <functional>
#include <string>

#include "base/result.h"
#include "crypto/random.h"

namespace cci::sealed {

// A model key file (or "-": standard input): exactly 32 raw bytes, read once through one
// descriptor. A file others may read is named through `warn` (chmod 600); errors name `flag`.
Result<crypto::SecretBytes> read_key_file(const std::string& path, const std::string& flag, const std::function<void(const std::string&)>& warn);

}  // namespace cci::sealed
