// cci-run serve's building blocks: framed IPC with descriptor passing, the API key file, the
// OpenAI request parser (each refusal names its field), HTTP over TLS 1.3 (limits, malformed
// requests), the TLS exporter that binds fresh evidence to one connection (and the replay it
// defeats), TLS 1.2 refused, and the seccomp allow-list in a child process.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <functional>
#include <thread>

#include "crypto/digest.h"
#include "crypto/x509_issue.h"
#include "ratls/fresh.h"
#include "serve/api_keys.h"
#include "serve/http.h"
#include "serve/ipc.h"
#include "serve/openai_api.h"
#include "serve/sandbox.h"
#include "crypto/tls.h"
#include "support/tls_identity.h"

using namespace cci;
using namespace cci::serve;

namespace {

std::string field_of_request(const std::string& body, bool chat = false) {
  ApiLimits limits;
  limits.max_tokens = 100;
  limits.max_prompt_bytes = 64;
  auto r = parse_completion_request(body, chat, limits);
  return r ? std::string("ok") : r.error().field;
}

using test::TlsIdentity;

// A TLS 1.3 connection over a socket pair: the server side runs `server` on a thread.
struct TlsPair {
  std::unique_ptr<TlsConnection> client;
  std::thread server;
};

TlsPair connect_pair(const TlsIdentity& id, std::function<void(TlsConnection&)> server) {
  ::signal(SIGPIPE, SIG_IGN);  // a peer that closes first is an error value, as in the tools
  auto fds = socket_pair();
  REQUIRE(fds);
  const int sfd = fds->first.release(), cfd = fds->second.release();
  TlsPair p;
  p.server = std::thread([&id, sfd, server] {
    auto ctx = crypto::TlsContext::server(id.key, id.cert);
    if (!ctx) return;
    auto c = crypto::TlsConnection::accept(*ctx, sfd);
    if (c) server(**c);
  });
  static std::optional<crypto::TlsContext> client_ctx;
  if (!client_ctx) client_ctx = std::move(*crypto::TlsContext::client());
  auto c = crypto::TlsConnection::connect(*client_ctx, cfd, "localhost");
  REQUIRE(c);
  p.client = std::move(*c);
  return p;
}

}  // namespace

TEST_CASE("ipc: frames keep their bounds, carry one descriptor, and name a closed peer") {
  auto pair = socket_pair();
  REQUIRE(pair);
  auto [a, b] = std::move(*pair);
  auto extra = socket_pair();
  REQUIRE(extra);
  REQUIRE(send_json(a.get(), SecureJson{{"op", "session"}, {"n", 3}}, extra->first.get()));
  REQUIRE(send_frame(a.get(), "second"));
  auto m = recv_json(b.get());
  REQUIRE(m);
  CHECK(m->message["op"] == "session");
  CHECK(m->message["n"] == 3);
  REQUIRE(m->fd.valid());
  // The descriptor works: what goes into it comes out of its peer.
  REQUIRE(send_frame(m->fd.get(), "through the passed socket"));
  auto via = recv_frame(extra->second.get());
  REQUIRE(via);
  CHECK(via->payload == "through the passed socket");
  auto second = recv_frame(b.get());
  REQUIRE(second);
  CHECK(second->payload == "second");
  CHECK_FALSE(second->fd.valid());

  REQUIRE(send_frame(a.get(), std::string(100, 'x')));
  auto big = recv_frame(b.get(), 99);
  REQUIRE_FALSE(big);
  CHECK(big.error().message.find("over the limit") != std::string::npos);

  auto p2 = socket_pair();
  REQUIRE(p2);
  const unsigned char partial[] = {10, 0, 0, 0, 'a', 'b'};  // promises 10 bytes, sends 2
  REQUIRE(::write(p2->first.get(), partial, sizeof(partial)) == static_cast<ssize_t>(sizeof(partial)));
  p2->first.reset();
  auto cut = recv_frame(p2->second.get());
  REQUIRE_FALSE(cut);
  CHECK(cut.error().field == "truncated");
  auto eof = recv_frame(p2->second.get());
  REQUIRE_FALSE(eof);
  CHECK(eof.error().field == "eof");

  // A frame larger than the socket's buffer, its send interrupted by signals (no SA_RESTART): each
  // interrupted sendmsg returns what it sent so far, and the next continues from there; every byte
  // arrives once, in order.
  auto p4 = socket_pair();
  REQUIRE(p4);
  std::string large(3u << 20, '\0');
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 131 + (i >> 12));
  struct sigaction quiet {}, old_usr1 {};
  quiet.sa_handler = [](int) {};
  REQUIRE(::sigaction(SIGUSR1, &quiet, &old_usr1) == 0);
  std::atomic<bool> sent_large{false}, sending_done{false};
  std::thread sender([&] {
    sent_large = static_cast<bool>(send_frame(p4->first.get(), large));
    sending_done = true;
  });
  for (int k = 0; k < 5 && !sending_done; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the buffer is full: the sender waits in sendmsg
    ::pthread_kill(sender.native_handle(), SIGUSR1);
  }
  auto got_large = recv_frame(p4->second.get(), 4u << 20);
  p4->second.reset();  // a sender that went wrong and has more to send gets EPIPE, not a hang
  sender.join();
  ::sigaction(SIGUSR1, &old_usr1, nullptr);
  CHECK(sent_large);
  REQUIRE(got_large);
  CHECK(got_large->payload.size() == large.size());
  CHECK(std::string_view(got_large->payload.data(), got_large->payload.size()) == large);

  auto p3 = socket_pair();
  REQUIRE(send_frame(p3->first.get(), "[1,2]"));
  auto not_object = recv_json(p3->second.get());
  REQUIRE_FALSE(not_object);
}

