#include "base/sigbus.h"

#include <csignal>
#include <mutex>

namespace cci {
namespace {

thread_local sigjmp_buf* t_jump = nullptr;

extern "C" void on_sigbus(int sig) {
  if (t_jump != nullptr) siglongjmp(*t_jump, 1);
  std::signal(sig, SIG_DFL);  // not ours: die as the default action would
  std::raise(sig);
}

}  // namespace

void install_sigbus_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = on_sigbus;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;  // siglongjmp(…, 0) leaves the mask as it is: SIGBUS must not stay blocked
    ::sigaction(SIGBUS, &sa, nullptr);
  });
}

void set_sigbus_jump(sigjmp_buf* target) { t_jump = target; }

}  // namespace cci
