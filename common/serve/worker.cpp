#include "serve/worker.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>

#include "serve/ipc.h"
#include "serve/log.h"
#include "serve/messages.h"

namespace cci::serve {
namespace {

using msg::SessionEvent;
using Clock = std::chrono::steady_clock;

class Worker {
 public:
  Worker(int control_fd, Generator& g, const WorkerLimits& l) : control_(control_fd), gen_(g), o_(l) {}
  void run();

 private:
  void status(msg::WorkerStatus::Kind k) { (void)send_json(control_, msg::encode(msg::WorkerStatus{k, {}})); }
  void take_session(UniqueFd fd);
  bool serve_request(int session);  // false: the session is over
  void refuse_request(int session);
  Status generate_for(int session, const CompletionRequest& r);
  void send_error(int session, int status, const std::string& message, const std::string& param = {}) {
    SessionEvent e;
    e.kind = SessionEvent::Kind::kError;
    e.status = status;
    e.message = message;
    e.param = param;
    (void)send_json(session, msg::encode(e));
  }
  size_t max_frame() const { return o_.max_prompt_bytes * 8 + (1u << 20); }

  const int control_;
  Generator& gen_;
  const WorkerLimits& o_;
  struct Session {
    UniqueFd fd;
    bool refused = false;  // over max_sessions: its one request gets 429, then it closes
  };
  std::vector<Session> sessions_;
  bool exit_ = false;
};

void Worker::take_session(UniqueFd fd) {
  if (!fd.valid()) return;
  // A connection that stops reading (its client stalled) cannot hold this worker up: a send
  // that waits longer than the write deadline fails and ends that session only.
  timeval tv{static_cast<time_t>(o_.write_timeout), 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const auto active = std::count_if(sessions_.begin(), sessions_.end(), [](const Session& s) { return !s.refused; });
  const bool refused = active >= o_.max_sessions;
  if (refused) log_event("worker", "session_refused", {{"user", o_.user}, {"reason", "max-user-connections"}});
  sessions_.push_back({std::move(fd), refused});
}

Status Worker::generate_for(int session, const CompletionRequest& r) {
  bool peer_gone = false;
  SessionEvent pending;  // text not yet sent
  std::optional<Clock::time_point> last_sent;
  const auto interval = std::chrono::duration<double>(o_.output_interval);
  auto flush = [&] {
    if (pending.text.empty() || peer_gone) return;
    if (!send_json(session, msg::encode(pending))) peer_gone = true;
    wipe(pending.text);
    pending.text.clear();
    last_sent = Clock::now();
  };
  auto stats = gen_.generate(r, [&](std::string_view text) {
    pending.text.append(text.data(), text.size());
    if (!last_sent || Clock::now() - *last_sent >= interval) flush();
    return !peer_gone;
  });
  flush();
  if (!stats) return stats.error();
  if (peer_gone) return {};
  SessionEvent done;
  done.kind = SessionEvent::Kind::kDone;
  done.finish_reason = stats->stopped ? "stop" : "length";
  done.prompt_tokens = stats->prompt_tokens;
  done.completion_tokens = stats->completion_tokens;
  (void)send_json(session, msg::encode(done));
  log_event("worker", "completion", {{"user", o_.user}, {"prompt_tokens", stats->prompt_tokens}, {"completion_tokens", stats->completion_tokens},
                                     {"prefill_seconds", stats->prefill_seconds}, {"decode_seconds", stats->decode_seconds},
                                     {"output_seconds", stats->output_seconds}});
  return {};
}

// The connection asked over the limit: read its request (unseen), answer 429.
void Worker::refuse_request(int session) {
  auto frame = recv_frame(session, max_frame());
  if (!frame) return;
  wipe(frame->payload);
  send_error(session, 429, "this user already has " + std::to_string(o_.max_sessions) + " connections at work; retry later", "max-user-connections");
}

bool Worker::serve_request(int session) {
  auto frame = recv_frame(session, max_frame());
  if (!frame) return false;
  if (frame->payload.empty() || (frame->payload[0] != 'T' && frame->payload[0] != 'C')) {
    send_error(session, 400, "malformed request frame");
    return false;
  }
  ApiLimits limits;
  limits.max_tokens = o_.max_tokens;
  limits.max_prompt_bytes = o_.max_prompt_bytes;
  const bool chat = frame->payload[0] == 'C';
  auto req = parse_completion_request(std::string_view(frame->payload).substr(1), chat, limits);
  wipe(frame->payload);
  if (!req) {
    send_error(session, 400, req.error().message, req.error().field);
    return true;
  }
  if (auto st = generate_for(session, *req); !st) {
    send_error(session, st.error().code == ErrorCode::kInvalidInput ? 400 : 500, st.error().message, st.error().field);
  }
  wipe(req->prompt);
  return true;
}

void Worker::run() {
  status(msg::WorkerStatus::Kind::kReady);
  bool idle_reported = false;
  while (!exit_) {
    std::vector<pollfd> fds{{control_, POLLIN, 0}};
    for (auto& s : sessions_) fds.push_back({s.fd.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      auto f = recv_json(control_, 4096);
      if (!f) break;  // the accept loop is gone
      auto cmd = msg::decode_worker_command(f->message);
      if (!cmd) {
        log_event("worker", "bad_command", {{"user", o_.user}, {"error", cmd.error().field}});
      } else if (std::holds_alternative<msg::Exit>(*cmd)) {
        exit_ = true;
      } else {
        take_session(std::move(f->fd));
      }
    }
    std::vector<int> closed;
    for (size_t i = 1; i < fds.size() && !exit_; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (idle_reported) {
        status(msg::WorkerStatus::Kind::kBusy);
        idle_reported = false;
      }
      const bool refused = sessions_[i - 1].refused;
      bool keep = false;
      try {
        if (refused) refuse_request(fds[i].fd);
        else keep = serve_request(fds[i].fd);
      } catch (const std::exception&) {
        // Nothing here may carry model output or a prompt into a log: the class of error only.
        log_event("worker", "request_failed", {{"user", o_.user}, {"error", "exception"}});
        send_error(fds[i].fd, 500, "internal error in the inference worker");
      }
      if (!keep) closed.push_back(fds[i].fd);
    }
    for (int fd : closed) {
      std::erase_if(sessions_, [fd](const Session& s) { return s.fd.get() == fd; });
    }
    if (sessions_.empty() && !idle_reported) {
      status(msg::WorkerStatus::Kind::kIdle);
      idle_reported = true;
    }
  }
  sessions_.clear();
  log_event("worker", "exit", {{"user", o_.user}});
}

}  // namespace

void run_worker_loop(int control_fd, Generator& generator, const WorkerLimits& limits) {
  Worker w(control_fd, generator, limits);
  w.run();
}

}  // namespace cci::serve
