#include "serve/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/unique_fd.h"

namespace cci::serve {

namespace {

// The environment a child may see: locale, time zone, search path, the math libraries' tuning
// knobs and the sanitizers' options. Nothing else of ours (CCI_KEY_PASSWORD, cloud credentials,
// proxies) reaches a process that holds user data. The tuning knobs matter to the workers, which
// compute: an operator who sets OPENBLAS_CORETYPE or binds OpenMP's threads for the server means
// its workers (without them a worker's prefill ran on other BLAS kernels than the ones the
// server's environment named: 38 % faster on one VM, so not the engine the operator measured).
constexpr const char* kChildEnvironment[] = {
    "PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "NO_COLOR",
    // OpenMP (GNU libgomp, which libtorch's CPU operators and OpenBLAS run on here)
    "OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES", "OMP_WAIT_POLICY", "OMP_DYNAMIC", "GOMP_SPINCOUNT",
    // OpenBLAS: thread count and the kernel set of a build for several CPUs
    "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
    "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};

std::vector<std::string> child_environment() {
  std::vector<std::string> out;
  for (const char* name : kChildEnvironment) {
    if (const char* v = std::getenv(name)) out.push_back(std::string(name) + "=" + v);
  }
  return out;
}

}  // namespace

Result<pid_t> spawn_process(const std::string& exe, const std::vector<std::string>& args, const std::vector<ChildFd>& fds) {
  // Copies above every target number, so that dup2 onto the target always makes a new,
  // inheritable descriptor (dup2(fd, fd) would keep close-on-exec) and never lands on a copy
  // still to be placed.
  int above = 64;
  for (const auto& f : fds) above = std::max(above, f.target + 1);
  std::vector<UniqueFd> copies;
  for (const auto& f : fds) {
    const int c = ::fcntl(f.source, F_DUPFD_CLOEXEC, above);
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
  const std::vector<std::string> env = child_environment();
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const int rc = ::posix_spawn(&pid, exe.c_str(), &actions, &attr, argv.data(), envp.data());
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
