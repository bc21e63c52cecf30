// JSON documents for user data (requests between cci-run serve's processes): every string,
// array and object lives in wiped memory (base/secure_alloc.h), so a prompt parsed into a
// SecureJson leaves no copy behind once the document is destroyed.
#pragma once

#include <nlohmann/json.hpp>

#include "base/secure_alloc.h"

namespace cci::serve {

using SecureJson = nlohmann::basic_json<std::map, std::vector, SecureString, bool, std::int64_t, std::uint64_t, double, WipingAllocator>;

}  // namespace cci::serve
