// cci-run generate: local text generation without a server. Tokens stream to stdout as they
// are produced; speed goes to stderr (never the prompt or the text). With no --model, the
// embedded default model.
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <sstream>
#include <thread>

#include "commands.h"
#include "cli/keyless.h"
#include "model_loading.h"
#include "default_model.h"
#include "infer/engine.h"
#include "infer/generate.h"
#include "base/file_io.h"
#include "cli/inputs.h"
#include "infer/model_files.h"
#include "infer/verified_model.h"
#include "manifest/oms.h"

namespace cci::tools::run {
namespace {

struct GenerateCliOptions {
  std::string model, prompt, prompt_ids;
  std::string manifest, key;
  std::string device = "cpu";
  std::int64_t max_tokens = 128, context = 0;
  std::uint64_t seed = 0;
  int threads = 0;
  double temperature = 0.8, top_p = 0.95;
  int top_k = 40;
  bool token_ids = false, no_bos = false, ignore_eos = false, bf16 = false, no_echo = false;
  cli::KeylessFlags release_keyless;  // a keyless release's signer, instead of key
};

// With --manifest (a model bundle or a deployment manifest), every model file is opened once
// and checked against it as it is read.
Result<infer::LoadedModel> load_verified(const GenerateCliOptions& o) {
  if (o.model.empty()) return make_error(ErrorCode::kUsage, "--manifest checks a --model; the embedded model is part of this binary", "manifest");
  CCI_ASSIGN(signer, cli::load_release_signer(o.key, o.release_keyless));
  CCI_ASSIGN(signed_model, load_signed_model(o.model, o.manifest, std::move(signer)));
  return std::move(signed_model.model);  // the mappings outlive the descriptors
}

Result<infer::LoadedModel> load(const GenerateCliOptions& o) {
  if (!o.manifest.empty()) return load_verified(o);
  if (!o.key.empty() || o.release_keyless.given()) return make_error(ErrorCode::kUsage, "--release-key (or --release-identity) names the signer of --signature", "key");
  if (!o.model.empty()) return infer::load_model(o.model);
  return models::load_default_model();
}

Result<std::vector<std::int64_t>> parse_ids(const std::string& text) {
  std::vector<std::int64_t> ids;
  std::istringstream in(text);
  std::string tok;
  while (in >> tok) {
    char* end = nullptr;
    const long long v = std::strtoll(tok.c_str(), &end, 10);
    if (*end != '\0' || v < 0) return make_error(ErrorCode::kUsage, "--prompt-ids takes space-separated token ids, not '" + tok + "'", "prompt-ids");
    ids.push_back(v);
  }
  return ids;
}

Result<std::vector<std::int64_t>> prompt_tokens(const GenerateCliOptions& o, const infer::LoadedModel& m) {
  if (!o.prompt_ids.empty()) {
    if (!o.prompt.empty()) return make_error(ErrorCode::kUsage, "give --prompt or --prompt-ids, not both");
    return parse_ids(o.prompt_ids);
  }
  if (!m.tokenizer) {
    return make_error(ErrorCode::kUsage, m.source + " has no tokenizer: give the prompt as --prompt-ids and read the output with --token-ids",
                      "prompt");
  }
  auto ids = m.tokenizer->encode(o.prompt);
  if (!ids) return ids.error();
  const auto bos = m.tokenizer->bos_id();
  if (!o.no_bos && bos) ids->insert(ids->begin(), *bos);
  return ids;
}

int run_generate(const GenerateCliOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.run.generate.v1";
  // The device first: a build or machine without it is told before a model is read.
  auto device = infer::parse_device(o.device);
  if (!device) return ctx.fail(device.error(), schema);
  if (auto st = infer::check_device(*device); !st) return ctx.fail(st.error(), schema);
  auto model = load(o);
  if (!model) return ctx.fail(model.error(), schema);
  auto prompt = prompt_tokens(o, *model);
  if (!prompt) return ctx.fail(prompt.error(), schema);
  if (!o.token_ids && !model->tokenizer) {
    return ctx.fail(make_error(ErrorCode::kUsage, model->source + " has no tokenizer: add --token-ids to print the generated ids"), schema);
  }
  infer::EngineOptions eo;
  eo.device = *device;
  eo.threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  eo.context = o.context;
  eo.compute = o.bf16 ? infer::Compute::kBF16 : infer::Compute::kF32;
  auto engine = infer::Engine::create(model->config, model->weights, eo);
  if (!engine) return ctx.fail(engine.error(), schema);

  infer::GenerateOptions go;
  go.max_tokens = o.max_tokens;
  go.sampling = {o.temperature, o.top_k, o.top_p, o.seed};
  if (!o.ignore_eos) go.stop_ids = model->config.eos_ids;
  if (!o.ignore_eos && model->tokenizer && model->tokenizer->eos_id() && go.stop_ids.empty()) go.stop_ids.push_back(*model->tokenizer->eos_id());
  const bool stream = !ctx.options().json;
  std::unique_ptr<infer::StreamDecoder> decoder;
  if (model->tokenizer) decoder = std::make_unique<infer::StreamDecoder>(*model->tokenizer, *prompt);
  std::string text;
  bool first = true;
  if (stream && !o.token_ids && !o.no_echo && !o.prompt.empty()) {
    std::fwrite(o.prompt.data(), 1, o.prompt.size(), stdout);  // the continuation follows it
    std::fflush(stdout);
  }
  go.on_token = [&](std::int64_t id) {
    std::string piece = o.token_ids ? (first ? "" : " ") + std::to_string(id) : decoder->push(id);
    first = false;
    text += piece;
    if (stream) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    return !ctx.interrupted().load();
  };
  std::vector<std::int64_t> out;
  auto st = infer::generate(**engine, *prompt, go, out);
  if (decoder && !o.token_ids) {
    const std::string tail = decoder->finish();  // an unfinished last character: U+FFFD
    text += tail;
    if (stream) std::fwrite(tail.data(), 1, tail.size(), stdout);
  }
  if (stream && (!text.empty() || (!o.token_ids && !o.no_echo && !o.prompt.empty()))) {
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }
  if (!st) return ctx.fail(st.error(), schema);
  const double decode_rate = st->decode_seconds > 0 ? static_cast<double>(st->generated) / st->decode_seconds : 0;
  const double prefill_rate = st->prefill_seconds > 0 ? static_cast<double>(st->prompt_tokens) / st->prefill_seconds : 0;
  if (ctx.options().json) {
    ctx.out_json(schema, 0,
                 cli::Json{{"model", model->source},
                           {"prompt_tokens", st->prompt_tokens},
                           {"generated_tokens", st->generated},
                           {"token_ids", out},
                           {"text", o.token_ids ? cli::Json(nullptr) : cli::Json(text)},
                           {"stop_reason", st->stop_reason},
                           {"device", eo.device.text()},
                           {"threads", eo.threads},
                           {"prefill_tokens_per_second", prefill_rate},
                           {"decode_tokens_per_second", decode_rate}});
  }
  char line[200];
  const std::string where = eo.device.is_cuda() ? eo.device.text() : std::to_string(eo.threads) + " threads";
  std::snprintf(line, sizeof line, "%lld tokens, %.1f tokens/s (prefill %lld tokens, %.0f tokens/s; %s; stop: %s)",
                static_cast<long long>(st->generated), decode_rate, static_cast<long long>(st->prompt_tokens), prefill_rate, where.c_str(),
                st->stop_reason.c_str());
  ctx.info(line);
  return 0;
}

}  // namespace

void add_generate(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<GenerateCliOptions>();
  auto* sub = app.add_subcommand("generate", "Generate text locally (no server): the embedded model, or a model directory");
  sub->footer(
      "The model: --model DIR (config.json, model.safetensors or a sharded index, tokenizer.model) or a\n"
      "llama2.c .bin file (no tokenizer: use --prompt-ids and --token-ids). Without --model, the embedded\n"
      "default model (a small Llama trained on the King James Bible; 128-token context).\n"
      "With --manifest and --key, a model file that differs from the signed manifest, or is missing or\n"
      "extra, stops the load (exit 1) before any token is generated.\n"
      "The prompt and its continuation stream to stdout (--no-echo: the continuation only); tokens/s\n"
      "goes to stderr. Sampling is seeded: the same seed, prompt and options give the same text.\n"
      "--temperature 0 is greedy.\n"
      "--device cuda[:N] computes on a GPU in a build against a CUDA libtorch (docs/cuda.md): the verified\n"
      "weights are copied to its memory once; greedy output equals the CPU's up to floating-point ties.\n"
      "Examples:\n"
      "  cci-run generate --prompt 'And God said'\n"
      "  cci-run generate --prompt 'In the beginning' --temperature 0 --max-tokens 40\n"
      "  cci-run generate --model ./tinyllama --signature model.sig --release-key release.pub --prompt 'Hello'\n"
      "  cci-run generate --model stories260K.bin --prompt-ids 1 --token-ids --temperature 0");
  sub->add_option("--model", o->model, "Model directory or llama2.c .bin file (default: the embedded model)");
  cli::add_alias(sub, sub->add_option("--signature", o->manifest, "Signed model bundle (cci-measure model) or deployment manifest: every file is opened once and checked as it is loaded"), "--manifest", o->manifest);
  cli::add_alias(sub, sub->add_option("--release-key", o->key, "The bundle signer's public key (PEM), with --signature"), "--key", o->key);
  cli::add_keyless_flags(sub, o->release_keyless, "release-");
  sub->add_option("--prompt", o->prompt, "Prompt text (a BOS token is put first unless --no-bos)");
  sub->add_option("--prompt-ids", o->prompt_ids, "Prompt as space-separated token ids (instead of --prompt)");
  sub->add_option("--max-tokens", o->max_tokens, "Most tokens to generate")->capture_default_str()->check(CLI::Range(0, 1 << 20));
  sub->add_option("--temperature", o->temperature, "Sampling temperature; 0 is greedy")->capture_default_str();
  sub->add_option("--top-k", o->top_k, "Sample among the k likeliest tokens (0: all)")->capture_default_str();
  sub->add_option("--top-p", o->top_p, "Nucleus sampling mass")->capture_default_str();
  sub->add_option("--seed", o->seed, "Sampling seed")->capture_default_str();
  sub->add_option("-j,--threads", o->threads, "Compute threads (default: all CPUs)");
  sub->add_option("--context", o->context, "KV cache length (default: the model's, at most 4096)");
  sub->add_flag("--token-ids", o->token_ids, "Print generated token ids (space-separated) instead of text");
  sub->add_flag("--no-echo", o->no_echo, "Print only the continuation, not the prompt before it");
  sub->add_flag("--no-bos", o->no_bos, "Do not put the BOS token before the prompt");
  sub->add_flag("--ignore-eos", o->ignore_eos, "Keep generating past end-of-sequence tokens");
  sub->add_flag("--bf16", o->bf16, "Compute in bfloat16 (CPUs with native bf16, or a CUDA device)");
  sub->add_option("--device", o->device, infer::kDeviceHelp)->capture_default_str();
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_generate(*o, ctx); }; });
}

}  // namespace cci::tools::run
