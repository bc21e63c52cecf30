#include "serve/ipc.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace cci::serve {
namespace {

Error io_error(const std::string& what) { return make_error(ErrorCode::kIo, what + ": " + std::strerror(errno), "ipc"); }

// Writes all of `iov` (consumed as it goes); the first send carries `pass_fd`. One sendmsg for a
// whole frame when the socket takes it: the length and the payload sent apart woke the reader twice.
Status send_all(int sock, iovec* iov, size_t count, int pass_fd) {
  bool fd_sent = pass_fd < 0;
  while (count > 0) {
    if (iov->iov_len == 0) {
      ++iov;
      --count;
      continue;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (!fd_sent) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    }
    const ssize_t w = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return io_error("sending a frame");
    }
    fd_sent = true;
    auto left = static_cast<size_t>(w);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return {};
}

// Reads exactly n bytes; keeps the first descriptor that arrives in `fd`.
Status recv_all(int sock, char* data, size_t n, UniqueFd& fd, bool at_frame_start) {
  size_t got = 0;
  while (got < n) {
    iovec iov{data + got, n - got};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t r = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (r < 0) {
      if (errno == EINTR) continue;
      return io_error("receiving a frame");
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int received = -1;
        std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (!fd.valid()) fd.reset(received);
        else ::close(received);  // at most one descriptor per frame
      }
    }
    if (msg.msg_flags & MSG_CTRUNC) return make_error(ErrorCode::kMalformed, "a frame came with more descriptors than one", "ipc");
    if (r == 0) {
      if (at_frame_start && got == 0) return make_error(ErrorCode::kIo, "the peer closed the channel", "eof");
      return make_error(ErrorCode::kIo, "the peer closed the channel inside a frame", "truncated");
    }
    got += static_cast<size_t>(r);
  }
  return {};
}

}  // namespace

Status send_frame(int sock, std::string_view payload, int pass_fd) {
  if (payload.size() > kMaxFrameBytes) return make_error(ErrorCode::kInvalidInput, "a message of " + std::to_string(payload.size()) + " bytes is over the frame limit", "ipc");
  const auto n = static_cast<std::uint32_t>(payload.size());
  const unsigned char len[4] = {static_cast<unsigned char>(n), static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n >> 16),
                                static_cast<unsigned char>(n >> 24)};
  iovec iov[2] = {{const_cast<unsigned char*>(len), sizeof len}, {const_cast<char*>(payload.data()), payload.size()}};
  return send_all(sock, iov, 2, pass_fd);
}

Status send_json(int sock, const SecureJson& message, int pass_fd) {
  SecureString text = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto st = send_frame(sock, text, pass_fd);
  wipe(text);
  return st;
}

Result<Frame> recv_frame(int sock, size_t max_bytes) {
  Frame f;
  unsigned char len[4];
  if (auto st = recv_all(sock, reinterpret_cast<char*>(len), 4, f.fd, true); !st) return st.error();
  const size_t n = static_cast<size_t>(len[0]) | static_cast<size_t>(len[1]) << 8 | static_cast<size_t>(len[2]) << 16 | static_cast<size_t>(len[3]) << 24;
  if (n > max_bytes) return make_error(ErrorCode::kMalformed, "a frame of " + std::to_string(n) + " bytes is over the limit of " + std::to_string(max_bytes), "ipc");
  f.payload.resize(n);
  if (auto st = recv_all(sock, f.payload.data(), n, f.fd, false); !st) return st.error();
  return f;
}

Result<JsonFrame> recv_json(int sock, size_t max_bytes) {
  auto f = recv_frame(sock, max_bytes);
  if (!f) return f.error();
  JsonFrame j;
  j.message = SecureJson::parse(f->payload.begin(), f->payload.end(), nullptr, false);
  wipe(f->payload);
  if (!j.message.is_object()) return make_error(ErrorCode::kMalformed, "a frame is not a JSON object", "ipc");
  j.fd = std::move(f->fd);
  return j;
}

Result<std::pair<UniqueFd, UniqueFd>> socket_pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return io_error("socketpair");
  return std::make_pair(UniqueFd(sv[0]), UniqueFd(sv[1]));
}

Result<UniqueFd> sealed_memfd(const char* name, ByteView data) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return make_error(ErrorCode::kIo, std::string("memfd_create: ") + std::strerror(errno), "memfd");
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(ErrorCode::kIo, std::string("writing a memfd: ") + std::strerror(errno), "memfd");
    done += static_cast<size_t>(n);
  }
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    return make_error(ErrorCode::kIo, std::string("sealing a memfd: ") + std::strerror(errno), "memfd");
  }
  return fd;
}

}  // namespace cci::serve
