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
#include <functional>
#include <thread>

#include "crypto/tls.h"
#include "support/tls_identity.h"
#include "crypto/x509_issue.h"
#include "ratls/claims.h"
#include "base/hex.h"
#include "serve/accept_loop.h"
#include "serve/api_keys.h"
#include "serve/connection.h"
#include "serve/http.h"
#include "serve/ipc.h"
#include "serve/messages.h"
#include "serve/metrics.h"
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
  msg::RequestDone d{"/v1/completions", 200, 0.5, 0.25, 7, 9};
  auto d2 = msg::decode_conn_request(msg::encode(msg::ConnRequest(d)));
  REQUIRE(d2);
  CHECK(std::get<msg::RequestDone>(*d2).completion_tokens == 9);
  CHECK(std::get<msg::RequestDone>(*d2).first_token_seconds == 0.25);
  auto m2 = msg::decode_conn_answer(msg::encode(msg::ConnAnswer(msg::MetricsAnswer{"cci_x 1\n"})));
  REQUIRE(m2);
  CHECK(std::get<msg::MetricsAnswer>(*m2).text == "cci_x 1\n");
  // Fresh evidence, with and without the GPUs' evidence.
  auto e1 = msg::decode_conn_answer(msg::encode(msg::ConnAnswer(msg::EvidenceAnswer{"AAEC", ""})));
  REQUIRE(e1);
  CHECK(std::get<msg::EvidenceAnswer>(*e1).gpu_b64.empty());
  auto e2 = msg::decode_conn_answer(msg::encode(msg::ConnAnswer(msg::EvidenceAnswer{"AAEC", "W10="})));
  REQUIRE(e2);
  CHECK(std::get<msg::EvidenceAnswer>(*e2).evidence_b64 == "AAEC");
  CHECK(std::get<msg::EvidenceAnswer>(*e2).gpu_b64 == "W10=");
  CHECK_FALSE(msg::decode_conn_answer(SecureJson{{"evidence", "AAEC"}, {"gpu_evidence", 7}}));
  init.metrics_open = true;
  CHECK(msg::decode_conn_init(msg::encode(init))->metrics_open);
  const std::pair<SecureJson, std::string> bad[] = {
      {SecureJson{{"op", "done"}, {"route", "/health"}, {"status", 99}, {"seconds", 0.1}, {"first_token_seconds", -1},
                  {"prompt_tokens", 0}, {"completion_tokens", 0}}, "status"},
      {SecureJson{{"op", "done"}, {"route", "/health"}, {"status", 200}, {"seconds", "0.1"}, {"first_token_seconds", -1},
                  {"prompt_tokens", 0}, {"completion_tokens", 0}}, "seconds"},
      {SecureJson{{"op", "session"}, {"key_sha256", 5}, {"worker", true}}, "key_sha256"},
      {SecureJson{{"op", "session"}, {"key_sha256", "ab"}, {"worker", "yes"}}, "worker"},
      {SecureJson{{"op", 3}}, "op"},
      {SecureJson{{"t", "delta"}, {"text", 1}}, "text"},
      {SecureJson{{"t", "error"}, {"status", 200}, {"message", "x"}, {"param", ""}}, "status"},
      {SecureJson{{"error", "x"}, {"status", "401"}}, "status"},
  };
  for (const auto& [j, field] : bad) {
    const auto shown = j.dump();  // CAPTURE cannot take a structured binding under clang 14 (the fuzz preset)
    CAPTURE(shown);
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

namespace {

struct ConnRun {
  std::vector<std::string> statuses;  // of every answer, in order
  std::string answers;
};

// One connection (TLS 1.3, HTTP/1.1) run in-process over socket pairs: `requests` are written at
// once (pipelined), and every control frame the connection sends goes to `fake_loop(control_fd,
// request)`, the test's accept loop, until the connection ends.
ConnRun run_connection(bool metrics_open, const std::string& manifest_text, const std::string& requests,
                       const std::function<void(int, const msg::ConnRequest&)>& fake_loop) {
  ::signal(SIGPIPE, SIG_IGN);
  ConnRun out;
  const auto id = test::make_tls_identity();
  auto tcp = socket_pair();
  auto control = socket_pair();
  REQUIRE(tcp);
  REQUIRE(control);
  auto manifest = sealed_memfd("test-manifest", as_bytes(manifest_text));
  REQUIRE(manifest);
  msg::ConnInit init;
  init.model = "m";
  init.request_timeout = 5;
  init.keepalive_timeout = 5;
  init.write_timeout = 5;
  init.metrics_open = metrics_open;
  const int server_fd = tcp->first.get();
  std::thread conn([&] {
    auto ctx = crypto::TlsContext::server(id.key, id.cert);
    REQUIRE(ctx);
    auto tls = crypto::TlsConnection::accept(*ctx, tcp->first.release());
    REQUIRE(tls);
    ratls::Claims claims;
    serve_connection(**tls, init, id.cert, claims, ConnectionIo{server_fd, control->second.get(), manifest->get(), 1});
  });
  std::thread accept([&] {
    while (auto f = recv_json(control->first.get())) {
      auto r = msg::decode_conn_request(f->message);
      REQUIRE(r);
      fake_loop(control->first.get(), *r);
    }
  });
  auto ctx = crypto::TlsContext::client();
  REQUIRE(ctx);
  auto client = crypto::TlsConnection::connect(*ctx, tcp->second.release(), "localhost");
  REQUIRE(client);
  REQUIRE((*client)->write_all(requests.data(), requests.size()));
  out.answers = read_all(**client);
  conn.join();
  ::shutdown(control->second.get(), SHUT_RDWR);  // the connection is done: end the fake loop
  accept.join();
  size_t at = 0;
  while ((at = out.answers.find("HTTP/1.1 ", at)) != std::string::npos) {
    out.statuses.push_back(out.answers.substr(at + 9, 3));
    at += 9;
  }
  return out;
}

}  // namespace

TEST_CASE("connection: pipelined requests in order, the manifest byte for byte, a typed refusal from the accept loop") {
  // The fake accept loop: every key is refused with 403; request reports are counted, not answered.
  int reports = 0;
  const std::string manifest_text = "{\"signed\":\"manifest\"}";
  const auto run = run_connection(false, manifest_text,
                                  "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "GET /v1/attestation/manifest HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer cci-00\r\n\r\n"
                                  "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                  [&reports](int fd, const msg::ConnRequest& r) {
                                    if (std::holds_alternative<msg::RequestDone>(r)) {
                                      ++reports;
                                      return;
                                    }
                                    (void)send_json(fd, msg::encode(msg::ConnAnswer(msg::Refusal{403, "this connection serves another user"})));
                                  });
  CHECK(run.statuses == std::vector<std::string>{"200", "200", "403", "200"});
  CHECK(reports == 4);
  CHECK(run.answers.find(manifest_text) != std::string::npos);
  CHECK(run.answers.find("this connection serves another user") != std::string::npos);
}

