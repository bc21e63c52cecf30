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
#include "commands.h"
#include "svg_chart.h"

namespace cci::tools::bench {
namespace {

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

int run_overhead(OverheadOptions o, const cli::Context& ctx) {
  const std::string schema = "cci.bench.overhead.v1";
  if (o.runs < 1 || o.threads < 1) return ctx.fail(make_error(ErrorCode::kUsage, "--runs and --threads must be at least 1"), schema);
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
  auto m = measure_overhead(o, *bm, work, ctx);
  if (!m) return ctx.fail(m.error(), schema);
  const Summary decode_loss = summarize(rate_loss(*m, &Sample::decode)), prefill_loss = summarize(rate_loss(*m, &Sample::prefill)),
                ttft_growth = summarize(time_growth(*m, &Sample::ttft));
  const bool met = decode_loss.median <= o.goal_decode && ttft_growth.median <= o.goal_ttft;
  const int code = o.check && !met ? 1 : 0;
  if (!o.plot.empty()) {
    const std::string svg = chart(*m, *bm, o);
    if (auto st = write_file_atomic(o.plot, as_bytes(svg)); !st) return ctx.fail(st.error(), schema);
  }
  auto side = [&](const std::vector<Sample>& v) {
    return cli::Json{{"decode_tokens_s", summarize(pick(v, &Sample::decode)).to_json()},
                     {"prefill_tokens_s", summarize(pick(v, &Sample::prefill)).to_json()},
                     {"ttft_seconds", summarize(pick(v, &Sample::ttft)).to_json()}};
  };
  if (ctx.options().json) {
    ctx.out_json(schema, code,
                 cli::Json{{"machine", machine_info(o.threads)},
                           {"model", {{"name", bm->name}, {"parameters", bm->parameters}, {"weight_bytes", bm->weight_bytes}}},
                           {"threads", o.threads},
                           {"runs", o.runs},
                           {"prompt_tokens", m->prompt_tokens},
                           {"generated_tokens", o.generate},
                           {"native", side(m->native)},
                           {"secure", side(m->secure)},
                           {"overhead", {{"decode", decode_loss.to_json()}, {"prefill", prefill_loss.to_json()}, {"ttft", ttft_growth.to_json()}}},
                           {"secure_worker", {{"prefill_seconds", summarize(m->worker_prefill).to_json()},
                                              {"decode_tokens_s", summarize(m->worker_decode).to_json()}}},
                           {"one_time", m->one_time},
                           {"goals", {{"decode_overhead_max", o.goal_decode}, {"ttft_overhead_max", o.goal_ttft}}},
                           {"goals_met", met},
                           {"plot", o.plot}});
    return code;
  }
  ctx.out(machine_line(machine_info(o.threads)));
  char line[256];
  std::snprintf(line, sizeof line, "model: %s, %.1f M parameters; %d thread(s); %lld prompt, %lld generated tokens; %d interleaved runs", bm->name.c_str(),
                bm->parameters / 1e6, o.threads, static_cast<long long>(m->prompt_tokens), static_cast<long long>(o.generate), o.runs);
  ctx.out(line);
  ctx.out("                       native (median, min-max)       secure (median, min-max)       overhead (median, min-max)");
  auto row = [&](const char* name, double Sample::*field, const Summary& over, double scale) {
    const Summary n = summarize(pick(m->native, field)), s = summarize(pick(m->secure, field));
    std::snprintf(line, sizeof line, "%-20s %9.2f (%8.2f-%8.2f)  %9.2f (%8.2f-%8.2f)  %+7.2f %% (%+.2f to %+.2f)", name, n.median * scale, n.min * scale,
                  n.max * scale, s.median * scale, s.min * scale, s.max * scale, over.median * 100, over.min * 100, over.max * 100);
    ctx.out(line);
  };
  row("decode tokens/s", &Sample::decode, decode_loss, 1);
  row("prefill tokens/s", &Sample::prefill, prefill_loss, 1);
  row("first token, ms", &Sample::ttft, ttft_growth, 1000);
  std::snprintf(line, sizeof line, "inside the worker: prefill %.1f ms, decode %.2f tokens/s (median): the rest of the secure path is transport",
                summarize(m->worker_prefill).median * 1000, summarize(m->worker_decode).median);
  ctx.out(line);
  std::snprintf(line, sizeof line, "one-time: server start %.2f s (weight verification %.3f s), attestation handshake %.3f s (cci-verify remote), worker start %.2f s",
                m->one_time["server_start_seconds"].get<double>(), m->one_time["weight_verification_seconds"].get<double>(),
                m->one_time["attestation_handshake_seconds"]["median"].get<double>(), m->one_time["worker_first_request_seconds"].get<double>());
  ctx.out(line);
  std::snprintf(line, sizeof line, "goals: decode overhead <= %.0f %%, time-to-first-token overhead <= %.0f %%: %s", o.goal_decode * 100, o.goal_ttft * 100,
                met ? "met" : "NOT met");
  ctx.out(line);
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
      "Goals: decode overhead <= 1 %, time to first token <= 5 % (median). Default model: the embedded one.\n"
      "Examples:\n"
      "  cci-bench overhead --shape 110M --threads 2 --runs 5 --plot overhead.svg\n"
      "  cci-bench overhead --json | jq .overhead");
  sub->add_option("--model", o->model, "Model directory (with a tokenizer)");
  sub->add_option("--shape", o->shape, "Random weights of a named shape: 15M, 110M, 1B (tokenizer: the embedded model's)");
  sub->add_option("--threads", o->threads, "Threads, for the engine and for the worker")->capture_default_str();
  sub->add_option("--runs", o->runs, "Interleaved run pairs")->capture_default_str()->check(CLI::Range(1, 1000));
  sub->add_option("--prompt-tokens", o->prompt, "Prompt length (default min(128, context/2))");
  sub->add_option("--generate", o->generate, "Tokens generated per run (default min(128, context/4))");
  sub->add_option("--plot", o->plot, "Write an SVG chart here");
  sub->add_option("--keep", o->keep, "Work in DIR and keep it (model, manifest, keys, the server's log)");
  sub->add_flag("--check", o->check, "Exit 1 when a goal is missed");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_overhead(*o, ctx); }; });
}

}  // namespace cci::tools::bench
