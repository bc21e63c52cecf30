// Messages between cci-run serve's processes (accept loop, per-connection TLS processes,
// per-user workers) on Unix stream sockets: a frame is a 32-bit little-endian length and that
// many bytes; one file descriptor may travel with a frame (SCM_RIGHTS). Frames above the
// receiver's limit, short frames and stray descriptors are errors, never truncation.
#pragma once

#include <cstdint>
#include <utility>

#include "base/bytes.h"
#include "base/result.h"
#include "base/secure_alloc.h"
#include "base/unique_fd.h"
#include "serve/secure_json.h"

namespace cci::serve {

inline constexpr size_t kMaxFrameBytes = 16u << 20;

struct Frame {
  SecureString payload;
  UniqueFd fd;  // the descriptor that came with the frame, if any
};

// Sends one frame (and `pass_fd` with it when >= 0). Never raises SIGPIPE.
Status send_frame(int sock, std::string_view payload, int pass_fd = -1);
Status send_json(int sock, const SecureJson& message, int pass_fd = -1);

// Receives one frame of at most `max_bytes`. A peer that closed before a frame is an error whose
// field is "eof"; one that closed inside a frame is "truncated".
Result<Frame> recv_frame(int sock, size_t max_bytes = kMaxFrameBytes);
// A frame holding one JSON object.
struct JsonFrame {
  SecureJson message;
  UniqueFd fd;
};
Result<JsonFrame> recv_json(int sock, size_t max_bytes = kMaxFrameBytes);

// A connected pair of Unix stream sockets, both close-on-exec.
Result<std::pair<UniqueFd, UniqueFd>> socket_pair();

// An anonymous file holding `data`, sealed against every change (memfd, F_SEAL_WRITE, SHRINK,
// GROW, SEAL): children read the exact bytes the parent checked (pread), and nobody, the parent
// included, can alter them afterwards.
Result<UniqueFd> sealed_memfd(const char* name, ByteView data);

}  // namespace cci::serve
