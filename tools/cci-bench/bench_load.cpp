// cci-bench load: many users against live cci-run serve endpoints. Each user is a thread with
// its own keep-alive TLS 1.3 connection and API key, sending its requests one after another
// (POST /v1/completions, or chat with --chat). Users are spread over the URLs given (replicas),
// or reach whichever replica a balancer picks. Every connection is checked before a request goes
// out: its key must be a --pin cci-verify remote printed, or (--release-key) the server is
// verified as cci-verify remote does, once per key (client::ReplicaVerifier): a new key gets the
// whole verification, a known one is accepted. Reports errors, connections and verifications,
// latency percentiles, completion tokens per second and wall time; exit 1 if any request failed.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>

#include "base/file_io.h"
#include "bench_stats.h"
#include "bench_util.h"
#include "client/verifier.h"
#include "commands.h"
#include "crypto/keys.h"
#include "serve/http.h"

namespace cci::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct LoadOptions {
  std::vector<std::string> urls;
  std::vector<std::string> pins;
  std::string keys_file, prompt = "And God said";
  int users = 8, requests = 50, max_tokens = 16, requests_per_connection = 0;
  bool chat = false;
  // --release-key: each new server key verified in full
  std::string release_key;
  std::vector<std::string> trust_sim_roots;
  bool offline = false, insecure_no_crl = false;
};

struct UserResult {
  std::vector<double> latencies;  // seconds, successful requests
  std::int64_t completion_tokens = 0;
  int errors = 0;
  int connections = 0, verified_connections = 0, refused_connections = 0;
  std::string first_error;
};

Result<std::vector<std::string>> read_keys(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorCode::kIo, "cannot read " + path, "keys");
  std::vector<std::string> keys;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') keys.push_back(line);
  }
  if (keys.empty()) return make_error(ErrorCode::kUsage, path + " has no keys (one API key per line)", "keys");
  return keys;
}

// A new connection, checked: its key is a --pin, or the verifier accepts the server behind it
// (a new key: verified on this very connection, which then carries the requests).
Result<client::Connection> checked_connection(const LoadOptions& o, client::ReplicaVerifier* verifier, const client::Endpoint& e, UserResult& out) {
  ++out.connections;
  CCI_ASSIGN(c, client::connect(e, 30));
  if (!verifier) {
    if (std::find(o.pins.begin(), o.pins.end(), c.pin) == o.pins.end()) {
      ++out.refused_connections;
      return make_error(ErrorCode::kVerificationFailed, "the server's key " + c.pin + " is none of the --pin keys", "pin");
    }
    ++out.verified_connections;
    return c;
  }
  auto v = verifier->check(c, e);
  if (!v || !v->accepted()) {
    ++out.refused_connections;
    return make_error(ErrorCode::kVerificationFailed, "replica with key " + c.pin + " refused: " + (v ? client::first_failed_check(v->verdict) : v.error().message), "verify");
  }
  ++out.verified_connections;
  return c;
}

// One user's session: connect (checked), send the requests in turn, a new connection every
// --requests-per-connection requests.
void run_user(const LoadOptions& o, client::ReplicaVerifier* verifier, const std::string& key, const client::Endpoint& e, UserResult& out) {
  auto fail = [&](const std::string& why, int count) {
    out.errors += count;
    if (out.first_error.empty()) out.first_error = why;
  };
  serve::ClientRequest req;
  req.method = "POST";
  req.target = o.chat ? "/v1/chat/completions" : "/v1/completions";
  req.host = e.host;
  const std::string auth = "Bearer " + key;
  req.authorization.assign(auth.begin(), auth.end());
  const int per_connection = o.requests_per_connection > 0 ? o.requests_per_connection : o.requests;
  std::optional<client::Connection> c;
  int i = 0;
  while (i < o.requests) {
    const int batch = std::min(per_connection, o.requests - i);
    if (c) c->tls->close_notify();
    c.reset();
    auto next = checked_connection(o, verifier, e, out);
    if (!next) {
      fail(next.error().message, batch);
      i += batch;
      continue;
    }
    c = std::move(*next);
    for (int k = 0; k < batch; ++k, ++i) {
      nlohmann::json body{{"max_tokens", o.max_tokens}, {"temperature", 0.8}, {"seed", i}};
      if (o.chat) body["messages"] = nlohmann::json::array({{{"role", "user"}, {"content", o.prompt}}});
      else body["prompt"] = o.prompt;
      const std::string text = body.dump();
      req.body.assign(text.begin(), text.end());
      const auto t0 = Clock::now();
      auto res = serve::round_trip(*c->tls, req);
      const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
      if (!res) {  // the connection is gone: the rest of its batch is lost
        fail(res.error().message, batch - k);
        i += batch - k;
        c.reset();
        break;
      }
      if (res->status != 200) {
        fail("HTTP " + std::to_string(res->status), 1);
        continue;
      }
      const auto j = nlohmann::json::parse(res->body.begin(), res->body.end(), nullptr, false);
      if (!j.is_object() || !j.contains("usage")) {
        fail("an answer without usage", 1);
        continue;
      }
      out.completion_tokens += j["usage"].value("completion_tokens", std::int64_t{0});
      out.latencies.push_back(dt);
    }
  }
  if (c) c->tls->close_notify();
}

