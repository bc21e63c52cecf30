// Starting cci-run serve's helper processes by exec (posix_spawn), never by a bare fork: the
// per-user workers load libtorch/OpenMP, which must not be forked, and every child starts from a
// fresh image that holds nothing of its parent's memory. The child gets stdin and stdout on
// /dev/null, the parent's stderr (structured logs), the descriptors in `fds` at the numbers
// given, default signal dispositions, an empty signal mask and an allow-listed environment
// (locale, PATH, thread counts, sanitizer options); nothing else is inherited (every other
// descriptor of ours is close-on-exec, every other variable is dropped).
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace cci::serve {

struct ChildFd {
  int source;  // a descriptor of ours
  int target;  // its number in the child (3, 4, ...)
};

Result<pid_t> spawn_process(const std::string& exe, const std::vector<std::string>& args, const std::vector<ChildFd>& fds);

// The directory of this process's executable (helpers live beside it).
std::string own_executable_dir();
std::string own_executable();

}  // namespace cci::serve
