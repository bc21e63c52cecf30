// cci-bench overhead: what the secure path costs against plain inference, like for like, in one
// run (docs/performance.md, "Method"):
//   native: the engine called in this process (same model files, threads, prompt, greedy,
//           exactly --generate tokens), no TLS, no isolation;
//   secure: cci-run serve with the simulated TEE, verified first by cci-verify remote, one
//           streamed /v1/completions request per run over a pinned TLS 1.3 connection to this
//           user's isolated worker (its own process, seccomp, wiped buffers).
// Runs are interleaved (A B, then B A, ...). Per run: time to first token (request sent to
// first streamed token), prefill tokens/s (prompt tokens / time to first token) and decode
// tokens/s (tokens after the first / time from first to last). Overheads are per run pair,
// reported as median and min-max. One-time costs are measured apart: weight verification at
// start-up, server start, the attestation handshake (cci-verify remote), a worker's start.
#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "base/file_io.h"
#include "bench_models.h"
#include "bench_stats.h"
#include "bench_util.h"
#include "overhead_runs.h"
#include "serve/accept_loop.h"
#include "commands.h"
#include "svg_chart.h"

namespace cci::tools::bench {
namespace {

// The CPUs this process may run on (after --cpus), which the server and its workers inherit.
int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

std::vector<double> pick(const std::vector<Sample>& v, double Sample::*field) {
  std::vector<double> out;
  for (const auto& s : v) out.push_back(s.*field);
  return out;
}

// Per run pair: rates lose (1 - secure/native), times grow (secure/native - 1).
std::vector<double> rate_loss(const Measured& m, double Sample::*field) {
  std::vector<double> out;
  for (size_t i = 0; i < m.native.size(); ++i) out.push_back(1.0 - m.secure[i].*field / m.native[i].*field);
  return out;
}
std::vector<double> time_growth(const Measured& m, double Sample::*field) {
  std::vector<double> out;
  for (size_t i = 0; i < m.native.size(); ++i) out.push_back(m.secure[i].*field / m.native[i].*field - 1.0);
  return out;
}

std::string chart(const Measured& m, const BenchModel& bm, const OverheadOptions& o) {
  auto bars = [](const std::string& title, const std::string& unit, const Summary& n, const Summary& s) {
    return BarPanel{title, unit, {{"native", n.median, n.min, n.max, "#4878d0"}, {"secure", s.median, s.min, s.max, "#ee854a"}}};
  };
  auto ms = [](std::vector<double> v) {
    for (auto& x : v) x *= 1000;
    return v;
  };
  const std::vector<BarPanel> panels = {
      bars("decode", "tokens/s", summarize(pick(m.native, &Sample::decode)), summarize(pick(m.secure, &Sample::decode))),
      bars("prefill", "tokens/s", summarize(pick(m.native, &Sample::prefill)), summarize(pick(m.secure, &Sample::prefill))),
      bars("time to first token", "ms", summarize(ms(pick(m.native, &Sample::ttft))), summarize(ms(pick(m.secure, &Sample::ttft))))};
  char sub[256];
  std::snprintf(sub, sizeof sub, "%s (%.0fM parameters), %d thread(s), %lld prompt / %lld generated tokens, %d interleaved runs", bm.name.c_str(),
                bm.parameters / 1e6, o.threads, static_cast<long long>(m.prompt_tokens), static_cast<long long>(o.generate), o.runs);
  return bar_panels_svg("cci-bench overhead: native engine vs attested, isolated serving", sub, panels);
}

// The figures of one run: overheads per run pair (with a confidence interval of the median), the
// engine's own, and where the secure path's time goes.
struct Verdict {
  Summary decode_loss, prefill_loss, ttft_growth;        // as the client sees it
  Summary engine_prefill_growth, engine_decode_loss;     // the worker's engine against the native one
  Summary transport_ttft, worker_output;                 // secure: seconds to first token beyond the worker's prefill; output handling
  Summary pieces;                                        // secure: pieces of text per run
  bool meaningful = true;                                // false: other processes loaded the machine
  bool comparable = true;                                // false: the two sides' prefill ran on different BLAS kernels
  // Each goal against the 95 % interval of its median: met (the interval is at or below the goal),
  // not met (above it), or inconclusive (the interval straddles it: the runs scattered too much to
  // tell, most often because the host's memory bandwidth moved, which no /proc figure shows).
  struct Goal {
    const char* name;
    double goal, median;
    std::pair<double, double> ci95;
    std::string verdict;
  };
  std::vector<Goal> goals;
  std::string result;                                    // met | not met | inconclusive | not meaningful
  std::optional<bool> met;                               // empty: no verdict (busy or inconclusive)
  double native_decode_spread = 0;                       // interquartile range / median of the native decode
};

double quartile_spread(const std::vector<double>& v) {
  if (v.size() < 4) return 0;
  const double med = median_of(v);
  return med > 0 ? (percentile(v, 0.75) - percentile(v, 0.25)) / med : 0;
}

Verdict judge(const Measured& m, const OverheadOptions& o) {
  Verdict v;
  v.decode_loss = summarize(rate_loss(m, &Sample::decode), true);
  v.prefill_loss = summarize(rate_loss(m, &Sample::prefill), true);
  v.ttft_growth = summarize(time_growth(m, &Sample::ttft), true);
  v.engine_prefill_growth = summarize(time_growth(m, &Sample::engine_prefill), true);
  v.engine_decode_loss = summarize(rate_loss(m, &Sample::engine_decode), true);
  std::vector<double> transport, output;
  for (const auto& s : m.secure) {
    transport.push_back(s.ttft - s.engine_prefill);
    output.push_back(s.output);
  }
  v.transport_ttft = summarize(transport);
  v.worker_output = summarize(output);
  v.pieces = summarize(pick(m.secure, &Sample::pieces));
  v.meaningful = m.load.others_fraction_of_one_cpu() <= o.busy_limit;
  v.comparable = m.blas_native == m.blas_worker;
  v.native_decode_spread = quartile_spread(pick(m.native, &Sample::decode));
  auto goal = [](const char* name, const Summary& over, double g) {
    return Verdict::Goal{name, g, over.median, over.ci95.value_or(std::make_pair(over.median, over.median)), ""};
  };
  v.goals = {goal("decode", v.decode_loss, o.goal_decode), goal("ttft", v.ttft_growth, o.goal_ttft),
             goal("engine_prefill", v.engine_prefill_growth, o.goal_engine), goal("engine_decode", v.engine_decode_loss, o.goal_engine)};
  bool any_missed = false, all_met = true;
  for (auto& g : v.goals) {
    g.verdict = g.ci95.second <= g.goal ? "met" : g.ci95.first > g.goal ? "not met" : "inconclusive";
    any_missed = any_missed || g.verdict == "not met";
    all_met = all_met && g.verdict == "met";
  }
  if (!v.meaningful) {
    v.result = "not meaningful: the machine was busy";
  } else if (!v.comparable) {
    v.result = "not comparable: the worker's BLAS kernels differ from the native engine's";
  } else if (any_missed) {
    v.result = "not met", v.met = false;
  } else if (all_met) {
    v.result = "met", v.met = true;
  } else {
    v.result = "inconclusive: an interval straddles its goal";
  }
  return v;
}

cli::Json load_json(const Measured& m, const OverheadOptions& o) {
  auto window = [](const CpuUse& u) {
    return cli::Json{{"wall_seconds", u.wall},
                     {"busy_cpu_seconds", u.all},
                     {"benchmark_and_server_cpu_seconds", u.ours},
                     {"tick_slack_seconds", u.slack},
                     {"others_fraction_of_one_cpu", u.others_fraction_of_one_cpu()}};
  };
  return cli::Json{{"cpus", m.load.cpus},
                   {"quiet_second", window(m.load.quiet)},
                   {"runs", window(m.load.runs)},
                   {"others_fraction_of_one_cpu", m.load.others_fraction_of_one_cpu()},
                   {"limit", o.busy_limit}};
}

int run_overhead(OverheadOptions o, const cli::Context& ctx) {
  const std::string schema = "cci.bench.overhead.v2";
  if (o.runs < 1 || o.threads < 1) return ctx.fail(make_error(ErrorCode::kUsage, "--runs and --threads must be at least 1"), schema);
  if (!o.cpus.empty()) {
    if (auto st = pin_to_cpus(o.cpus); !st) return ctx.fail(st.error(), schema);
  }
  std::optional<ScratchDir> scratch;
  if (o.keep.empty()) {
    auto s = ScratchDir::create("cci-bench-overhead");
    if (!s) return ctx.fail(s.error(), schema);
    scratch.emplace(std::move(*s));
  } else if (std::error_code ec; !std::filesystem::create_directories(o.keep, ec) && ec) {
    return ctx.fail(make_error(ErrorCode::kIo, "cannot create " + o.keep + ": " + ec.message(), "keep"), schema);
  }
  const std::string work = scratch ? scratch->path() : o.keep;
  auto bm = prepare_model_dir(o.model, o.shape, work);
  if (!bm) return ctx.fail(bm.error(), schema);
  const std::int64_t ctx_len = std::min<std::int64_t>(bm->config.max_positions, 4096);
  if (o.prompt == 0) o.prompt = std::min<std::int64_t>(128, ctx_len / 2);
  if (o.generate == 0) o.generate = std::min<std::int64_t>(128, ctx_len / 4);
  if (o.generate < 2) return ctx.fail(make_error(ErrorCode::kUsage, "--generate must be at least 2"), schema);
  // Each instance is a fresh server, worker and native engine; their run pairs are pooled. On
  // the development VM one pair of processes decoded up to 7 % apart in either direction, tight
  // within an instance and different in the next (where each process's memory landed), so a
  // verdict on the engines needs several instances, not only more runs.
  Result<Measured> m = make_error(ErrorCode::kInternal, "no instance ran");
  for (int i = 0; i < o.instances; ++i) {
    const std::string dir = work + "/instance" + std::to_string(i);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return ctx.fail(make_error(ErrorCode::kIo, "cannot create " + dir + ": " + ec.message(), "work"), schema);
    if (o.instances > 1) ctx.info("instance " + std::to_string(i + 1) + " of " + std::to_string(o.instances));
    auto one = measure_overhead(o, *bm, dir, ctx);
    if (!one) return ctx.fail(one.error(), schema);
    if (i == 0) {
      m = std::move(one);
      continue;
    }
    m->native.insert(m->native.end(), one->native.begin(), one->native.end());
    m->secure.insert(m->secure.end(), one->secure.begin(), one->secure.end());
    m->reconnects += one->reconnects;
    m->client_short_slice = m->client_short_slice && one->client_short_slice;
    if (one->blas_worker != one->blas_native) {  // keep a mismatch
      m->blas_native = one->blas_native;
      m->blas_worker = one->blas_worker;
    }
    if (one->load.others_fraction_of_one_cpu() > m->load.others_fraction_of_one_cpu()) m->load = one->load;
  }
  m->instances = o.instances;
  const Verdict v = judge(*m, o);
  // A verdict on a loaded machine, or from runs too scattered to place a goal, is no verdict: say
  // so (exit 3 with --check), never pass or fail.
  const int code = !o.check ? 0 : !v.met ? cli::to_int(cli::ExitCode::kCannotEvaluate) : *v.met ? 0 : 1;
  if (!o.plot.empty()) {
    const std::string svg = chart(*m, *bm, o);
    if (auto st = write_file_atomic(o.plot, as_bytes(svg)); !st) return ctx.fail(st.error(), schema);
  }
  auto side = [&](const std::vector<Sample>& s) {
    return cli::Json{{"decode_tokens_s", summarize(pick(s, &Sample::decode)).to_json()},
                     {"prefill_tokens_s", summarize(pick(s, &Sample::prefill)).to_json()},
                     {"ttft_seconds", summarize(pick(s, &Sample::ttft)).to_json()},
                     {"engine_prefill_seconds", summarize(pick(s, &Sample::engine_prefill)).to_json()},
                     {"engine_decode_tokens_s", summarize(pick(s, &Sample::engine_decode)).to_json()},
                     {"output_seconds", summarize(pick(s, &Sample::output)).to_json()}};
  };
  cli::Json goal_verdicts = cli::Json::object();
  for (const auto& g : v.goals) goal_verdicts[g.name] = {{"goal", g.goal}, {"median", g.median}, {"ci95", {g.ci95.first, g.ci95.second}}, {"verdict", g.verdict}};
  const double stream_interval = o.stream_interval >= 0 ? o.stream_interval : serve::ServeConfig{}.stream_interval;
  if (ctx.options().json) {
    ctx.out_json(schema, code,
                 cli::Json{{"machine", machine_info(o.threads)},
                           {"model", {{"name", bm->name}, {"parameters", bm->parameters}, {"weight_bytes", bm->weight_bytes}}},
                           {"threads", o.threads},
                           {"cpus", o.cpus.empty() ? cli::Json() : cli::Json(o.cpus)},
                           {"runs", o.runs},
                           {"instances", o.instances},
                           {"prompt_tokens", m->prompt_tokens},
                           {"generated_tokens", o.generate},
                           {"native", side(m->native)},
                           {"secure", side(m->secure)},
                           {"overhead",
                            {{"decode", v.decode_loss.to_json()},
                             {"prefill", v.prefill_loss.to_json()},
                             {"ttft", v.ttft_growth.to_json()},
                             {"engine_prefill", v.engine_prefill_growth.to_json()},
                             {"engine_decode", v.engine_decode_loss.to_json()}}},
                           {"secure_split", {{"transport_to_first_token_seconds", v.transport_ttft.to_json()}, {"worker_output_seconds", v.worker_output.to_json()},
                                             {"pieces_per_run", v.pieces.to_json()}}},
                           {"reconnects", m->reconnects},
                           {"engine_uses_every_cpu", o.threads >= usable_cpus()},
                           {"blas", {{"native", m->blas_native}, {"worker", m->blas_worker}}},
                           {"client_short_slice", m->client_short_slice},
                           {"stream_interval_seconds", stream_interval},
                           {"load", load_json(*m, o)},
                           {"one_time", m->one_time},
                           {"memory", m->memory},
                           {"goals", {{"decode_overhead_max", o.goal_decode}, {"ttft_overhead_max", o.goal_ttft}, {"engine_overhead_max", o.goal_engine}}},
                           {"goal_verdicts", goal_verdicts},
                           {"native_decode_spread", v.native_decode_spread},
                           {"result", v.result},
                           {"goals_met", v.met ? cli::Json(*v.met) : cli::Json()},
                           {"plot", o.plot}});
    return code;
  }
  ctx.out(machine_line(machine_info(o.threads)));
  char line[320];
  std::snprintf(line, sizeof line, "model: %s, %.1f M parameters; %d thread(s); %lld prompt, %lld generated tokens; %d interleaved runs x %d instance(s)%s%s",
                bm->name.c_str(), bm->parameters / 1e6, o.threads, static_cast<long long>(m->prompt_tokens), static_cast<long long>(o.generate), o.runs,
                o.instances, o.cpus.empty() ? "" : "; CPUs ", o.cpus.c_str());
  ctx.out(line);
  ctx.out("                          native (median, min-max)     secure (median, min-max)     overhead, median [95 % CI] (min to max)");
  auto row = [&](const char* name, double Sample::*field, const Summary& over, double scale) {
    const Summary n = summarize(pick(m->native, field)), s = summarize(pick(m->secure, field));
    std::snprintf(line, sizeof line, "%-24s %9.2f (%7.2f-%7.2f)  %9.2f (%7.2f-%7.2f)  %+6.2f %% [%+.2f, %+.2f] (%+.2f to %+.2f)", name, n.median * scale,
                  n.min * scale, n.max * scale, s.median * scale, s.min * scale, s.max * scale, over.median * 100, over.ci95->first * 100,
                  over.ci95->second * 100, over.min * 100, over.max * 100);
    ctx.out(line);
  };
  row("decode tokens/s", &Sample::decode, v.decode_loss, 1);
  row("prefill tokens/s", &Sample::prefill, v.prefill_loss, 1);
  row("first token, ms", &Sample::ttft, v.ttft_growth, 1000);
  row("engine prefill, ms", &Sample::engine_prefill, v.engine_prefill_growth, 1000);
  row("engine decode tokens/s", &Sample::engine_decode, v.engine_decode_loss, 1);
  std::snprintf(line, sizeof line,
                "secure path beyond the worker's engine: %.1f ms to the first token (request, tokenizing, TLS), %.1f ms of output handling per run "
                "(median; %.0f pieces of text per run, at most one every %.0f ms)",
                v.transport_ttft.median * 1000, v.worker_output.median * 1000, v.pieces.median, stream_interval * 1000);
  ctx.out(line);
  std::snprintf(line, sizeof line, "one-time: server start %.2f s (weight verification %.3f s), attestation handshake %.3f s (cci-verify remote), worker start %.2f s",
                m->one_time["server_start_seconds"].get<double>(), m->one_time["weight_verification_seconds"].get<double>(),
                m->one_time["attestation_handshake_seconds"]["median"].get<double>(), m->one_time["worker_first_request_seconds"].get<double>());
  ctx.out(line);
  for (const auto& p : m->memory) {
    std::snprintf(line, sizeof line, "memory, %s: peak RSS %.0f MiB; now %.0f MiB = %.0f MiB of mapped files (weights, shared page cache) + %.0f MiB private",
                  p.value("role", std::string()).c_str(), p.value("peak_rss_mib", 0.0), p.value("rss_mib", 0.0), p.value("file_mib", 0.0),
                  p.value("private_mib", 0.0));
    ctx.out(line);
  }
  std::snprintf(line, sizeof line, "machine load: other processes used %.1f %% of one CPU before the runs and %.1f %% during them (limit %.0f %%)%s",
                m->load.quiet.others_fraction_of_one_cpu() * 100, m->load.runs.others_fraction_of_one_cpu() * 100, o.busy_limit * 100, m->reconnects ? ("; reconnected " + std::to_string(m->reconnects) + " time(s)").c_str() : "");
  ctx.out(line);
  std::snprintf(line, sizeof line, "native decode spread between runs: %.1f %% (interquartile range / median; the host's memory bandwidth moves it)",
                v.native_decode_spread * 100);
  ctx.out(line);
  ctx.out(m->client_short_slice ? "client: its thread asks for the shortest scheduler slice during the secure runs, so it reads text as it comes, as a client on "
                                   "another machine would"
                                 : "client: this kernel has no custom scheduler slices (before Linux 6.12): text that wakes the client while the engine "
                                   "computes may wait ~3 ms for a CPU, which adds to the secure figures");
  std::snprintf(line, sizeof line, "BLAS kernels (prefill's matrix products): native %s, worker %s%s", m->blas_native.empty() ? "(not OpenBLAS)" : m->blas_native.c_str(),
                m->blas_worker.empty() ? "(not OpenBLAS)" : m->blas_worker.c_str(), v.comparable ? "" : "  <- DIFFERENT");
  ctx.out(line);
  if (v.meaningful && !v.comparable) {
    ctx.out("verdict: NOT COMPARABLE: the worker computes its prefill on other BLAS kernels than this process (OPENBLAS_CORETYPE, or a "
            "different libopenblas); no pass or fail is given");
  } else if (!v.meaningful) {
    ctx.out("verdict: NOT MEANINGFUL: the machine was busy; rerun on an idle machine (no pass or fail is given)");
  } else {
    std::string each;
    for (const auto& g : v.goals) {
      char one[96];
      std::snprintf(one, sizeof one, "%s%s <= %.0f %%: %s", each.empty() ? "" : "; ", g.name, g.goal * 100, g.verdict.c_str());
      each += one;
    }
    ctx.out("goals (the 95 % interval of each median against its goal): " + each);
    if (!v.met) {
      ctx.out("verdict: INCONCLUSIVE: an interval straddles its goal, so these runs can neither pass nor fail it; rerun with more --runs and "
              "--instances, or on a quieter host (no pass or fail is given)");
    } else {
      ctx.out(std::string("verdict: ") + (*v.met ? "met" : "NOT met"));
    }
  }
  if (o.threads >= usable_cpus()) {
    // Measured: 110M on 2 CPUs, decode +1.6 % with 2 engine threads, -0.0 % with 1 (docs/performance.md).
    std::snprintf(line, sizeof line,
                  "note: the engine's %d thread(s) use every CPU this benchmark runs on, so the connection process and the client take CPU from "
                  "them while text streams, and the secure decode figure includes that; --threads %d leaves a CPU for them",
                  o.threads, std::max(1, usable_cpus() - 1));
    ctx.out(line);
  }
  if (!o.plot.empty()) ctx.info("chart: " + o.plot);
  return code;
}

}  // namespace

void add_overhead(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<OverheadOptions>();
  auto* sub = app.add_subcommand("overhead", "The secure path (attested TLS, isolated worker) against the engine in-process, interleaved runs");
  sub->footer(
      "native: the engine in this process. secure: cci-run serve with the simulated TEE, verified by\n"
      "cci-verify remote, one streamed completion per run over pinned TLS 1.3 to the user's own worker.\n"
      "Same model files, threads, prompt, greedy decoding and token count; runs alternate A B / B A.\n"
      "Overhead per run pair: decode and prefill tokens/s lost, time to first token gained; median and\n"
      "min-max. One-time costs apart: weight verification, server start, attestation handshake, worker start.\n"
      "Goals: decode overhead <= 1 %, time to first token <= 5 %, and the worker's engine within 1 % of the\n"
      "native engine in prefill and decode (medians, with a 95 % bootstrap interval). A goal is met when its\n"
      "interval is at or below it, missed when above, and inconclusive when the interval straddles it (the\n"
      "runs scattered: on a VM, mostly the host's memory bandwidth moving). Runs on a machine that other\n"
      "processes load (more than --busy-limit of one CPU), inconclusive runs, and runs whose worker's prefill\n"
      "ran on other BLAS kernels than this process's (OPENBLAS_CORETYPE, JSON: blas) get no verdict.\n"
      "Default model: the embedded one.\n"
      "Examples:\n"
      "  cci-bench overhead --shape 110M --threads 2 --runs 5 --plot overhead.svg\n"
      "  cci-bench overhead --json | jq .overhead");
  sub->add_option("--model", o->model, "Model directory (with a tokenizer)");
  sub->add_option("--shape", o->shape, "Random weights of a named shape: 15M, 110M, 1B (tokenizer: the embedded model's)");
  sub->add_option("-j,--threads", o->threads, "Threads, for the engine and for the worker")->capture_default_str();
  sub->add_option("--runs", o->runs, "Interleaved run pairs")->capture_default_str()->check(CLI::Range(1, 1000));
  sub->add_option("--instances", o->instances, "Fresh server, worker and native engine this many times, --runs pairs each, pooled")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  sub->add_option("--prompt-tokens", o->prompt, "Prompt length (default min(128, context/2))");
  sub->add_option("--generate", o->generate, "Tokens generated per run (default min(128, context/4))");
  sub->add_option("--plot", o->plot, "Write an SVG chart here");
  sub->add_option("--keep", o->keep, "Work in DIR and keep it (model, manifest, keys, the server's log)");
  char interval_help[256];
  std::snprintf(interval_help, sizeof interval_help,
                "The server's --stream-interval: least seconds between two streamed pieces (default: the server's, %g); each piece "
                "wakes the connection process and the client, which take CPU from the engine when it uses every core",
                serve::ServeConfig{}.stream_interval);
  sub->add_option("--stream-interval", o->stream_interval, interval_help)
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--cpus", o->cpus, "Run this benchmark and the server on these CPUs only (e.g. 0-1)");
  sub->add_option("--busy-limit", o->busy_limit, "CPU other processes may use during the runs, as a fraction of one CPU, before the verdict is void")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 64.0));
  sub->add_flag("--check", o->check, "Exit 1 when a goal is missed (3 when there is no verdict: a busy machine, or an inconclusive goal)");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_overhead(*o, ctx); }; });
}

}  // namespace cci::tools::bench