int run_load(const LoadOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.bench.load.v1";
  ::signal(SIGPIPE, SIG_IGN);  // a server that hangs up counts as an error
  if (o.users < 1 || o.requests < 1 || o.max_tokens < 1) return ctx.fail(make_error(ErrorCode::kUsage, "--users, --requests and --max-tokens must be at least 1"), schema);
  if (o.pins.empty() == o.release_key.empty()) {
    return ctx.fail(make_error(ErrorCode::kUsage, "give --pin (keys cci-verify remote printed) or --release-key (verify every server key here)", "pin"), schema);
  }
  for (const auto& pin : o.pins) {
    if (pin.rfind("sha256//", 0) != 0) return ctx.fail(make_error(ErrorCode::kUsage, "--pin takes the sha256//BASE64 pin that cci-verify remote prints", "pin"), schema);
  }
  if (o.release_key.empty() && (!o.trust_sim_roots.empty() || o.offline || o.insecure_no_crl)) {
    return ctx.fail(make_error(ErrorCode::kUsage, "--trust-sim-root, --offline and --insecure-no-crl go with --release-key", "release-key"), schema);
  }
  auto keys = read_keys(o.keys_file);
  if (!keys) return ctx.fail(keys.error(), schema);
  std::vector<client::Endpoint> endpoints;
  for (const auto& url : o.urls) {
    auto e = client::parse_url(url);
    if (!e) return ctx.fail(e.error(), schema);
    endpoints.push_back(*e);
  }
  std::unique_ptr<client::ReplicaVerifier> verifier;
  if (!o.release_key.empty()) {
    auto pem = read_file(o.release_key, 1 << 20);
    if (!pem) return ctx.fail(pem.error(), schema);
    if (auto k = crypto::load_public_key_pem(*pem); !k) return ctx.fail(make_error(ErrorCode::kUsage, o.release_key + ": " + k.error().message, "release-key"), schema);
    client::VerifierOptions vo;
    vo.release.key_pem = std::move(*pem);
    vo.trust_sim_roots = o.trust_sim_roots;
    vo.offline = o.offline;
    vo.crl_required = !o.insecure_no_crl;
    verifier = std::make_unique<client::ReplicaVerifier>(std::move(vo));
  }
  std::vector<UserResult> results(static_cast<size_t>(o.users));
  ctx.info("load: " + std::to_string(o.users) + " users x " + std::to_string(o.requests) + " requests against " + std::to_string(endpoints.size()) +
           " endpoint(s), every connection " + (verifier ? "verified (once per server key)" : "pinned"));
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int u = 0; u < o.users; ++u) {
    threads.emplace_back([&, u] {
      const auto i = static_cast<size_t>(u);
      run_user(o, verifier.get(), (*keys)[i % keys->size()], endpoints[i % endpoints.size()], results[i]);
    });
  }
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> all;
  std::int64_t tokens = 0;
  int errors = 0, connections = 0, verified = 0, refused = 0;
  std::string first_error;
  for (const auto& r : results) {
    all.insert(all.end(), r.latencies.begin(), r.latencies.end());
    tokens += r.completion_tokens;
    errors += r.errors;
    connections += r.connections;
    verified += r.verified_connections;
    refused += r.refused_connections;
    if (first_error.empty()) first_error = r.first_error;
  }
  const int total = o.users * o.requests;
  // 1: some requests failed; 3: none succeeded (no server to measure: refused, wrong pin, ...).
  const int code = errors == 0 ? 0 : (all.empty() ? cli::to_int(cli::ExitCode::kCannotEvaluate) : cli::to_int(cli::ExitCode::kRejected));
  cli::Json latency{{"p50", percentile(all, 0.5)}, {"p90", percentile(all, 0.9)}, {"p99", percentile(all, 0.99)}, {"max", percentile(all, 1.0)}};
  const size_t verifications = verifier ? verifier->verifications() : 0;
  const size_t keys_verified = verifier ? verifier->keys() : 0;
  if (ctx.options().json) {
    ctx.out_json(schema, code,
                 cli::Json{{"result", code == 0 ? "pass" : "fail"},
                           {"machine", machine_basics()},
                           {"users", o.users},
                           {"requests_per_user", o.requests},
                           {"requests", total},
                           {"succeeded", static_cast<int>(all.size())},
                           {"errors", errors},
                           {"first_error", first_error},
                           {"wall_seconds", wall},
                           {"requests_per_second", static_cast<double>(all.size()) / wall},
                           {"completion_tokens", tokens},
                           {"completion_tokens_per_second", static_cast<double>(tokens) / wall},
                           {"latency_seconds", latency},
                           {"max_tokens", o.max_tokens},
                           {"endpoint", o.chat ? "/v1/chat/completions" : "/v1/completions"},
                           {"endpoints", static_cast<int>(endpoints.size())},
                           {"trust", verifier ? "verified" : "pinned"},
                           {"connections", connections},
                           {"verified_connections", verified},
                           {"refused_connections", refused},
                           {"verifications", verifications},
                           {"keys_verified", keys_verified}});
  } else {
    char line[256];
    std::snprintf(line, sizeof(line), "%d/%d requests ok, %d errors, %.2f s wall, %.1f req/s, %.1f completion tok/s, latency p50 %.3f s p90 %.3f s p99 %.3f s",
                  static_cast<int>(all.size()), total, errors, wall, static_cast<double>(all.size()) / wall, static_cast<double>(tokens) / wall,
                  percentile(all, 0.5), percentile(all, 0.9), percentile(all, 0.99));
    ctx.out(line);
    ctx.out(std::to_string(connections) + " connections: " + std::to_string(verified) + " checked and accepted, " + std::to_string(refused) + " refused" +
            (verifier ? "; " + std::to_string(verifications) + " full verifications, " + std::to_string(keys_verified) + " server keys accepted" : ""));
    if (errors) ctx.error("first error: " + first_error);
  }
  return code;
}

}  // namespace

