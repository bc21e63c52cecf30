// cci-bench infer: prefill and decode tokens/s of the engine on a given model or a random-weight
// model of a named shape, with this machine's memory bandwidth and matrix-multiply rate (the
// best fp32 product through the engine's BLAS: square, and the prefill's own shapes) measured
// in the same run. Decode is bound by memory bandwidth (every weight is read once per token):
//   decode efficiency  = weight bytes x decode tokens/s / read bandwidth  (goal >= 0.7)
// where the read bandwidth is that of summing the same weights, where they are mapped (on a
// CUDA device, --device cuda: summing a 1 GiB buffer in its memory, the decode roofline).
//   prefill efficiency = 2 x matrix parameters x prefill tokens/s / measured matmul rate  (goal >= 0.5)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <thread>

#include "bench_models.h"
#include "bench_util.h"
#include "commands.h"
#include "default_model.h"
#include "infer/engine.h"
#include "infer/generate.h"
#include "infer/model_files.h"

namespace cci::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct InferBenchOptions {
  std::string model, shape;
  std::string threads = "1,2";
  std::int64_t prompt = 0, decode = 0;  // 0: 128 and 64, or less for a short context
  int repeats = 3;
  double goal_decode = 0.7, goal_prefill = 0.5;
  bool check = false;
  std::string decode_path = "direct";  // or "libtorch"
  std::string device_text = "cpu";
  infer::Device device;
};

// Multiply-adds per prefill token: every matrix the engine multiplies by (the input embedding
// table is a lookup, not a product; attention scores are left out, small at these lengths).
double matmul_parameters(const infer::LoadedModel& m) {
  const auto& c = m.config;
  const double table = static_cast<double>(c.vocab_size) * static_cast<double>(c.hidden);
  return static_cast<double>(c.parameter_count()) - (c.tied_embeddings ? 0.0 : table);
}

struct Row {
  int threads = 0;
  double bandwidth = 0, matmul = 0, prefill = 0, decode = 0, decode_eff = 0, prefill_eff = 0;
};

Result<Row> run_threads(const infer::LoadedModel& m, const InferBenchOptions& o, int threads) {
  Row r;
  r.threads = threads;
  if (o.device.is_cuda()) {
    CCI_ASSIGN(gbs, infer::measure_device_read_gbs(o.device));
    r.bandwidth = gbs;
  } else {
    r.bandwidth = measure_weight_bandwidth(m, threads);
  }
  // The reference is the best rate the machine's GEMM reaches: a square product and the
  // prefill's own shapes (prompt x hidden by hidden x intermediate, and back).
  const auto& c = m.config;
  const infer::Device& d = o.device;
  r.matmul = std::max({infer::measure_matmul_gflops(threads, 1024, 1024, 1024, d), infer::measure_matmul_gflops(threads, 2048, 2048, 2048, d),
                       infer::measure_matmul_gflops(threads, o.prompt, c.hidden, c.intermediate, d),
                       infer::measure_matmul_gflops(threads, o.prompt, c.intermediate, c.hidden, d)});
  infer::EngineOptions eo;
  eo.device = o.device;
  eo.threads = threads;
  eo.direct_decode = o.decode_path == "direct";
  eo.context = std::min<std::int64_t>(m.config.max_positions, o.prompt + o.decode + 1);
  auto e = infer::Engine::create(m.config, m.weights, eo);
  if (!e) return e.error();
  std::vector<std::int64_t> prompt(static_cast<size_t>(o.prompt));
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<std::int64_t>((i * 7919 + 1) % static_cast<size_t>(m.config.vocab_size));
  double best_prefill = 1e30, best_decode = 1e30;
  for (int rep = 0; rep < o.repeats; ++rep) {
    (*e)->reset();
    infer::GenerateOptions g;
    g.max_tokens = o.decode;
    std::vector<std::int64_t> out;
    auto st = infer::generate(**e, prompt, g, out);
    if (!st) return st.error();
    best_prefill = std::min(best_prefill, st->prefill_seconds);
    // N generated tokens take N - 1 one-token steps (the first comes from the prefill).
    if (st->generated > 1) best_decode = std::min(best_decode, st->decode_seconds / static_cast<double>(st->generated - 1));
  }
  r.prefill = static_cast<double>(o.prompt) / best_prefill;
  r.decode = 1.0 / best_decode;
  r.decode_eff = weight_bytes(m) * r.decode / (r.bandwidth * 1e9);
  r.prefill_eff = 2.0 * matmul_parameters(m) * r.prefill / (r.matmul * 1e9);
  return r;
}

