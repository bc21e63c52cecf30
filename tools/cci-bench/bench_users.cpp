// cci-bench users: throughput and latency as users are added, each with their own isolated
// worker (cci-run serve, simulated TEE, verified first), and each worker's memory: resident,
// proportional (PSS) and private, from /proc/PID/smaps_rollup. The weights are mapped read-only
// from the verified files, so workers share their pages: private memory per user should be the
// KV cache, activations and libtorch's own state, not a copy of the model.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "base/file_io.h"
#include "bench_models.h"
#include "bench_stats.h"
#include "bench_util.h"
#include "commands.h"
#include "serve/http.h"
#include "serve_fixture.h"
#include "svg_chart.h"

namespace cci::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct UsersOptions {
  std::string model, shape, plot, users = "1,2,4,8";
  int threads = 1, requests = 3;
  std::int64_t generate = 32;
};

struct UserRun {
  std::vector<double> latencies;
  std::int64_t tokens = 0;
  double seconds = 0;
  std::string error;
};

struct Level {
  int users = 0;
  double wall = 0, aggregate = 0;
  Summary per_user, latency;
  cli::Json workers = cli::Json::array();
  int errors = 0;
};

Result<std::int64_t> completion(crypto::TlsConnection& tls, const ServeFixture& f, int user, std::int64_t generate, std::uint64_t seed) {
  const auto req = f.completion_request(static_cast<size_t>(user), {{"prompt", "And God said unto them"},
                                                                   {"max_tokens", generate},
                                                                   {"temperature", 0.8},
                                                                   {"seed", seed},
                                                                   {"ignore_eos", true}});
  CCI_ASSIGN(res, serve::round_trip(tls, req));
  if (res.status != 200) return make_error(ErrorCode::kIo, "HTTP " + std::to_string(res.status), "users");
  const auto j = nlohmann::json::parse(res.body.begin(), res.body.end(), nullptr, false);
  if (!j.is_object() || !j.contains("usage")) return make_error(ErrorCode::kIo, "an answer without usage", "users");
  return j["usage"].value("completion_tokens", std::int64_t{0});
}

void run_user(const ServeFixture& f, int user, const UsersOptions& o, UserRun& out) {
  auto tls = f.connect();
  if (!tls) {
    out.error = tls.error().message;
    return;
  }
  if (auto warm = completion(**tls, f, user, 2, 0); !warm) {  // starts the worker, untimed
    out.error = warm.error().message;
    return;
  }
  const auto t0 = Clock::now();
  for (int r = 0; r < o.requests; ++r) {
    const auto t = Clock::now();
    auto n = completion(**tls, f, user, o.generate, static_cast<std::uint64_t>(r + 1));
    if (!n) {
      out.error = n.error().message;
      return;
    }
    out.latencies.push_back(std::chrono::duration<double>(Clock::now() - t).count());
    out.tokens += *n;
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  (*tls)->close_notify();
}

// kB fields of /proc/PID/smaps_rollup, in MiB.
cli::Json worker_memory(const cli::Json& started) {
  const int pid = started.value("worker_pid", 0);
  auto kib = proc_kib(pid, "smaps_rollup");
  const double rss = kib["Rss"], pss = kib["Pss"], priv = kib["Private_Clean"] + kib["Private_Dirty"],
               shared = kib["Shared_Clean"] + kib["Shared_Dirty"];
  return cli::Json{{"user", started.value("user", "")},
                   {"pid", pid},
                   {"rss_mib", rss / 1024},
                   {"pss_mib", pss / 1024},
                   {"private_mib", priv / 1024},
                   {"shared_mib", shared / 1024},
                   {"readable", rss > 0}};
}

Result<Level> run_level(const ServeFixture& f, int users, const UsersOptions& o) {
  std::vector<UserRun> runs(static_cast<size_t>(users));
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int u = 0; u < users; ++u) threads.emplace_back([&, u] { run_user(f, u, o, runs[static_cast<size_t>(u)]); });
  for (auto& t : threads) t.join();
  Level l;
  l.users = users;
  l.wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> lat, per_user;
  std::int64_t tokens = 0;
  for (const auto& r : runs) {
    if (!r.error.empty()) return make_error(ErrorCode::kIo, "a user's request failed: " + r.error, "users");
    lat.insert(lat.end(), r.latencies.begin(), r.latencies.end());
    tokens += r.tokens;
    per_user.push_back(static_cast<double>(r.tokens) / r.seconds);
  }
  double busy = 0;
  for (const auto& r : runs) busy = std::max(busy, r.seconds);
  l.aggregate = static_cast<double>(tokens) / busy;
  l.per_user = summarize(per_user);
  l.latency = summarize(lat);
  for (const auto& started : f.log_events("worker_started")) {
    const std::string user = started.value("user", "");
    const int index = std::atoi(user.c_str() + 5);  // "benchN"
    if (index < users) l.workers.push_back(worker_memory(started));
  }
  return l;
}