TEST_CASE("api keys: hashes only, strict lines, constant-time lookup") {
  ApiKeys keys;
  auto ka = keys.add_user("alice");
  auto kb = keys.add_user("bob");
  REQUIRE(ka);
  REQUIRE(kb);
  CHECK(ka->size() == 68);
  CHECK(ka->rfind("cci-", 0) == 0);
  const std::string text = keys.serialize();
  CHECK(text.find(std::string(ka->data(), ka->size())) == std::string::npos);  // the key itself is never stored
  auto reread = ApiKeys::parse(text, "keys.txt");
  REQUIRE(reread);
  CHECK(reread->user_for_hash(hash_api_key(std::string_view(ka->data(), ka->size()))) == "alice");
  CHECK(reread->user_for_hash(hash_api_key(std::string_view(kb->data(), kb->size()))) == "bob");
  CHECK_FALSE(reread->user_for_hash(hash_api_key("cci-0000")));
  CHECK_FALSE(keys.add_user("alice"));
  CHECK_FALSE(keys.add_user("no spaces"));

  const std::string h = "sha256:" + std::string(64, 'a');
  CHECK(ApiKeys::parse("# c\n\nu1 " + h + "\n", "f"));
  auto dup = ApiKeys::parse("u1 " + h + "\nu1 sha256:" + std::string(64, 'b') + "\n", "f");
  REQUIRE_FALSE(dup);
  CHECK(dup.error().message.find("f:2") != std::string::npos);
  CHECK_FALSE(ApiKeys::parse("u1 " + h + "\nu2 " + h + "\n", "f"));  // one key, two users
  CHECK_FALSE(ApiKeys::parse("u1 md5:" + std::string(32, 'a') + "\n", "f"));
  CHECK_FALSE(ApiKeys::parse("u1 sha256:abcd\n", "f"));
  CHECK_FALSE(ApiKeys::parse("bad/user " + h + "\n", "f"));
  CHECK_FALSE(ApiKeys::parse("justoneword\n", "f"));

  CHECK(bearer_token("Bearer abc") == std::string_view("abc"));
  CHECK_FALSE(bearer_token("Basic abc"));
  CHECK_FALSE(bearer_token("Bearer "));
}

