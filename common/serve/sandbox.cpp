#include "serve/sandbox.h"

#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>

// Sanitizer builds: LeakSanitizer's exit-time check stops the world with ptrace, which the
// allow-list forbids (and must keep forbidding), so a filtered process skips that check; the same
// code is leak-checked where it runs unfiltered (unit tests, the accept loop). UBSan's vptr check
// probes memory through a pipe (pipe2 + write): those builds also allow pipe2, which grants no
// access to anything.
#if defined(__SANITIZE_ADDRESS__)
#define CCI_LSAN_HOOK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CCI_LSAN_HOOK 1
#endif
#endif
#ifdef CCI_LSAN_HOOK
namespace {
bool g_filtered = false;
}
extern "C" int __lsan_is_turned_off() { return g_filtered ? 1 : 0; }
#endif

namespace cci::serve {

Status harden_process() {
  const rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) return make_error(ErrorCode::kInternal, std::string("setrlimit(RLIMIT_CORE): ") + std::strerror(errno), "sandbox");
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return make_error(ErrorCode::kInternal, std::string("PR_SET_DUMPABLE: ") + std::strerror(errno), "sandbox");
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return make_error(ErrorCode::kInternal, std::string("PR_SET_NO_NEW_PRIVS: ") + std::strerror(errno), "sandbox");
  return {};
}

namespace {

// Syscalls every sandboxed cci process may make after set-up.
constexpr const char* kCommon[] = {
    "read", "write", "readv", "writev", "pread64", "recvmsg", "sendmsg", "recvfrom", "sendto", "poll", "ppoll", "close",
    "shutdown", "fstat", "newfstatat", "lseek", "fcntl", "mmap", "munmap", "mremap", "mprotect", "madvise", "brk",
    "futex", "sched_yield", "getpid", "gettid", "getuid", "geteuid", "clock_gettime", "clock_nanosleep", "nanosleep",
    "gettimeofday", "getrandom", "rt_sigreturn", "rt_sigprocmask", "restart_syscall", "exit", "exit_group",
    "set_robust_list", "rseq", "membarrier", "sigaltstack",
};
// Worker extras: libtorch's OpenMP pool and allocator. Threads, not processes: clone only with
// CLONE_THREAD (see apply_syscall_allow_list), clone3 not at all.
// prlimit64 only on itself (see apply_syscall_allow_list).
constexpr const char* kWorker[] = {"sched_getaffinity", "sched_setaffinity", "getrusage"};
// Connection extras: the client deadline (alarm) and its signal handler.
// tgkill only on itself (see apply_syscall_allow_list).
constexpr const char* kConnection[] = {"alarm", "setitimer", "rt_sigaction"};

struct FilterDeleter {
  void operator()(void* f) const { seccomp_release(f); }
};

}  // namespace

Status apply_syscall_allow_list(SandboxProfile profile) {
  std::unique_ptr<void, FilterDeleter> filter(seccomp_init(SCMP_ACT_ERRNO(EPERM)));
  if (!filter) return make_error(ErrorCode::kInternal, "seccomp_init failed", "sandbox");
  // Every thread of the process, not only the caller (seccomp(2), SECCOMP_FILTER_FLAG_TSYNC): a
  // worker's compute threads start during warm-up, before the filter, and share its address space,
  // so one left unfiltered would be a way around it. The kernel also gives them no_new_privs.
  if (const int rc = seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_TSYNC, 1); rc != 0) {
    return make_error(ErrorCode::kInternal, std::string("seccomp TSYNC: ") + std::strerror(-rc), "sandbox");
  }
  // One rule for `name` (none where this architecture lacks the call), with at most one
  // comparison on its arguments.
  auto rule = [&](const char* name, std::uint32_t action, std::optional<scmp_arg_cmp> arg = std::nullopt) -> Status {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return {};
    if (const int rc = seccomp_rule_add_array(filter.get(), action, nr, arg ? 1 : 0, arg ? &*arg : nullptr); rc != 0) {
      return make_error(ErrorCode::kInternal, std::string("seccomp_rule_add(") + name + "): " + std::strerror(-rc), "sandbox");
    }
    return {};
  };
  auto allow = [&](const char* name) { return rule(name, SCMP_ACT_ALLOW); };
  for (const char* s : kCommon) CCI_TRY(allow(s));
#ifdef CCI_LSAN_HOOK
  CCI_TRY(allow("pipe2"));
  CCI_TRY(allow("pipe"));
#endif
  if (profile == SandboxProfile::kWorker) {
    for (const char* s : kWorker) CCI_TRY(allow(s));
    // A new thread, never a new process: clone(2) only when its flags (the first argument on
    // every architecture cci builds for) hold CLONE_THREAD. clone3(2) passes its flags in memory
    // a filter cannot read, so it answers ENOSYS, on which the C library (glibc 2.34+) falls back
    // to clone for pthread_create.
    CCI_TRY(rule("clone", SCMP_ACT_ALLOW, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)));
    CCI_TRY(rule("clone3", SCMP_ACT_ERRNO(ENOSYS)));
    // Its own resource limits only (pid 0): another process of the same user (the accept loop,
    // another user's worker) is otherwise within reach of prlimit(2).
    CCI_TRY(rule("prlimit64", SCMP_ACT_ALLOW, SCMP_A0(SCMP_CMP_EQ, 0)));
  } else {
    for (const char* s : kConnection) CCI_TRY(allow(s));
    // Signals to itself only (raise, abort: tgkill on its own thread group), never to another
    // process of the same user.
    CCI_TRY(rule("tgkill", SCMP_ACT_ALLOW, SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(::getpid()))));
  }
  if (const int rc = seccomp_load(filter.get()); rc != 0) return make_error(ErrorCode::kInternal, std::string("seccomp_load: ") + std::strerror(-rc), "sandbox");
#ifdef CCI_LSAN_HOOK
  g_filtered = true;
#endif
  return {};
}

}  // namespace cci::serve