namespace {

struct MetricsRun {
  std::vector<std::string> statuses;
  std::string answers;
  std::vector<msg::RequestDone> reports;
};

// A fake accept loop that knows one key ("cci-good"), answers /metrics with a fixed text and
// records the request reports.
MetricsRun run_metrics_requests(bool metrics_open, const std::string& requests) {
  MetricsRun out;
  const std::string good_hash = to_hex(hash_api_key("cci-good"));
  const auto run = run_connection(metrics_open, "{}", requests, [&](int fd, const msg::ConnRequest& r) {
    if (const auto* d = std::get_if<msg::RequestDone>(&r)) {
      out.reports.push_back(*d);
    } else if (std::holds_alternative<msg::MetricsRequest>(r)) {
      (void)send_json(fd, msg::encode(msg::ConnAnswer(msg::MetricsAnswer{"cci_test_metric 42\n"})));
    } else if (const auto* sr = std::get_if<msg::SessionRequest>(&r)) {
      const bool known = std::string(sr->key_sha256_hex.begin(), sr->key_sha256_hex.end()) == good_hash;
      (void)send_json(fd, known ? msg::encode(msg::ConnAnswer(msg::SessionGranted{"u"})) : msg::encode(msg::ConnAnswer(msg::Refusal{401, "invalid API key"})));
    }
  });
  out.statuses = run.statuses;
  out.answers = run.answers;
  return out;
}

}  // namespace