TEST_CASE("openai: requests parse strictly and refusals name the field") {
  ApiLimits limits;
  auto r = parse_completion_request(R"({"model":"m","prompt":"Hi","max_tokens":5,"temperature":0,"seed":3,"stream":true,"user":"ignored"})", false, limits);
  REQUIRE(r);
  CHECK(r->prompt == "Hi");
  CHECK(r->max_tokens == 5);
  CHECK(r->temperature == 0);
  CHECK(r->seed == 3);
  CHECK(r->stream);
  // Without a seed every request gets a fresh random one (two equal by chance: 2^-64).
  auto a = parse_completion_request(R"({"prompt":"Hi"})", false, limits), b = parse_completion_request(R"({"prompt":"Hi"})", false, limits);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->seed != b->seed);
  auto chat = parse_completion_request(R"({"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}]})", true, limits);
  REQUIRE(chat);
  CHECK(chat->prompt == "Be brief.\nHello\n");
  CHECK(chat->max_tokens == 128);

  CHECK(field_of_request("{not json") == "body");
  CHECK(field_of_request("[]") == "body");
  CHECK(field_of_request(R"({"max_tokens":5})") == "prompt");
  CHECK(field_of_request(R"({"prompt":["a","b"]})") == "prompt");
  CHECK(field_of_request(R"({"prompt":"a","max_tokens":101})") == "max_tokens");
  CHECK(field_of_request(R"({"prompt":"a","max_tokens":0})") == "max_tokens");
  CHECK(field_of_request(R"({"prompt":"a","max_tokens":"5"})") == "max_tokens");
  CHECK(field_of_request(R"({"prompt":"a","temperature":3})") == "temperature");
  CHECK(field_of_request(R"({"prompt":"a","top_p":0})") == "top_p");
  CHECK(field_of_request(R"({"prompt":"a","n":2})") == "n");
  CHECK(field_of_request(R"({"prompt":"a","stream":"yes"})") == "stream");
  CHECK(field_of_request(R"({"prompt":"a","logprobs":3})") == "logprobs");
  CHECK(field_of_request(R"({"prompt":"a","echo":true})") == "echo");
  // Unknown arguments are a 400 naming them, as OpenAI's API does; unsupported sampling controls
  // too, unless neutral; labels (user, metadata, store) pass.
  CHECK(field_of_request(R"({"prompt":"a","frequency_penalty":0.5})") == "frequency_penalty");
  CHECK(field_of_request(R"({"prompt":"a","frequency_penalty":0,"presence_penalty":null,"stop":null,"logit_bias":{}})") == "ok");
  CHECK(field_of_request(R"({"prompt":"a","stop":["END"]})") == "stop");
  CHECK(field_of_request(R"({"prompt":"a","tempreature":0.2})") == "tempreature");
  CHECK(field_of_request(R"({"prompt":"a","user":"u1","metadata":{"k":"v"},"store":false})") == "ok");
  CHECK(field_of_request(R"({"messages":[{"role":"user","content":"a"}],"response_format":{"type":"text"}})", true) == "ok");
  CHECK(field_of_request(R"({"messages":[{"role":"user","content":"a"}],"response_format":{"type":"json_object"}})", true) == "response_format");
  CHECK(field_of_request(R"({"prompt":"a","ignore_eos":1})") == "ignore_eos");
  CHECK(field_of_request(R"({"prompt":"a","ignore_eos":true})") == "ok");
  CHECK(field_of_request(R"({"prompt":")" + std::string(65, 'x') + "\"}") == "prompt");
  CHECK(field_of_request(R"({"messages":[]})", true) == "messages");
  CHECK(field_of_request(R"({"messages":[{"role":"user","content":"a"},{"role":"tool","content":"b"}]})", true) == "messages[1].role");
  CHECK(field_of_request(R"({"messages":[{"role":"user","content":[{"type":"text"}]}]})", true) == "messages[0].content");

  CompletionResult res{"cmpl-1", "m", 7, "Hello", "stop", 3, 1};
  const auto body = completion_body(res, false);
  const auto j = nlohmann::json::parse(body.begin(), body.end());
  CHECK(j["choices"][0]["text"] == "Hello");
  CHECK(j["usage"]["total_tokens"] == 4);
  const auto cj = nlohmann::json::parse(std::string(completion_body(res, true)));
  CHECK(cj["choices"][0]["message"]["content"] == "Hello");
  const auto ev = stream_event(res, true, "Hel", true, false, false);
  REQUIRE(ev.rfind("data: ", 0) == 0);
  const auto ej = nlohmann::json::parse(std::string(ev.substr(6)));
  CHECK(ej["choices"][0]["delta"]["role"] == "assistant");
  CHECK(ej["choices"][0]["delta"]["content"] == "Hel");
  CHECK(ej["choices"][0]["finish_reason"].is_null());
  const auto last = nlohmann::json::parse(std::string(stream_event(res, true, {}, false, true, true).substr(6)));
  CHECK(last["choices"][0]["finish_reason"] == "stop");
  CHECK(last["usage"]["completion_tokens"] == 1);
  CHECK(nlohmann::json::parse(error_body("bad", "invalid_request_error", "prompt"))["error"]["param"] == "prompt");
}