int run_users(const UsersOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.bench.users.v1";
  auto counts = parse_int_list(o.users, 1, 64, "users");
  if (!counts) return ctx.fail(counts.error(), schema);
  if (o.requests < 1 || o.generate < 1 || o.threads < 1) return ctx.fail(make_error(ErrorCode::kUsage, "--requests, --generate and --threads must be at least 1"), schema);
  auto scratch = ScratchDir::create("cci-bench-users");
  if (!scratch) return ctx.fail(scratch.error(), schema);
  const std::string& work = scratch->path();
  auto bm = prepare_model_dir(o.model, o.shape, work);
  if (!bm) return ctx.fail(bm.error(), schema);
  FixtureOptions fo;
  fo.threads = o.threads;
  fo.users = *std::max_element(counts->begin(), counts->end());
  ctx.info("starting cci-run serve (simulated SEV-SNP) for " + std::to_string(fo.users) + " users and verifying it...");
  auto fixture = ServeFixture::start(*bm, work, fo);
  if (!fixture) return ctx.fail(fixture.error(), schema);
  if (auto v = (*fixture)->verify_remote(); !v) return ctx.fail(v.error(), schema);
  std::vector<Level> levels;
  for (int n : *counts) {
    ctx.info(std::to_string(n) + " user(s)...");
    auto l = run_level(**fixture, n, o);
    if (!l) return ctx.fail(l.error(), schema);
    levels.push_back(std::move(*l));
  }
  const double weights_mib = bm->weight_bytes / (1024.0 * 1024.0);
  if (!o.plot.empty()) {
    LineSeries agg{"all users", "#4878d0", {}}, per{"per user (median)", "#ee854a", {}};
    for (const auto& l : levels) {
      agg.points.emplace_back(l.users, l.aggregate);
      per.points.emplace_back(l.users, l.per_user.median);
    }
    char sub[256];
    std::snprintf(sub, sizeof sub, "%s (%.0fM parameters), %d thread(s) per worker, %d requests x %lld tokens per user", bm->name.c_str(), bm->parameters / 1e6,
                  o.threads, o.requests, static_cast<long long>(o.generate));
    const std::string svg = line_chart_svg("cci-bench users: one isolated worker per user", sub, "users", "completion tokens/s", {agg, per});
    if (auto st = write_file_atomic(o.plot, as_bytes(svg)); !st) return ctx.fail(st.error(), schema);
  }
  if (ctx.options().json) {
    cli::Json rows = cli::Json::array();
    for (const auto& l : levels) {
      rows.push_back({{"users", l.users},
                      {"wall_seconds", l.wall},
                      {"aggregate_tokens_s", l.aggregate},
                      {"per_user_tokens_s", l.per_user.to_json()},
                      {"latency_seconds", {{"p50", percentile(l.latency.values, 0.5)}, {"p90", percentile(l.latency.values, 0.9)}, {"p99", percentile(l.latency.values, 0.99)}}},
                      {"workers", l.workers}});
    }
    ctx.out_json(schema, 0,
                 cli::Json{{"machine", machine_info(o.threads)},
                           {"model", {{"name", bm->name}, {"parameters", bm->parameters}, {"weight_bytes", bm->weight_bytes}}},
                           {"threads_per_worker", o.threads},
                           {"requests_per_user", o.requests},
                           {"generated_tokens", o.generate},
                           {"levels", rows},
                           {"plot", o.plot}});
    return 0;
  }
  ctx.out(machine_line(machine_info(o.threads)));
  char line[256];
  std::snprintf(line, sizeof line, "model: %s, %.1f M parameters (%.1f MiB of weights); %d thread(s) per worker; %d requests x %lld tokens per user", bm->name.c_str(),
                bm->parameters / 1e6, weights_mib, o.threads, o.requests, static_cast<long long>(o.generate));
  ctx.out(line);
  ctx.out("users  all tok/s  per user tok/s (median)  latency p50 / p90 / p99 s    worker RSS / PSS / private MiB (median)");
  for (const auto& l : levels) {
    std::vector<double> rss, pss, priv;
    for (const auto& w : l.workers) rss.push_back(w["rss_mib"]), pss.push_back(w["pss_mib"]), priv.push_back(w["private_mib"]);
    std::snprintf(line, sizeof line, "%5d  %9.1f  %23.1f  %7.3f / %7.3f / %7.3f    %7.1f / %7.1f / %7.1f", l.users, l.aggregate, l.per_user.median,
                  percentile(l.latency.values, 0.5), percentile(l.latency.values, 0.9), percentile(l.latency.values, 0.99), summarize(rss).median,
                  summarize(pss).median, summarize(priv).median);
    ctx.out(line);
  }
  if (!o.plot.empty()) ctx.info("chart: " + o.plot);
  return 0;
}

}  // namespace

void add_users(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<UsersOptions>();
  auto* sub = app.add_subcommand("users", "Throughput, latency and per-worker memory as isolated users are added");
  sub->footer(
      "For each count in --users, that many users at once, each with their own API key, TLS connection and\n"
      "worker process, send --requests completions of --generate tokens (after one untimed warm-up).\n"
      "Reports all users' and each user's tokens/s, latency percentiles, and each worker's RSS, PSS and\n"
      "private memory (smaps_rollup): shared weights show as a PSS well under the RSS.\n"
      "Examples:\n"
      "  cci-bench users --users 1,2,4,8 --plot users.svg\n"
      "  cci-bench users --shape 110M --users 1,2 --json");
  sub->add_option("--model", o->model, "Model directory (with a tokenizer)");
  sub->add_option("--shape", o->shape, "Random weights of a named shape: 15M, 110M, 1B");
  sub->add_option("--users", o->users, "User counts, comma-separated")->capture_default_str();
  sub->add_option("-j,--threads", o->threads, "Threads per worker")->capture_default_str();
  sub->add_option("--requests", o->requests, "Timed requests per user")->capture_default_str();
  sub->add_option("--generate", o->generate, "Tokens per request")->capture_default_str();
  sub->add_option("--plot", o->plot, "Write an SVG chart here");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_users(*o, ctx); }; });
}

}  // namespace cci::tools::bench
