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
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "base/file_io.h"
#include "bench_models.h"
#include "bench_stats.h"
#include "bench_util.h"
#include "commands.h"
#include "infer/engine.h"
#include "infer/generate.h"
#include "serve/http.h"
#include "serve_fixture.h"
#include "svg_chart.h"

namespace cci::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct OverheadOptions {
  std::string model, shape, plot, keep;
  int threads = 2, runs = 5;
  std::int64_t prompt = 0, generate = 0;
  double goal_decode = 0.01, goal_ttft = 0.05;
  bool check = false;
};

struct Sample {
  double ttft = 0, prefill = 0, decode = 0;  // seconds, tokens/s, tokens/s
};

double since(Clock::time_point t0, Clock::time_point t) { return std::chrono::duration<double>(t - t0).count(); }

// The prompt both paths use: Genesis-like text repeated until it is at least `tokens` long.
Result<std::string> prompt_text(const infer::Tokenizer& tok, std::int64_t tokens, std::int64_t& actual) {
  const std::string verse = "And God said unto them, Be fruitful, and multiply, and replenish the earth, and subdue it. ";
  std::string text;
  while (true) {
    text += verse;
    CCI_ASSIGN(ids, tok.encode(text));
    actual = static_cast<std::int64_t>(ids.size()) + (tok.bos_id() ? 1 : 0);
    if (actual >= tokens) return text;
  }
}

// Plain inference: tokenize the prompt, prefill, decode (the time to first token includes the
// tokenizer, as it does on the serving path).
Result<Sample> native_run(infer::Engine& engine, const infer::Tokenizer& tok, const std::string& text, std::int64_t generate) {
  engine.reset();
  const auto t0 = Clock::now();
  CCI_ASSIGN(prompt, tok.encode(text));
  if (tok.bos_id()) prompt.insert(prompt.begin(), *tok.bos_id());
  infer::GenerateOptions g;
  g.max_tokens = generate;
  g.sampling.temperature = 0;
  Clock::time_point first{}, last{};
  std::int64_t n = 0;
  g.on_token = [&](std::int64_t) {
    last = Clock::now();
    if (n++ == 0) first = last;
    return true;
  };
  std::vector<std::int64_t> out;
  CCI_TRY(infer::generate(engine, prompt, g, out));
  if (n < 2) return make_error(ErrorCode::kInternal, "native run produced fewer than 2 tokens");
  Sample s;
  s.ttft = since(t0, first);
  s.prefill = static_cast<double>(prompt.size()) / s.ttft;  // as on the serving path: prompt / time to first token
  s.decode = static_cast<double>(n - 1) / since(first, last);
  return s;
}

// One streamed completion; times come from the server-sent events as they arrive.
Result<Sample> secure_run(crypto::TlsConnection& tls, const ServeFixture& f, const std::string& text, std::int64_t prompt_tokens, std::int64_t generate) {
  const auto req = f.completion_request(0, {{"prompt", text},      {"max_tokens", generate}, {"temperature", 0}, {"ignore_eos", true},
                                            {"stream", true},      {"stream_options", {{"include_usage", true}}}});
  std::string pending;
  Clock::time_point first{}, last{};
  bool seen = false;
  std::int64_t tokens = 0, usage_prompt = 0;
  const auto t0 = Clock::now();
  auto on_body = [&](std::string_view chunk) {
    const auto now = Clock::now();
    pending.append(chunk);
    size_t end;
    while ((end = pending.find("\n\n")) != std::string::npos) {
      const std::string event = pending.substr(0, end);
      pending.erase(0, end + 2);
      if (event.rfind("data: {", 0) != 0) continue;
      const auto j = nlohmann::json::parse(event.substr(6), nullptr, false);
      if (!j.is_object()) continue;
      const auto& choice = j["choices"][0];
      if (choice.contains("text") && choice["text"].is_string() && !choice["text"].get<std::string>().empty()) {
        if (!seen) first = now, seen = true;
        last = now;
      }
      if (j.contains("usage")) {
        tokens = j["usage"].value("completion_tokens", std::int64_t{0});
        usage_prompt = j["usage"].value("prompt_tokens", std::int64_t{0});
      }
    }
    return true;
  };
  CCI_ASSIGN(status, serve::round_trip_streamed(tls, req, on_body));
  if (status != 200) return make_error(ErrorCode::kIo, "the server answered HTTP " + std::to_string(status), "secure");
  if (!seen || tokens != generate) return make_error(ErrorCode::kInternal, "the stream carried " + std::to_string(tokens) + " of " + std::to_string(generate) + " tokens");
  if (usage_prompt != prompt_tokens) return make_error(ErrorCode::kInternal, "the server saw " + std::to_string(usage_prompt) + " prompt tokens, native " + std::to_string(prompt_tokens));
  Sample s;
  s.ttft = since(t0, first);
  s.prefill = static_cast<double>(prompt_tokens) / s.ttft;
  s.decode = static_cast<double>(tokens - 1) / since(first, last);
  return s;
}

