// The registry of CCI_* environment variables: one place that --help footers and
// docs/environment.md are written from.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace cci::cli {

struct EnvVar {
  const char* name;
  const char* description;
  bool sensitive;  // never printed, never logged
};

const std::vector<EnvVar>& env_registry();
// Value of a registered variable, if set and non-empty.
std::optional<std::string> env_value(const char* name);
// CCI_THREADS as a thread count (0 = all CPUs when unset or not a number).
unsigned env_threads();
// "Environment:" paragraph for --help footers.
std::string env_help(const std::vector<std::string>& names);

}  // namespace cci::cli
