// Client-side TCP for cci-verify remote and the benchmarks.
#pragma once

#include <string>

#include "base/result.h"

namespace cci::serve {

// A TCP connection to host:port (numeric or name; IPv4 or IPv6), close-on-exec, TCP_NODELAY.
Result<int> tcp_connect(const std::string& host, const std::string& port);

}  // namespace cci::serve