// Random weights of a named shape are written to a scratch directory and mapped from the page
// cache, as cci-run maps a model: how the kernel backs the mapping (contiguous large folios or
// scattered 4 KiB pages) moves decode speed by a third, so weights in the benchmark's own heap
// would measure something no server runs. The files are written back and dropped from the cache
// first, then read in once through the mapping before anything is timed.
Result<infer::LoadedModel> model_of(const InferBenchOptions& o) {
  if (!o.model.empty() && !o.shape.empty()) return make_error(ErrorCode::kUsage, "give --model or --shape, not both");
  if (!o.model.empty()) return infer::load_model(o.model);
  if (o.shape.empty()) return models::load_default_model();
  CCI_ASSIGN(scratch, ScratchDir::create("cci-bench-infer"));
  CCI_ASSIGN(dir, prepare_model_dir("", o.shape, scratch.path()));  // written back and dropped from the cache
  CCI_ASSIGN(m, infer::load_model(dir.dir));  // the mappings outlive the scratch directory's files
  volatile std::uint8_t sink = 0;
  for (const auto& [name, t] : m.weights->tensors) {
    for (size_t i = 0; i < t.data.size(); i += 4096) sink = static_cast<std::uint8_t>(sink + t.data.data()[i]);
  }
  m.source = "random " + o.shape;
  return m;
}

int run_infer(InferBenchOptions o, const cli::Context& ctx) {
  const std::string schema = "cci.bench.infer.v1";
  auto threads = parse_int_list(o.threads, 1, 256, "threads");
  if (!threads) return ctx.fail(threads.error(), schema);
  auto device = infer::parse_device(o.device_text);
  if (!device) return ctx.fail(device.error(), schema);
  o.device = *device;
  if (auto st = infer::check_device(o.device); !st) return ctx.fail(st.error(), schema);
  auto m = model_of(o);
  if (!m) return ctx.fail(m.error(), schema);
  if (o.prompt == 0) o.prompt = std::min<std::int64_t>(128, m->config.max_positions / 2);
  if (o.decode == 0) o.decode = std::min<std::int64_t>(64, m->config.max_positions / 4);
  if (o.prompt < 1 || o.decode < 2 || o.prompt + o.decode >= m->config.max_positions) {
    return ctx.fail(make_error(ErrorCode::kUsage, "--prompt and --decode (at least 2) must fit the model's " +
                                                      std::to_string(m->config.max_positions) + "-token context"),
                    schema);
  }
  std::string path = "libtorch";
  if (o.device.is_cuda()) {
    path = "libtorch on " + o.device.text();
  } else if (o.decode_path == "direct") {
    infer::EngineOptions probe;
    probe.context = 2;
    auto e = infer::Engine::create(m->config, m->weights, probe);
    if (!e) return ctx.fail(e.error(), schema);
    if ((*e)->direct_decode()) path = std::string("direct ") + infer::direct_decode_isa();
  }
  // Prefill's products run on OpenBLAS's kernels for this CPU, unless OPENBLAS_CORETYPE names others
  // (on one VM a Haswell setting prefilled 1.5 x slower than the CPU's own choice).
  const std::string blas = o.device.is_cuda() ? std::string() : infer::blas_kernels();
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  const std::string blas_forced = forced && !blas.empty() ? forced : "";
  std::vector<Row> rows;
  for (int t : *threads) {
    ctx.info("measuring with " + std::to_string(t) + " thread(s)...");
    auto r = run_threads(*m, o, t);
    if (!r) return ctx.fail(r.error(), schema);
    rows.push_back(*r);
  }
  bool met = true;
  for (const auto& r : rows) met = met && r.decode_eff >= o.goal_decode && r.prefill_eff >= o.goal_prefill;
  const int code = o.check && !met ? 1 : 0;
  if (ctx.options().json) {
    cli::Json list = cli::Json::array();
    for (const auto& r : rows) {
      list.push_back({{"threads", r.threads},
                      {"read_bandwidth_gb_s", r.bandwidth},
                      {"matmul_gflop_s", r.matmul},
                      {"prefill_tokens_s", r.prefill},
                      {"decode_tokens_s", r.decode},
                      {"decode_efficiency", r.decode_eff},
                      {"prefill_efficiency", r.prefill_eff}});
    }
    ctx.out_json(schema, code,
                 {{"result", met ? "pass" : "fail"},
                  {"machine", machine_basics()},
                  {"model", m->source},
                  {"parameters", m->config.parameter_count()},
                  {"weight_bytes", weight_bytes(*m)},
                  {"prompt_tokens", o.prompt},
                  {"decode_tokens", o.decode},
                  {"decode_path", path},
                  {"prefill_blas", {{"kernels", blas}, {"openblas_coretype", blas_forced.empty() ? cli::Json() : cli::Json(blas_forced)}}},
                  {"device", o.device.text()},
                  {"goals", {{"decode_efficiency", o.goal_decode}, {"prefill_efficiency", o.goal_prefill}}},
                  {"goals_met", met},
                  {"rows", list}});
    return code;
  }
  char line[256];
  std::snprintf(line, sizeof line, "model: %s, %.1f M parameters, %.1f MB of weights read per token; decode: %s", m->source.c_str(),
                static_cast<double>(m->config.parameter_count()) / 1e6, weight_bytes(*m) / 1e6, path.c_str());
  ctx.out(line);
  if (!blas.empty()) {
    ctx.out("prefill: libtorch over OpenBLAS's " + blas + " kernels" +
            (blas_forced.empty() ? std::string(" (its choice for this CPU)")
                                 : std::string(", named by OPENBLAS_CORETYPE (unset it to let OpenBLAS choose for this CPU)")));
  }
  ctx.out("threads  bandwidth GB/s  matmul GFLOP/s  prefill tok/s  decode tok/s  decode eff  prefill eff");
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "%7d  %14.1f  %14.1f  %13.1f  %12.1f  %10.2f  %11.2f", r.threads, r.bandwidth, r.matmul, r.prefill, r.decode,
                  r.decode_eff, r.prefill_eff);
    ctx.out(line);
  }
  std::snprintf(line, sizeof line, "goals: decode efficiency >= %.2f, prefill efficiency >= %.2f: %s", o.goal_decode, o.goal_prefill,
                met ? "met" : "NOT met");
  ctx.out(line);
  return code;
}

}  // namespace

