// cci-train: trains the embedded default model (a small Llama) on the King James Bible from
// Debian's bible-kjv package, on the CPU with libtorch, and writes it as a Hugging Face style
// checkpoint: model.safetensors (F32), config.json, tokenizer.model (SentencePiece, trained
// here too, by Debian's spm_train) and training.json (the figures). Fixed seed; reruns agree up to the last bits of
// multi-threaded float sums. See models/kjv-tiny/README.md for the exact command.
//
// libsentencepiece cannot share a process with libtorch on Debian 12 (it carries its own
// protobuf 3.14 runtime, libtorch loads protobuf 3.21: the process dies at load), so the
// tokenizer is trained and the corpus encoded by the sentencepiece command-line tools.
//
// The network is the engine's Llama (infer/engine.cpp) written with autograd: RMSNorm, RoPE in
// rotate_half order, grouped-query attention, SwiGLU, tied embeddings, Hugging Face names.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sys/wait.h>
#include <unistd.h>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "infer/model_config.h"
#include "infer/safetensors.h"
#include "train_model.h"

namespace {

namespace fs = std::filesystem;
using torch::Tensor;
using cci::infer::ModelConfig;
using cci::train::Model;
using cci::train::batch_of;
using cci::train::evaluate;
using cci::train::unigram_loss;

struct Options {
  std::string text;  // verses, one per line ("Ge1:1 In the beginning ..."); empty: run `bible`
  std::string out = "models/kjv-tiny";
  int vocab = 1024, dim = 128, layers = 4, heads = 4, kv_heads = 2, hidden = 384, seq = 128, batch = 24;
  int steps = 1600, warmup = 80, threads = 2, eval_every = 200;
  double lr = 3e-3, min_lr = 3e-4, weight_decay = 0.1;
  std::uint64_t seed = 1234;
};

// The verses without their references ("Ge1:1 "), in canonical order.
std::vector<std::string> read_verses(const Options& o) {
  std::string text;
  if (o.text.empty()) {
    FILE* p = ::popen("bible -f 'Gen1:1-Rev22:21'", "r");
    if (!p) throw std::runtime_error("cannot run bible (Debian package bible-kjv)");
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
    if (::pclose(p) != 0) throw std::runtime_error("bible failed (is the bible-kjv package installed?)");
  } else {
    std::ifstream f(o.text);
    text.assign(std::istreambuf_iterator<char>(f), {});
  }
  std::vector<std::string> verses;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto sp = line.find(' ');
    if (sp == std::string::npos || line.find(':') > sp) continue;
    verses.push_back(line.substr(sp + 1));
  }
  if (verses.size() < 100) throw std::runtime_error("too few verses in the corpus");
  return verses;
}

// Every 20th verse is held out for validation.
bool held_out(size_t i) { return i % 20 == 19; }

// Runs a command (no shell: arguments as given) with stdin and stdout redirected to files.
void run(const std::vector<std::string>& argv, const std::string& in, const std::string& out) {
  const pid_t pid = ::fork();  // no torch has run yet in this process (see DESIGN: never fork after)
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (!in.empty() && !std::freopen(in.c_str(), "r", stdin)) ::_exit(126);
    if (!out.empty() && !std::freopen(out.c_str(), "w", stdout)) ::_exit(126);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(argv[0] + " failed (exit " + std::to_string(WEXITSTATUS(status)) + "; Debian package sentencepiece)");
  }
}

void write_lines(const fs::path& file, const std::vector<std::string>& verses, bool validation) {
  std::ofstream f(file);
  for (size_t i = 0; i < verses.size(); ++i) {
    if (held_out(i) == validation) f << verses[i] << "\n";
  }
}

// A BPE SentencePiece model with byte fallback and the identity normalizer (what the engine's
// own SentencePiece reader implements; Llama's tokenizer.model is of the same kind).
std::string train_tokenizer(const Options& o, const fs::path& work) {
  const std::string prefix = (work / "tokenizer").string();
  run({"spm_train", "--input=" + (work / "train.txt").string(), "--model_prefix=" + prefix, "--vocab_size=" + std::to_string(o.vocab),
       "--model_type=bpe", "--character_coverage=1.0", "--byte_fallback=true", "--normalization_rule_name=identity",
       "--remove_extra_whitespaces=false", "--split_digits=true", "--bos_id=1", "--eos_id=2", "--unk_id=0", "--pad_id=-1",
       "--num_threads=" + std::to_string(o.threads), "--minloglevel=2"},
      "", (work / "spm_train.log").string());
  return prefix + ".model";
}

// BOS verse EOS, concatenated, from spm_encode's one line of ids per verse.
std::vector<std::int64_t> encode(const std::string& model, const fs::path& text, const fs::path& work) {
  const fs::path ids = work / (text.stem().string() + ".ids");
  run({"spm_encode", "--model=" + model, "--output_format=id"}, text.string(), ids.string());
  std::vector<std::int64_t> out;
  std::ifstream f(ids);
  std::string line;
  while (std::getline(f, line)) {
    out.push_back(1);
    std::istringstream in(line);
    std::int64_t id;
    while (in >> id) out.push_back(id);
    out.push_back(2);
  }
  return out;
}