struct Measured {
  std::vector<Sample> native, secure;
  std::vector<double> worker_prefill, worker_decode;  // inside the worker (its log), secure runs
  std::int64_t prompt_tokens = 0;
  cli::Json one_time;
};

Result<Measured> measure(const OverheadOptions& o, const BenchModel& bm, const std::string& work, const cli::Context& ctx) {
  Measured m;
  ctx.info("starting cci-run serve (simulated SEV-SNP) and verifying it with cci-verify remote...");
  FixtureOptions fo;
  fo.threads = o.threads;
  CCI_ASSIGN(fixture, ServeFixture::start(bm, work, fo));
  std::vector<double> handshakes;
  for (int i = 0; i < 3; ++i) {
    CCI_ASSIGN(seconds, fixture->verify_remote());
    handshakes.push_back(seconds);
  }
  CCI_ASSIGN(tls, fixture->connect());
  // The user's first request starts their worker.
  const auto t_first = Clock::now();
  {
    CCI_ASSIGN(res, serve::round_trip(*tls, fixture->completion_request(0, {{"prompt", "And"}, {"max_tokens", 1}})));
    if (res.status != 200) return make_error(ErrorCode::kIo, "the first request failed with HTTP " + std::to_string(res.status), "secure");
  }
  const double first_request = since(t_first, Clock::now());
  CCI_ASSIGN(loaded, infer::load_model(bm.dir));
  infer::EngineOptions eo;
  eo.threads = o.threads;
  CCI_ASSIGN(engine, infer::Engine::create(loaded.config, loaded.weights, eo));
  CCI_ASSIGN(text, prompt_text(*loaded.tokenizer, o.prompt, m.prompt_tokens));
  if (m.prompt_tokens + o.generate > engine->context()) {
    return make_error(ErrorCode::kUsage, "--prompt-tokens + --generate must fit the " + std::to_string(engine->context()) + "-token context", "generate");
  }
  ctx.info("warm-up, then " + std::to_string(o.runs) + " interleaved runs: " + std::to_string(m.prompt_tokens) + " prompt tokens, " +
           std::to_string(o.generate) + " generated, " + std::to_string(o.threads) + " thread(s)...");
  CCI_TRY(native_run(*engine, *loaded.tokenizer, text, o.generate));
  CCI_TRY(secure_run(*tls, *fixture, text, m.prompt_tokens, o.generate));
  for (int r = 0; r < o.runs; ++r) {
    for (int k = 0; k < 2; ++k) {
      if ((k == 0) == (r % 2 == 0)) {
        CCI_ASSIGN(s, native_run(*engine, *loaded.tokenizer, text, o.generate));
        m.native.push_back(s);
      } else {
        CCI_ASSIGN(s, secure_run(*tls, *fixture, text, m.prompt_tokens, o.generate));
        m.secure.push_back(s);
      }
    }
    ctx.verbose("run " + std::to_string(r + 1) + "/" + std::to_string(o.runs) + " done");
  }
  tls->close_notify();
  // Where the secure time goes: the worker logs its own prefill and decode times per request.
  auto done = fixture->log_events("completion");
  std::erase_if(done, [](const cli::Json& e) { return e.value("proc", "") != "worker"; });
  for (size_t i = done.size() >= static_cast<size_t>(o.runs) ? done.size() - static_cast<size_t>(o.runs) : 0; i < done.size(); ++i) {
    m.worker_prefill.push_back(done[i].value("prefill_seconds", 0.0));
    const double d = done[i].value("decode_seconds", 0.0);
    m.worker_decode.push_back(d > 0 ? static_cast<double>(o.generate - 1) / d : 0.0);
  }
  const auto verified = fixture->log_events("model_verified");
  const auto ready = fixture->log_events("ready");
  m.one_time = cli::Json{{"server_start_seconds", fixture->server_start_seconds()},
                         {"weight_verification_seconds", verified.empty() ? 0.0 : verified[0].value("seconds", 0.0)},
                         {"attestation_handshake_seconds", summarize(handshakes).to_json()},
                         {"worker_first_request_seconds", first_request},
                         {"worker_ready_seconds", ready.empty() ? 0.0 : ready[0].value("start_seconds", 0.0)}};
  return m;
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
  auto m = measure(o, *bm, work, ctx);
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