void add_infer(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<InferBenchOptions>();
  auto* sub = app.add_subcommand("infer", "Prefill and decode speed against this machine's memory bandwidth and matmul rate");
  sub->footer(
      "Decode efficiency = weight bytes x decode tokens/s / read bandwidth (goal 0.7); prefill efficiency =\n"
      "2 x parameters x prefill tokens/s / matmul GFLOP/s (goal 0.5). Bandwidth and matmul rate (the best of a\n"
      "square GEMM and the prefill's own shapes) are measured in the same run, per thread count; with --device cuda,\n"
      "on the GPU (the bandwidth: summing 1 GiB in its memory). Decode runs\n"
      "through the engine's direct kernels (f32 Llama models) unless --decode-path libtorch. Random-weight\n"
      "shapes: 15M, 110M (llama2.c stories), 1B (TinyLlama).\n"
      "Examples:\n"
      "  cci-bench infer --shape 110M --threads 1,2\n"
      "  cci-bench infer --model ./tinyllama --threads 2 --json\n"
      "  cci-bench infer --shape 110M --check     # exit 1 when a goal is missed\n"
      "  cci-bench infer --shape 1B --device cuda --threads 1 --json   # a CUDA build on a GPU (docs/cuda.md)");
  sub->add_option("--model", o->model, "Model directory or llama2.c file (default: the embedded model)");
  sub->add_option("--shape", o->shape, "Random weights of a named shape: 15M, 110M, 1B");
  sub->add_option("-j,--threads", o->threads, "Thread counts to measure, comma-separated")->capture_default_str();
  sub->add_option("--prompt", o->prompt, "Prompt tokens (prefill; default 128, at most half the context)");
  sub->add_option("--decode", o->decode, "Tokens to decode (default 64, at most a quarter of the context)");
  sub->add_option("--repeats", o->repeats, "Runs per thread count (best is kept)")->capture_default_str()->check(CLI::Range(1, 100));
  sub->add_flag("--check", o->check, "Exit 1 when a goal is missed");
  sub->add_option("--device", o->device_text, infer::kDeviceHelp)->capture_default_str();
  sub->add_option("--decode-path", o->decode_path, "One-token steps through the engine's direct kernels or through libtorch (to compare)")
      ->capture_default_str()
      ->check(CLI::IsMember({"direct", "libtorch"}));
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_infer(*o, ctx); }; });
}

}  // namespace cci::tools::bench
