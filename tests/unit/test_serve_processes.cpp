// cci-run serve's process logic in-process (common/serve): the typed IPC messages (strict decoding
// naming the field), the admission of connections (unauthenticated ones evicted oldest first,
// users never), the fresh-evidence rate, the worker's session loop with a fake model, and a whole
// connection (TLS 1.3, HTTP/1.1 pipelining, the manifest route, a typed refusal) against a fake
// accept loop and worker on socket pairs.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <ctime>
#include <thread>

#include "crypto/tls.h"
#include "support/tls_identity.h"
#include "crypto/x509_issue.h"
#include "ratls/claims.h"
#include "serve/accept_loop.h"
#include "serve/connection.h"
#include "serve/http.h"
#include "serve/ipc.h"
#include "serve/messages.h"
#include "serve/worker.h"

using namespace cci;
using namespace cci::serve;

TEST_CASE("messages: every message round-trips, and a field of the wrong type is named, never thrown") {
  msg::ConnInit init;
  init.key_pem = std::string(3, 'K');  // (not = "...": GCC 12 -O3 reports a false -Wrestrict there)
  init.cert_pem = std::string(4, 'C');
  init.model = std::string(1, 'm');
  init.max_tokens = 7;
  auto init2 = msg::decode_conn_init(msg::encode(init));
  REQUIRE(init2);
  CHECK(init2->model == "m");
  CHECK(init2->max_tokens == 7);
  auto req = msg::decode_conn_request(msg::encode(msg::ConnRequest(msg::SessionRequest{"abcd", false})));
  REQUIRE(req);
  CHECK(std::get<msg::SessionRequest>(*req).want_worker == false);
  auto refusal = msg::decode_conn_answer(msg::encode(msg::ConnAnswer(msg::Refusal{401, "no"})));
  REQUIRE(refusal);
  CHECK(std::get<msg::Refusal>(*refusal).status == 401);
  msg::SessionEvent done;
  done.kind = msg::SessionEvent::Kind::kDone;
  done.finish_reason = "stop";
  done.completion_tokens = 3;
  auto done2 = msg::decode_session_event(msg::encode(done));
  REQUIRE(done2);
  CHECK(done2->completion_tokens == 3);
  auto status = msg::decode_worker_status(msg::encode(msg::WorkerStatus{msg::WorkerStatus::Kind::kStartFailed, "why"}));
  REQUIRE(status);
  CHECK(status->error == "why");
  const std::pair<SecureJson, std::string> bad[] = {
      {SecureJson{{"op", "session"}, {"key_sha256", 5}, {"worker", true}}, "key_sha256"},
      {SecureJson{{"op", "session"}, {"key_sha256", "ab"}, {"worker", "yes"}}, "worker"},
      {SecureJson{{"op", 3}}, "op"},
      {SecureJson{{"t", "delta"}, {"text", 1}}, "text"},
      {SecureJson{{"t", "error"}, {"status", 200}, {"message", "x"}, {"param", ""}}, "status"},
      {SecureJson{{"error", "x"}, {"status", "401"}}, "status"},
  };
  for (const auto& [j, field] : bad) {
    CAPTURE(j.dump());
    Result<int> r = make_error(ErrorCode::kInternal, "unset");
    if (j.contains("t")) r = status_of(msg::decode_session_event(j)).error();
    else if (j.contains("error")) r = status_of(msg::decode_conn_answer(j)).error();
    else r = status_of(msg::decode_conn_request(j)).error();
    REQUIRE_FALSE(r);
    CHECK(r.error().field == field);
  }
}

TEST_CASE("admission: unauthenticated connections make room oldest first, a peer's share is kept, users are never evicted") {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  std::vector<LiveConnection> live;
  for (int i = 0; i < 4; ++i) live.push_back({i, "10.0.0.1", false, t0 + std::chrono::seconds(i)});
  auto a = admit(live, "10.0.0.2", 4, 8);  // full: the oldest silent one goes
  REQUIRE(a);
  CHECK(*a == std::vector<int>{0});
  auto b = admit(live, "10.0.0.1", 8, 4);  // the peer's share is full: its oldest goes
  REQUIRE(b);
  CHECK(*b == std::vector<int>{0});
  for (auto& c : live) c.authenticated = true;
  CHECK_FALSE(admit(live, "10.0.0.2", 4, 8));  // only users: no room, nobody evicted
  CHECK(admit(live, "10.0.0.2", 5, 8)->empty());
}

TEST_CASE("rate limit: a burst of the rate, then one per 1/rate seconds") {
  const auto t0 = RateLimit::Clock::now();
  RateLimit r(2, t0);
  CHECK(r.take(t0));
  CHECK(r.take(t0));
  CHECK_FALSE(r.take(t0));
  CHECK(r.take(t0 + std::chrono::milliseconds(510)));
  CHECK_FALSE(r.take(t0 + std::chrono::milliseconds(520)));
}

namespace {

// A model that answers with fixed pieces, one of them an ill-formed byte repaired upstream.
class FakeGenerator final : public Generator {
 public:
  Result<GenerationStats> generate(const CompletionRequest& r, const std::function<bool(std::string_view)>& on_text) override {
    if (r.prompt == "fail") return make_error(ErrorCode::kInvalidInput, "the prompt is too long", "prompt");
    for (const char* piece : {" unto", " them"}) {
      if (!on_text(piece)) break;
    }
    return GenerationStats{3, 2, true, 0, 0};
  }
};

std::vector<msg::SessionEvent> events_until_end(int fd) {
  std::vector<msg::SessionEvent> out;
  while (true) {
    auto f = recv_json(fd);
    REQUIRE(f);
    auto e = msg::decode_session_event(f->message);
    REQUIRE(e);
    out.push_back(*e);
    if (e->kind != msg::SessionEvent::Kind::kDelta) return out;
  }
}

}  // namespace

