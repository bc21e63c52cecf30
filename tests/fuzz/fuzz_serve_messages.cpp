// Fuzz target: the typed messages between cci-run serve's processes (serve/messages.h). The
// accept loop decodes what sandboxed connection and worker processes send it, and a connection
// process what a worker streams: each frame is input from a less trusted process. The input is
// parsed as one JSON frame and given to every decoder; whatever one accepts must encode to a
// frame the same decoder accepts again.
#include <cstdint>
#include <cstdlib>

#include "serve/messages.h"

namespace {

using cci::serve::SecureJson;
namespace msg = cci::serve::msg;

template <typename Decode>
void round_trip(const SecureJson& j, Decode decode) {
  auto m = decode(j);
  if (!m) return;
  if (!decode(msg::encode(*m))) std::abort();  // what was accepted, re-encoded, is accepted again
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  if (size > (1u << 16)) return 0;
  const SecureJson j = SecureJson::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  round_trip(j, msg::decode_conn_request);
  round_trip(j, msg::decode_conn_init);
  round_trip(j, msg::decode_conn_answer);
  round_trip(j, msg::decode_worker_init);
  round_trip(j, msg::decode_worker_command);
  round_trip(j, msg::decode_worker_status);
  round_trip(j, msg::decode_session_event);
  return 0;
}