void add_load(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<LoadOptions>();
  auto* sub = app.add_subcommand("load", "Many users against live cci-run serve endpoints (errors, latency, tokens/s), every connection checked");
  sub->footer(
      "Each user has its own TLS connection and API key (the keys file: one key per line, reused in turn if\n"
      "there are fewer keys than users) and sends its requests one after another; users are spread over the URLs\n"
      "given (replicas), in turn. Every connection is checked before it carries a request: its key must be a --pin\n"
      "that cci-verify remote printed, or, with --release-key, the server is verified here as cci-verify remote\n"
      "does (deployment manifest, claims, fresh evidence, report pipeline, on that connection), once per server key:\n"
      "behind a balancer a connection may reach another replica, whose new key gets the whole verification. Connections, refusals and\n"
      "verifications are counted; a refused connection's requests are errors.\n"
      "Examples:\n"
      "  PIN=$(cci-verify remote https://127.0.0.1:8443 --release-key r.pub --json | jq -r .remote.pin)\n"
      "  cci-bench load https://127.0.0.1:8443 --pin \"$PIN\" --keys keys.txt --users 8 --requests 50 --json\n"
      "  cci-bench load https://llm.example:8443 --release-key r.pub --keys keys.txt --users 16 --requests-per-connection 5");
  sub->add_option("URL", o->urls, "https://HOST:PORT of the server (several: replicas, users spread over them)")->required();
  sub->add_option("--pin", o->pins, "A server key's pin (sha256//BASE64, from cci-verify remote; repeatable: one per replica)");
  sub->add_option("--release-key", o->release_key, "Instead of --pin: verify each server key here against the deployment this key signed (PEM)");
  sub->add_option("--trust-sim-root", o->trust_sim_roots, "With --release-key: accept the cci-run sim platform in DIR (testing only)");
  sub->add_flag("--offline", o->offline, "With --release-key: collateral from the cache only");
  sub->add_flag("--insecure-no-crl", o->insecure_no_crl, "With --release-key: do not require a CRL");
  sub->add_option("--keys", o->keys_file, "File with one API key per line")->required();
  sub->add_option("--users", o->users, "Concurrent users")->capture_default_str();
  sub->add_option("--requests", o->requests, "Requests per user")->capture_default_str();
  sub->add_option("--requests-per-connection", o->requests_per_connection, "A new (checked) connection every N requests (0: one per user)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--max-tokens", o->max_tokens, "max_tokens of each request")->capture_default_str();
  sub->add_option("--prompt", o->prompt, "Prompt of each request")->capture_default_str();
  sub->add_flag("--chat", o->chat, "Use /v1/chat/completions");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_load(*o, ctx); }; });
}

}  // namespace cci::tools::bench