TEST_CASE("http over TLS 1.3: a request and its answer, body limit, malformed request") {
  const auto id = test::make_tls_identity();
  HttpLimits limits;
  limits.max_body_bytes = 1000;
  std::string seen_body, seen_auth, seen_target;
  auto p = connect_pair(id, [&](TlsConnection& c) {
    auto req = read_request(c, limits);
    if (!req || !*req) return;
    seen_body.assign((*req)->body.begin(), (*req)->body.end());
    seen_auth.assign((*req)->authorization.begin(), (*req)->authorization.end());
    seen_target = (*req)->target;
    HttpResponse r;
    r.body = R"({"ok":true})";
    (void)write_response(c, r, true);
    auto second = read_request(c, limits);
    if (!second) {
      HttpResponse tooBig;
      tooBig.status = second.error().field == "body-limit" ? 413 : 400;
      (void)write_response(c, tooBig, false);
      c.close_gracefully(2.0);  // as cci-run-conn does: the client reads the 413, not a reset
    }
  });
  CHECK(p.client->protocol() == "TLSv1.3");
  ClientRequest req;
  req.method = "POST";
  req.target = "/v1/completions?x=1";
  req.host = "localhost";
  req.authorization = "Bearer k";
  req.body = R"({"prompt":"hi"})";
  auto res = round_trip(*p.client, req);
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(std::string(res->body.data(), res->body.size()) == R"({"ok":true})");
  req.body = SecureString(2000, 'x');
  auto res2 = round_trip(*p.client, req);
  p.server.join();
  CHECK(seen_body == R"({"prompt":"hi"})");
  CHECK(seen_auth == "Bearer k");
  CHECK(seen_target == "/v1/completions?x=1");
  REQUIRE(res2);
  CHECK(res2->status == 413);

  int status = 0;
  auto p2 = connect_pair(id, [&](TlsConnection& c) {
    auto r = read_request(c, limits);
    status = r ? 200 : r.error().field == "http" ? 400 : 500;
  });
  const std::string junk = "NOT HTTP AT ALL\r\n\r\n";
  REQUIRE(p2.client->write_all(junk.data(), junk.size()));
  p2.server.join();
  CHECK(status == 400);
}

