// Fuzz target: what cci-run serve parses from clients and from its own processes: OpenAI
// request bodies (completions and chat), the API key file, and IPC frames (length-prefixed
// JSON on a Unix socket).
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string_view>

#include "serve/api_keys.h"
#include "serve/ipc.h"
#include "serve/openai_api.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  cci::serve::ApiLimits limits;
  (void)cci::serve::parse_completion_request(in, false, limits);
  (void)cci::serve::parse_completion_request(in, true, limits);
  (void)cci::serve::ApiKeys::parse(in, "fuzz");
  if (size <= 64 * 1024) {  // fits a socket buffer: written at once, then read back as frames
    auto pair = cci::serve::socket_pair();
    if (pair && ::write(pair->first.get(), data, size) == static_cast<ssize_t>(size)) {
      pair->first.reset();
      while (cci::serve::recv_json(pair->second.get(), 1u << 16)) {
      }
    }
  }
  return 0;
}