TEST_CASE("connection: GET /metrics needs an API key unless the server listens on loopback, and each request is reported without content") {
  const std::string requests =
      "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer cci-bad\r\n\r\n"
      "GET /no/such/path?secret=1 HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
      "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer cci-good\r\nConnection: close\r\n\r\n";
  auto closed = run_metrics_requests(false, requests);
  CHECK(closed.statuses == std::vector<std::string>{"401", "401", "404", "405", "200"});
  CHECK(closed.answers.find("cci_test_metric 42") != std::string::npos);
  CHECK(closed.answers.find("text/plain; version=0.0.4") != std::string::npos);
  REQUIRE(closed.reports.size() == 5);
  CHECK(closed.reports[0].route == "/metrics");
  CHECK(closed.reports[0].status == 401);
  CHECK(closed.reports[2].route == "other");  // never the client's path
  CHECK(closed.reports[2].status == 404);
  CHECK(closed.reports[4].status == 200);
  for (const auto& r : closed.reports) CHECK(r.seconds >= 0);

  auto open = run_metrics_requests(true, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(open.statuses == std::vector<std::string>{"200"});
  CHECK(open.answers.find("cci_test_metric 42") != std::string::npos);
}

TEST_CASE("metrics are open without a key only on a loopback listener") {
  CHECK(is_loopback_listen("127.0.0.1:8443"));
  CHECK(is_loopback_listen("127.10.0.1:0"));
  CHECK(is_loopback_listen("[::1]:8443"));
  CHECK_FALSE(is_loopback_listen("0.0.0.0:8443"));
  CHECK_FALSE(is_loopback_listen("[::]:8443"));
  CHECK_FALSE(is_loopback_listen("10.0.0.5:8443"));
  CHECK_FALSE(is_loopback_listen("[::ffff:127.0.0.1]:8443"));  // mapped: treated as not loopback
  CHECK_FALSE(is_loopback_listen("localhost:8443"));           // not numeric: refused anyway
}

TEST_CASE("metrics: the text exposition format, cumulative histograms, counts and latencies only") {
  Metrics m("1.2.3 (git \"x\")");
  m.request({"/v1/completions", 200, 0.3, 0.02, 5, 7});
  m.request({"/v1/completions", 200, 3, 0.2, 1, 2});
  m.request({"/v1/completions", 400, 0.001, -1, 0, 0});
  m.request({"/health", 200, 200, -1, 0, 0});  // beyond the last bound: only in +Inf
  m.request({"/x\"} 1\ninjected 1", 200, 0.1, -1, 0, 0});  // a route that is not ours becomes "other"
  m.connection_opened();
  m.auth_failed();
  const std::string t = m.render({3, 2, 1, 1700000000, "", false});
  auto has = [&](const std::string& line) {
    CAPTURE(line);
    CHECK(t.find(line + "\n") != std::string::npos);
  };
  has("cci_build_info{version=\"1.2.3 (git \\\"x\\\")\"} 1");
  has("# TYPE cci_requests_total counter");
  has("cci_requests_total{route=\"/v1/completions\",code=\"200\"} 2");
  has("cci_requests_total{route=\"/v1/completions\",code=\"400\"} 1");
  has("# TYPE cci_request_duration_seconds histogram");
  has("cci_request_duration_seconds_bucket{route=\"/v1/completions\",le=\"0.005\"} 1");
  has("cci_request_duration_seconds_bucket{route=\"/v1/completions\",le=\"0.5\"} 2");
  has("cci_request_duration_seconds_bucket{route=\"/v1/completions\",le=\"5\"} 3");
  has("cci_request_duration_seconds_bucket{route=\"/v1/completions\",le=\"+Inf\"} 3");
  has("cci_request_duration_seconds_count{route=\"/v1/completions\"} 3");
  has("cci_request_duration_seconds_bucket{route=\"/health\",le=\"120\"} 0");
  has("cci_request_duration_seconds_bucket{route=\"/health\",le=\"+Inf\"} 1");
  has("cci_time_to_first_token_seconds_bucket{le=\"0.025\"} 1");
  has("cci_time_to_first_token_seconds_count 2");
  has("cci_prompt_tokens_total 6");
  has("cci_completion_tokens_total 9");
  has("cci_connections_total 1");
  has("cci_connections 3");
  has("cci_workers 2");
  has("cci_workers_busy 1");
  has("cci_auth_failures_total 1");
  has("cci_requests_total{route=\"other\",code=\"200\"} 1");
  CHECK(t.find("injected") == std::string::npos);
  has("cci_certificate_not_after_seconds 1700000000");
  // Every sample line is NAME{LABELS} VALUE or NAME VALUE; every metric has HELP and TYPE.
  size_t pos = 0;
  while (pos < t.size()) {
    const size_t nl = t.find('\n', pos);
    REQUIRE(nl != std::string::npos);
    const std::string l = t.substr(pos, nl - pos);
    pos = nl + 1;
    if (l.rfind("# HELP ", 0) == 0 || l.rfind("# TYPE ", 0) == 0) continue;
    CAPTURE(l);
    CHECK(l.rfind("cci_", 0) == 0);
    CHECK(l.find(' ') != std::string::npos);
  }
}