TEST_CASE("http streaming: each chunk is one TLS record, the end goes with the last data") {
  // SSL_read returns one record at a time: a chunk written as its three parts (size line, data,
  // CRLF) arrived in three reads, and woke the reader three times per piece of streamed text.
  const auto id = test::make_tls_identity();
  auto p = connect_pair(id, [](TlsConnection& c) {
    if (!write_stream_head(c, 200, "text/event-stream", true)) return;
    if (!write_chunk(c, "data: a\n\n")) return;
    if (!write_chunk(c, std::string(20000, 'x'))) return;  // over one record: sent as it is
    (void)write_chunk(c, "data: end\n\n", true);
  });
  auto read_record = [&] {
    std::string s(65536, '\0');
    auto n = p.client->read_some(s.data(), s.size());
    REQUIRE(n);
    s.resize(*n);
    return s;
  };
  const std::string head = read_record();
  CHECK(head.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(head.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(head.size() > 4);
  CHECK(head.substr(head.size() - 4) == "\r\n\r\n");
  CHECK(read_record() == "9\r\ndata: a\n\n\r\n");
  std::string big;
  while (big.size() < 20008) big += read_record();
  CHECK(big == "4e20\r\n" + std::string(20000, 'x') + "\r\n");
  CHECK(read_record() == "b\r\ndata: end\n\n\r\n0\r\n\r\n");
  p.server.join();
}

TEST_CASE("fresh evidence: the exporter binds one connection, a replayed answer fails") {
  const auto id = test::make_tls_identity();
  const Bytes nonce(32, 0x42);
  Bytes server_view1, server_view2;
  auto p1 = connect_pair(id, [&](TlsConnection& c) {
    server_view1 = *c.exporter(ratls::kExporterLabel, nonce, 32);
    char b;
    (void)c.read_some(&b, 1);
  });
  auto p2 = connect_pair(id, [&](TlsConnection& c) {
    server_view2 = *c.exporter(ratls::kExporterLabel, nonce, 32);
    char b;
    (void)c.read_some(&b, 1);
  });
  const Bytes client1 = *p1.client->exporter(ratls::kExporterLabel, nonce, 32);
  const Bytes client2 = *p2.client->exporter(ratls::kExporterLabel, nonce, 32);
  p1.client->close_notify();
  p2.client->close_notify();
  p1.server.join();
  p2.server.join();
  CHECK(client1 == server_view1);  // both ends agree ...
  CHECK(client2 == server_view2);
  CHECK(client1 != client2);  // ... and no two connections do
  CHECK(client1 != *p1.client->exporter("EXPORTER-other", nonce, 32));

  ratls::Claims cert;
  cert.pubkey_sha256 = crypto::digest(crypto::DigestAlg::kSha256, id.key.public_key().spki_der());
  cert.manifest_sha256 = Bytes(32, 1);
  const auto answer1 = ratls::fresh_claims(cert, nonce, client1);
  CHECK(ratls::check_fresh_claims(answer1, cert, nonce, client1));
  auto replayed = ratls::check_fresh_claims(answer1, cert, nonce, client2);  // same nonce, other connection
  REQUIRE_FALSE(replayed);
  CHECK(replayed.error().field == "cci-exporter");
  auto old_nonce = ratls::check_fresh_claims(answer1, cert, Bytes(32, 0x43), client1);
  REQUIRE_FALSE(old_nonce);
  CHECK(old_nonce.error().field == "nonce");
  auto other_key = cert;
  other_key.pubkey_sha256 = Bytes(32, 9);
  CHECK(ratls::check_fresh_claims(answer1, other_key, nonce, client1).error().field == "pubkey-hash");
  auto other_manifest = answer1;
  other_manifest.manifest_sha256 = Bytes(32, 2);
  CHECK(ratls::check_fresh_claims(other_manifest, cert, nonce, client1).error().field == "cci-manifest");
  // Each other claim the certificate makes must be the fresh answer's too, present or absent.
  cert.deploy = "prod-eu";
  cert.key_source = "kbs";
  const auto answer2 = ratls::fresh_claims(cert, nonce, client1);
  CHECK(ratls::check_fresh_claims(answer2, cert, nonce, client1));
  auto other_deploy = answer2;
  other_deploy.deploy = "staging";
  CHECK(ratls::check_fresh_claims(other_deploy, cert, nonce, client1).error().field == "cci-deploy");
  other_deploy.deploy.reset();
  CHECK(ratls::check_fresh_claims(other_deploy, cert, nonce, client1).error().field == "cci-deploy");
  auto other_source = answer2;
  other_source.key_source = "file";
  CHECK(ratls::check_fresh_claims(other_source, cert, nonce, client1).error().field == "cci-key-source");
  auto other_purpose = answer2;
  other_purpose.purpose = "model-key";
  CHECK(ratls::check_fresh_claims(other_purpose, cert, nonce, client1).error().field == "cci-purpose");
}

TEST_CASE("tls: a TLS 1.2-only client is refused") {
  const auto id = test::make_tls_identity();
  auto fds = socket_pair();
  REQUIRE(fds);
  const int sfd = fds->first.release();
  bool server_ok = true;
  std::thread server([&] {
    auto ctx = crypto::TlsContext::server(id.key, id.cert);
    server_ok = ctx && crypto::TlsConnection::accept(*ctx, sfd);
  });
  SSL_CTX* old = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(old, TLS1_2_VERSION);
  SSL* ssl = SSL_new(old);
  SSL_set_fd(ssl, fds->second.get());
  CHECK(SSL_connect(ssl) != 1);
  SSL_free(ssl);
  SSL_CTX_free(old);
  fds->second.reset();
  server.join();
  CHECK_FALSE(server_ok);
}

namespace {

// Runs `body` in a forked child, hardened (a filter is for good, so never in the test process),
// and gives its exit status: body's result, 100 when hardening failed, -1 when it did not exit.
int in_hardened_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) ::_exit(harden_process() ? body() : 100);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("sandbox: a worker's filter holds on threads started before it, admits new threads, refuses a new process") {
  const int bits = in_hardened_child([] {
    int b = 0;
    // A thread started before the filter (as the engine's compute threads are, during warm-up).
    std::atomic<int> phase{0};
    int early_errno = 0;
    std::thread early([&] {
      while (phase.load() == 0) std::this_thread::yield();
      errno = 0;
      const int fd = ::open("/etc/hostname", O_RDONLY);
      early_errno = fd < 0 ? errno : 0;
      if (fd >= 0) ::close(fd);
      phase.store(2);
    });
    if (!apply_syscall_allow_list(SandboxProfile::kWorker)) ::_exit(101);
    phase.store(1);
    early.join();
    if (early_errno == EPERM) b |= 1;
    bool ran = false;
    std::thread later([&] { ran = true; });  // clone3 answers ENOSYS; the C library falls back to clone with CLONE_THREAD
    later.join();
    if (ran) b |= 2;
    errno = 0;
    const pid_t child = ::fork();  // clone without CLONE_THREAD
    if (child == 0) ::_exit(0);
    if (child < 0 && errno == EPERM) b |= 4;
    if (child > 0) ::waitpid(child, nullptr, 0);
    return b;
  });
  REQUIRE(bits >= 0);
  REQUIRE(bits < 100);
  CHECK_MESSAGE((bits & 1) != 0, "a thread started before the filter could open a file");
  CHECK_MESSAGE((bits & 2) != 0, "a new thread could not start under the filter");
  CHECK_MESSAGE((bits & 4) != 0, "a new process could start under the filter");
}

TEST_CASE("sandbox: a filtered process cannot reach another process of the same user (limits, signals)") {
  // The target: another process of this user, as the accept loop and other users' workers are.
  const pid_t target = ::fork();
  REQUIRE(target >= 0);
  if (target == 0) {
    ::pause();
    ::_exit(0);
  }
  for (const auto profile : {SandboxProfile::kWorker, SandboxProfile::kConnection}) {
    CAPTURE(static_cast<int>(profile));
    const int bits = in_hardened_child([&] {
      int b = 0;
      if (!apply_syscall_allow_list(profile)) return 101;
      rlimit own{};
      if (::syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, nullptr, &own) == 0) b |= 1;  // its own limits: a worker may read them
      rlimit one{1, 1};
      errno = 0;
      if (::syscall(SYS_prlimit64, target, RLIMIT_NOFILE, &one, nullptr) < 0 && errno == EPERM) b |= 2;
      errno = 0;
      if (::syscall(SYS_tgkill, target, target, 0) < 0 && errno == EPERM) b |= 4;
      errno = 0;
      if (::syscall(SYS_kill, target, 0) < 0 && errno == EPERM) b |= 8;
      return b;
    });
    REQUIRE(bits >= 0);
    REQUIRE(bits < 100);
    if (profile == SandboxProfile::kWorker) CHECK_MESSAGE((bits & 1) != 0, "a worker could not read its own limits");
    CHECK_MESSAGE((bits & 2) != 0, "it could set another process's resource limits");
    CHECK_MESSAGE((bits & 4) != 0, "it could signal another process (tgkill)");
    CHECK_MESSAGE((bits & 8) != 0, "it could signal another process (kill)");
  }
  rlimit target_nofile{};
  CHECK(::prlimit(target, RLIMIT_NOFILE, nullptr, &target_nofile) == 0);
  CHECK(target_nofile.rlim_cur > 1);
  ::kill(target, SIGKILL);
  ::waitpid(target, nullptr, 0);
}

TEST_CASE("sandbox: hardened and filtered, a process can compute but not open, connect or exec") {
  const int bits = in_hardened_child([] {
    int b = 0;
    if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0) b |= 1;
    if (!apply_syscall_allow_list(SandboxProfile::kConnection)) return 101;
    if (::getpid() > 0) b |= 2;  // allowed
    errno = 0;
    if (::socket(AF_INET, SOCK_STREAM, 0) < 0 && errno == EPERM) b |= 4;
    errno = 0;
    if (::open("/etc/hostname", O_RDONLY) < 0 && errno == EPERM) b |= 8;
    errno = 0;
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    if (::execve("/bin/true", argv, nullptr) < 0 && errno == EPERM) b |= 16;
    return b;
  });
  CHECK(bits == 31);
}
