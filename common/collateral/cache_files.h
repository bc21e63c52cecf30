// Cache files and download refusals shared by the AMD and Hygon key-server clients (internal
// to cci_collateral).
#pragma once

#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::collateral::detail {

// nullopt when the file does not exist; an error when it exists but cannot be read.
Result<std::optional<Bytes>> read_if_present(const std::string& file, size_t max);
// Creates the parent directories, then writes atomically.
Status store(const std::string& file, ByteView data);
// "KDS answer for the WHAT refused: WHY" (kInvalidInput: exit 3, nothing cached).
Error bad_answer(const std::string& what, const std::string& why);

}  // namespace cci::collateral::detail
