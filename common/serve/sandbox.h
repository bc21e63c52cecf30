// Process hardening for cci-run serve's per-connection processes and per-user workers
// (docs/security.md, Goal 3):
//   harden_process(): PR_SET_DUMPABLE 0 (no core dumps, no same-UID ptrace or /proc/PID/mem),
//     RLIMIT_CORE 0, PR_SET_NO_NEW_PRIVS 1.
//   apply_syscall_allow_list(): a seccomp filter (libseccomp) on every thread of the process
//     (TSYNC: threads started during set-up too) that allows only what a process needs once it
//     is set up: I/O on the descriptors it holds, memory, threads (clone with CLONE_THREAD
//     only: a new process is refused), time, exit; its own resource limits and signals only.
//     Everything else fails with EPERM: no open, no socket, no exec, no ptrace, no fork.
#pragma once

#include "base/result.h"

namespace cci::serve {

Status harden_process();

enum class SandboxProfile {
  kWorker,      // inference: libtorch/OpenMP threads, futexes, the session sockets
  kConnection,  // TLS and HTTP on inherited sockets, alarm() for client deadlines
};
Status apply_syscall_allow_list(SandboxProfile profile);

}  // namespace cci::serve
