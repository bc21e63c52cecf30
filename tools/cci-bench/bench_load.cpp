// cci-bench load: many users against a live cci-run serve endpoint. Each user is a thread with
// its own keep-alive TLS 1.3 connection and API key, sending its requests one after another
// (POST /v1/completions, or chat with --chat). The server's certificate must carry the pin that
// cci-verify remote printed; the benchmark talks to nothing else. Reports errors, latency
// percentiles, completion tokens per second and wall time; exit 1 if any request failed.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include "base/hex.h"
#include "bench_stats.h"
#include "bench_util.h"
#include "commands.h"
#include "serve/http.h"
#include "crypto/tls.h"
#include "serve/net.h"

namespace cci::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct LoadOptions {
  std::string url, pin, keys_file, prompt = "And God said";
  int users = 8, requests = 50, max_tokens = 16;
  bool chat = false;
};

struct UserResult {
  std::vector<double> latencies;  // seconds, successful requests
  std::int64_t completion_tokens = 0;
  int errors = 0;
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

Result<std::pair<std::string, std::string>> host_port(const std::string& url) {
  const std::string scheme = "https://";
  if (url.rfind(scheme, 0) != 0) return make_error(ErrorCode::kUsage, "the URL must be https://HOST:PORT", "url");
  std::string rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos) return make_error(ErrorCode::kUsage, "the URL must be https://HOST:PORT", "url");
  return std::make_pair(rest.substr(0, colon), rest.substr(colon + 1));
}

// One user's session: connect, check the pin, send the requests in turn.
void run_user(const LoadOptions& o, const std::string& key, const std::pair<std::string, std::string>& hp, UserResult& out) {
  auto fail = [&](const std::string& why, int count) {
    out.errors += count;
    if (out.first_error.empty()) out.first_error = why;
  };
  auto fd = serve::tcp_connect(hp.first, hp.second);
  if (!fd) return fail(fd.error().message, o.requests);
  auto ctx = crypto::TlsContext::client();
  if (!ctx) return fail(ctx.error().message, o.requests);
  auto tls = crypto::TlsConnection::connect(*ctx, *fd, hp.first);
  if (!tls) return fail(tls.error().message, o.requests);
  auto cert = (*tls)->peer_certificate();
  if (!cert || crypto::public_key_pin(*cert) != o.pin) return fail("the server's key does not match --pin", o.requests);
  serve::ClientRequest req;
  req.method = "POST";
  req.target = o.chat ? "/v1/chat/completions" : "/v1/completions";
  req.host = hp.first;
  const std::string auth = "Bearer " + key;
  req.authorization.assign(auth.begin(), auth.end());
  for (int i = 0; i < o.requests; ++i) {
    nlohmann::json body{{"max_tokens", o.max_tokens}, {"temperature", 0.8}, {"seed", i}};
    if (o.chat) body["messages"] = nlohmann::json::array({{{"role", "user"}, {"content", o.prompt}}});
    else body["prompt"] = o.prompt;
    const std::string text = body.dump();
    req.body.assign(text.begin(), text.end());
    const auto t0 = Clock::now();
    auto res = serve::round_trip(**tls, req);
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!res) return fail(res.error().message, o.requests - i);
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
  (*tls)->close_notify();
}

int run_load(const LoadOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.bench.load.v1";
  ::signal(SIGPIPE, SIG_IGN);  // a server that hangs up counts as an error
  if (o.users < 1 || o.requests < 1 || o.max_tokens < 1) return ctx.fail(make_error(ErrorCode::kUsage, "--users, --requests and --max-tokens must be at least 1"), schema);
  if (o.pin.rfind("sha256//", 0) != 0) return ctx.fail(make_error(ErrorCode::kUsage, "--pin takes the sha256//BASE64 pin that cci-verify remote prints", "pin"), schema);
  auto keys = read_keys(o.keys_file);
  if (!keys) return ctx.fail(keys.error(), schema);
  auto hp = host_port(o.url);
  if (!hp) return ctx.fail(hp.error(), schema);
  std::vector<UserResult> results(static_cast<size_t>(o.users));
  ctx.info("load: " + std::to_string(o.users) + " users x " + std::to_string(o.requests) + " requests against " + o.url);
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int u = 0; u < o.users; ++u) {
    threads.emplace_back([&, u] { run_user(o, (*keys)[static_cast<size_t>(u) % keys->size()], *hp, results[static_cast<size_t>(u)]); });
  }
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> all;
  std::int64_t tokens = 0;
  int errors = 0;
  std::string first_error;
  for (const auto& r : results) {
    all.insert(all.end(), r.latencies.begin(), r.latencies.end());
    tokens += r.completion_tokens;
    errors += r.errors;
    if (first_error.empty()) first_error = r.first_error;
  }
  const int total = o.users * o.requests;
  // 1: some requests failed; 3: none succeeded (no server to measure: refused, wrong pin, ...).
  const int code = errors == 0 ? 0 : (all.empty() ? cli::to_int(cli::ExitCode::kCannotEvaluate) : cli::to_int(cli::ExitCode::kRejected));
  cli::Json latency{{"p50", percentile(all, 0.5)}, {"p90", percentile(all, 0.9)}, {"p99", percentile(all, 0.99)}, {"max", percentile(all, 1.0)}};
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
                           {"endpoint", o.chat ? "/v1/chat/completions" : "/v1/completions"}});
  } else {
    char line[256];
    std::snprintf(line, sizeof(line), "%d/%d requests ok, %d errors, %.2f s wall, %.1f req/s, %.1f completion tok/s, latency p50 %.3f s p90 %.3f s p99 %.3f s",
                  static_cast<int>(all.size()), total, errors, wall, static_cast<double>(all.size()) / wall, static_cast<double>(tokens) / wall,
                  percentile(all, 0.5), percentile(all, 0.9), percentile(all, 0.99));
    ctx.out(line);
    if (errors) ctx.error("first error: " + first_error);
  }
  return code;
}

}  // namespace

void add_load(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<LoadOptions>();
  auto* sub = app.add_subcommand("load", "Many users against a live cci-run serve endpoint (errors, latency, tokens/s)");
  sub->footer(
      "Each user has its own TLS connection and API key (the keys file: one key per line, reused in turn if\n"
      "there are fewer keys than users) and sends its requests one after another. Verify the server first;\n"
      "the benchmark only talks to the key that cci-verify remote pinned.\n"
      "Example:\n"
      "  PIN=$(cci-verify remote https://127.0.0.1:8443 --deployment m.sig --release-key r.pub --json | jq -r .remote.pin)\n"
      "  cci-bench load https://127.0.0.1:8443 --pin \"$PIN\" --keys keys.txt --users 8 --requests 50 --json");
  sub->add_option("URL", o->url, "https://HOST:PORT of the server")->required();
  sub->add_option("--pin", o->pin, "The server key's pin (sha256//BASE64, from cci-verify remote)")->required();
  sub->add_option("--keys", o->keys_file, "File with one API key per line")->required();
  sub->add_option("--users", o->users, "Concurrent users")->capture_default_str();
  sub->add_option("--requests", o->requests, "Requests per user")->capture_default_str();
  sub->add_option("--max-tokens", o->max_tokens, "max_tokens of each request")->capture_default_str();
  sub->add_option("--prompt", o->prompt, "Prompt of each request")->capture_default_str();
  sub->add_flag("--chat", o->chat, "Use /v1/chat/completions");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_load(*o, ctx); }; });
}

}  // namespace cci::tools::bench