void save(const Model& m, const fs::path& out, const std::string& tokenizer_model, const nlohmann::json& figures) {
  std::map<std::string, cci::infer::OwnedTensor> t;
  for (const auto& [name, x] : m.p) {
    Tensor c = x.detach().contiguous();
    cci::Bytes b(static_cast<size_t>(c.numel()) * 4);
    std::memcpy(b.data(), c.data_ptr<float>(), b.size());
    t[name] = cci::infer::OwnedTensor{cci::infer::DType::kF32, c.sizes().vec(), std::move(b)};
  }
  fs::create_directories(out);
  auto st = cci::infer::write_safetensors((out / "model.safetensors").string(), t, {{"format", "pt"}});
  if (!st) throw std::runtime_error(st.error().message);
  const std::string cfg = cci::infer::model_config_json(m.c);
  if (!cci::write_file_atomic((out / "config.json").string(), cci::as_bytes(cfg))) throw std::runtime_error("write config.json");
  fs::copy_file(tokenizer_model, out / "tokenizer.model", fs::copy_options::overwrite_existing);
  const std::string fig = figures.dump(2) + "\n";
  if (!cci::write_file_atomic((out / "training.json").string(), cci::as_bytes(fig))) throw std::runtime_error("write training.json");
}

int train(const Options& o) {
  torch::manual_seed(o.seed);
  torch::set_num_threads(o.threads);
  std::mt19937_64 rng(o.seed);
  const auto t_start = std::chrono::steady_clock::now();
  auto verses = read_verses(o);
  const fs::path work = fs::temp_directory_path() / ("cci-train-" + std::to_string(::getpid()));
  fs::create_directories(work);
  write_lines(work / "train.txt", verses, false);
  write_lines(work / "validation.txt", verses, true);
  const std::string tok = train_tokenizer(o, work);
  const auto train_ids = encode(tok, work / "train.txt", work);
  const auto val_ids = encode(tok, work / "validation.txt", work);
  std::cerr << verses.size() << " verses; " << train_ids.size() << " training and " << val_ids.size() << " validation tokens\n";

  ModelConfig c;
  c.vocab_size = o.vocab;
  c.hidden = o.dim;
  c.intermediate = o.hidden;
  c.layers = o.layers;
  c.heads = o.heads;
  c.kv_heads = o.kv_heads;
  c.head_dim = o.dim / o.heads;
  c.max_positions = o.seq;
  c.norm_eps = 1e-5;
  c.tied_embeddings = true;
  c.bos_ids = {1};
  c.eos_ids = {2};
  c.torch_dtype = "float32";
  Model m(c);
  torch::optim::AdamW opt(m.parameters(), torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(o.weight_decay));
  const double unigram = unigram_loss(train_ids, val_ids, o.vocab, o.seq);
  std::cerr << "unigram validation loss " << unigram << " nats/token\n";
  double last_train = 0, last_val = 0;
  for (int step = 1; step <= o.steps; ++step) {
    const double progress = static_cast<double>(step - o.warmup) / std::max(1, o.steps - o.warmup);
    const double lr = step <= o.warmup ? o.lr * step / o.warmup : o.min_lr + 0.5 * (o.lr - o.min_lr) * (1 + std::cos(M_PI * progress));
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    auto [x, y] = batch_of(train_ids, o.batch, o.seq, rng);
    Tensor loss = torch::nn::functional::cross_entropy(m.logits(x).view({-1, o.vocab}), y.view({-1}));
    opt.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(m.parameters(), 1.0);
    opt.step();
    last_train = loss.item<double>();
    if (step % o.eval_every == 0 || step == o.steps) {
      last_val = evaluate(m, val_ids, o.seq);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
      std::fprintf(stderr, "step %d/%d  train %.3f  val %.3f  (unigram %.3f)  %.0f s\n", step, o.steps, last_train, last_val, unigram, secs);
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  nlohmann::json fig = {{"corpus", "bible-kjv (Debian), every 20th verse held out"},
                        {"verses", verses.size()},
                        {"train_tokens", train_ids.size()},
                        {"validation_tokens", val_ids.size()},
                        {"steps", o.steps},
                        {"batch", o.batch},
                        {"seq", o.seq},
                        {"seed", o.seed},
                        {"threads", o.threads},
                        {"parameters", c.parameter_count()},
                        {"final_train_loss", last_train},
                        {"validation_loss", last_val},
                        {"unigram_validation_loss", unigram},
                        {"seconds", std::round(secs)}};
  save(m, o.out, tok, fig);
  fs::remove_all(work);
  std::cerr << "wrote " << o.out << " in " << secs << " s: validation loss " << last_val << " vs unigram " << unigram << " nats/token\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app("cci-train: train the embedded default model (small Llama) on the KJV Bible, on the CPU");
  app.add_option("--text", o.text, "Verses, one per line, each after a reference and a space (default: the output of `bible`)");
  app.add_option("--out", o.out, "Output directory")->capture_default_str();
  app.add_option("--steps", o.steps, "Optimizer steps")->capture_default_str();
  app.add_option("--batch", o.batch, "Sequences per step")->capture_default_str();
  app.add_option("--seq", o.seq, "Tokens per sequence (also the model's context)")->capture_default_str();
  app.add_option("--vocab", o.vocab, "SentencePiece vocabulary size")->capture_default_str();
  app.add_option("--dim", o.dim, "Model width")->capture_default_str();
  app.add_option("--layers", o.layers, "Transformer layers")->capture_default_str();
  app.add_option("--heads", o.heads, "Attention heads")->capture_default_str();
  app.add_option("--kv-heads", o.kv_heads, "Key/value heads (grouped-query attention)")->capture_default_str();
  app.add_option("--hidden", o.hidden, "SwiGLU width")->capture_default_str();
  app.add_option("--lr", o.lr, "Peak learning rate")->capture_default_str();
  app.add_option("--eval-every", o.eval_every, "Validation every N steps")->capture_default_str();
  app.add_option("--threads", o.threads, "CPU threads")->capture_default_str();
  app.add_option("--seed", o.seed, "Random seed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    return train(o);
  } catch (const std::exception& e) {
    std::cerr << "cci-train: error: " << e.what() << "\n";
    return 4;
  }
}