TEST_CASE("worker loop: sessions from the control socket, deltas then done, refusals by status, exit on command") {
  ::signal(SIGPIPE, SIG_IGN);
  auto control = socket_pair();
  REQUIRE(control);
  FakeGenerator gen;
  WorkerLimits limits;
  limits.user = "alice";
  limits.max_sessions = 1;
  std::thread worker([&] { run_worker_loop(control->second.get(), gen, limits); });
  auto status = [&] {
    auto f = recv_json(control->first.get());
    REQUIRE(f);
    return msg::decode_worker_status(f->message)->kind;
  };
  CHECK(status() == msg::WorkerStatus::Kind::kReady);
  auto session = socket_pair();
  REQUIRE(session);
  REQUIRE(send_json(control->first.get(), msg::encode(msg::WorkerCommand(msg::SessionOffer{1})), session->second.get()));
  REQUIRE(send_frame(session->first.get(), "T{\"prompt\":\"And God said\",\"max_tokens\":4}"));
  auto ev = events_until_end(session->first.get());
  REQUIRE(ev.size() == 3);
  CHECK(std::string(ev[0].text.begin(), ev[0].text.end()) == " unto");
  CHECK(ev[2].kind == msg::SessionEvent::Kind::kDone);
  CHECK(ev[2].finish_reason == "stop");
  REQUIRE(send_frame(session->first.get(), "T{\"prompt\":\"fail\"}"));
  ev = events_until_end(session->first.get());
  CHECK(ev.back().kind == msg::SessionEvent::Kind::kError);
  CHECK(ev.back().status == 400);
  CHECK(ev.back().param == "prompt");
  // Over max_sessions: the second session's request is answered 429.
  auto second = socket_pair();
  REQUIRE(second);
  REQUIRE(send_json(control->first.get(), msg::encode(msg::WorkerCommand(msg::SessionOffer{2})), second->second.get()));
  REQUIRE(send_frame(second->first.get(), "T{\"prompt\":\"x\"}"));
  ev = events_until_end(second->first.get());
  CHECK(ev.back().status == 429);
  REQUIRE(send_frame(session->first.get(), "X not a request"));
  ev = events_until_end(session->first.get());
  CHECK(ev.back().status == 400);
  // The malformed frame ended that session: with none left, the worker says it is idle.
  bool idle = false;
  for (int i = 0; i < 4 && !idle; ++i) idle = status() == msg::WorkerStatus::Kind::kIdle;
  CHECK(idle);
  REQUIRE(send_json(control->first.get(), msg::encode(msg::WorkerCommand(msg::Exit{}))));
  worker.join();
}

namespace {

std::string read_all(crypto::TlsConnection& c) {
  std::string out;
  char buf[4096];
  while (true) {
    auto n = c.read_some(buf, sizeof(buf));
    if (!n || *n == 0) return out;
    out.append(buf, *n);
  }
}

}  // namespace

TEST_CASE("connection: pipelined requests in order, the manifest byte for byte, a typed refusal from the accept loop") {
  ::signal(SIGPIPE, SIG_IGN);
  const auto id = test::make_tls_identity();
  auto tcp = socket_pair();
  auto control = socket_pair();
  REQUIRE(tcp);
  REQUIRE(control);
  const std::string manifest_text = "{\"signed\":\"manifest\"}";
  auto manifest = sealed_memfd("test-manifest", as_bytes(manifest_text));
  REQUIRE(manifest);
  msg::ConnInit init;
  init.model = "m";
  init.request_timeout = 5;
  init.keepalive_timeout = 5;
  init.write_timeout = 5;
  const int server_fd = tcp->first.get();
  std::thread conn([&] {
    auto ctx = crypto::TlsContext::server(id.key, id.cert);
    REQUIRE(ctx);
    auto tls = crypto::TlsConnection::accept(*ctx, tcp->first.release());
    REQUIRE(tls);
    ratls::Claims claims;
    serve_connection(**tls, init, id.cert, claims, ConnectionIo{server_fd, control->second.get(), manifest->get(), 1});
  });
  // The fake accept loop: every key is refused with 403.
  std::thread accept([&] {
    auto f = recv_json(control->first.get());
    if (!f) return;
    (void)send_json(control->first.get(), msg::encode(msg::ConnAnswer(msg::Refusal{403, "this connection serves another user"})));
  });
  auto ctx = crypto::TlsContext::client();
  REQUIRE(ctx);
  auto client = crypto::TlsConnection::connect(*ctx, tcp->second.release(), "localhost");
  REQUIRE(client);
  const std::string pipelined =
      "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /v1/attestation/manifest HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer cci-00\r\n\r\n"
      "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  REQUIRE((*client)->write_all(pipelined.data(), pipelined.size()));
  const std::string answers = read_all(**client);
  conn.join();
  accept.join();
  size_t at = 0;
  std::vector<std::string> statuses;
  while ((at = answers.find("HTTP/1.1 ", at)) != std::string::npos) {
    statuses.push_back(answers.substr(at + 9, 3));
    at += 9;
  }
  CHECK(statuses == std::vector<std::string>{"200", "200", "403", "200"});
  CHECK(answers.find(manifest_text) != std::string::npos);
  CHECK(answers.find("this connection serves another user") != std::string::npos);
}
