#include "serve/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/unique_fd.h"

extern char** environ;

namespace cci::serve {

Result<pid_t> spawn_process(const std::string& exe, const std::vector<std::string>& args, const std::vector<ChildFd>& fds) {
  // Copies above every target number, so that dup2 onto the target always makes a new,
  // inheritable descriptor (dup2(fd, fd) would keep close-on-exec).
  std::vector<UniqueFd> copies;
  for (const auto& f : fds) {
    const int c = ::fcntl(f.source, F_DUPFD_CLOEXEC, 64);
    if (c < 0) return make_error(ErrorCode::kInternal, std::string("fcntl(F_DUPFD_CLOEXEC): ") + std::strerror(errno), "spawn");
    copies.emplace_back(c);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  for (size_t i = 0; i < fds.size(); ++i) posix_spawn_file_actions_adddup2(&actions, copies[i].get(), fds[i].target);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigfillset(&defaults);
  sigdelset(&defaults, SIGKILL);
  sigdelset(&defaults, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, exe.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return make_error(ErrorCode::kInternal, "cannot start " + exe + ": " + std::strerror(rc), "spawn");
  return pid;
}

std::string own_executable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

std::string own_executable_dir() { return std::filesystem::path(own_executable()).parent_path().string(); }

}  // namespace cci::serve
