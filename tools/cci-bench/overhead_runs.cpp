#include "overhead_runs.h"

#include <algorithm>
#include <chrono>

#include "infer/engine.h"
#include "infer/generate.h"
#include "serve/http.h"
#include "bench_stats.h"
#include "serve_fixture.h"

namespace cci::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;

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

}  // namespace

Result<Measured> measure_overhead(const OverheadOptions& o, const BenchModel& bm, const std::string& work, const cli::Context& ctx) {
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

}  // namespace cci::tools::bench
