// Reading a file through a mapping: a file that shrinks while mapped raises SIGBUS on the next
// access to a page past its new end. run_catching_sigbus turns that into a `false` return on the
// reading thread instead of killing the process (the rest of the process is not affected).
#pragma once

#include <setjmp.h>

namespace cci {

// Installs the process-wide SIGBUS handler once (a SIGBUS outside run_catching_sigbus still
// kills the process, as the default action would).
void install_sigbus_handler();
// The calling thread's jump target for the handler (nullptr: none).
void set_sigbus_jump(sigjmp_buf* target);

// Runs fn() and returns true, or returns false as soon as fn() raised SIGBUS. fn is left by
// siglongjmp: nothing in the frames it runs may need a destructor (C functions, plain locals), and
// whatever it was writing must then be discarded.
template <class Fn>
bool run_catching_sigbus(Fn&& fn) {
  install_sigbus_handler();
  sigjmp_buf jump;
  if (sigsetjmp(jump, 0) != 0) {
    set_sigbus_jump(nullptr);
    return false;
  }
  set_sigbus_jump(&jump);
  fn();
  set_sigbus_jump(nullptr);
  return true;
}

}  // namespace cci
