// The libtorch engine against itself and across formats: full-sequence forward equals
// prefill plus incremental decoding; a llama2.c checkpoint (adjacent-pair RoPE) and its
// Hugging Face safetensors copy (rotate_half RoPE, permuted q/k) give the same logits and
// greedy tokens; the shared stories260K checkpoint likewise when present; bad weights refused.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include "infer/decode_cpu.h"
#include "infer/engine.h"
#include "infer/generate.h"
#include "infer/llama2c.h"
#include "support/reference_forward.h"
#include "support/tiny_models.h"

using namespace cci;
using namespace cci::infer;

namespace {

std::shared_ptr<const WeightSet> share(WeightSet w) { return std::make_shared<const WeightSet>(std::move(w)); }

std::unique_ptr<Engine> engine_for(const ModelConfig& c, std::shared_ptr<const WeightSet> w, std::int64_t ctx = 0) {
  EngineOptions o;
  o.context = ctx;
  auto e = Engine::create(c, std::move(w), o);
  REQUIRE_MESSAGE(e, e.error().message);
  return std::move(*e);
}

// float -> IEEE half, truncating the mantissa (small normal values only, as in these weights).
std::uint16_t to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000);
  const int exp = static_cast<int>((x >> 23) & 0xFF) - 127 + 15;
  if (exp <= 0) return sign;
  if (exp >= 31) return static_cast<std::uint16_t>(sign | 0x7C00);
  return static_cast<std::uint16_t>(sign | exp << 10 | (x & 0x7FFFFF) >> 13);
}

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

std::vector<std::int64_t> greedy(Engine& e, const std::vector<std::int64_t>& prompt, std::int64_t n) {
  e.reset();
  GenerateOptions g;
  g.max_tokens = n;
  std::vector<std::int64_t> out;
  auto st = generate(e, prompt, g, out);
  REQUIRE_MESSAGE(st, st.error().message);
  return out;
}

struct TinyModel {
  test::TempDir tmp;
  Checkpoint llama2c;
  ModelConfig hf_config;
  std::shared_ptr<const WeightSet> hf_weights;
  explicit TinyModel(const test::TinyShape& s = {}) {
    test::write_text(tmp.path() / "m.bin", std::string());
    auto bytes = test::tiny_llama2c(s, 7);
    REQUIRE(write_file_atomic(tmp.str("m.bin"), bytes));
    auto c = load_llama2c(tmp.str("m.bin"));
    REQUIRE_MESSAGE(c, c.error().message);
    llama2c = std::move(*c);
    test::write_hf_copy(llama2c, tmp.path() / "hf");
    auto cfg = parse_model_config(test::slurp(tmp.path() / "hf/config.json"));
    REQUIRE_MESSAGE(cfg, cfg.error().message);
    hf_config = *cfg;
    auto w = load_safetensors(tmp.str("hf"));
    REQUIRE_MESSAGE(w, w.error().message);
    hf_weights = share(std::move(*w));
  }
};

}  // namespace

namespace {

test::Get getter(const WeightSet& w) {
  return [&w](const std::string& name) {
    const TensorView* t = w.find(name);
    REQUIRE_MESSAGE(t, name);
    return test::tensor_as_doubles(*t);
  };
}

float max_diff_ref(const std::vector<float>& a, const test::Vec& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return static_cast<float>(m);
}

// A random GPT-2 checkpoint in Hugging Face names (Conv1D weights are in x out).
std::map<std::string, OwnedTensor> tiny_gpt2(const ModelConfig& c, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> w(0, 0.2f), g(1, 0.1f);
  std::map<std::string, OwnedTensor> t;
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape, std::normal_distribution<float>& d) {
    std::int64_t n = 1;
    for (auto x : shape) n *= x;
    Bytes b(static_cast<size_t>(n) * 4);
    for (std::int64_t i = 0; i < n; ++i) {
      const float f = d(rng);
      std::memcpy(b.data() + 4 * i, &f, 4);
    }
    t[name] = OwnedTensor{DType::kF32, std::move(shape), std::move(b)};
  };
  const std::int64_t d = c.hidden, h = c.intermediate;
  add("wte.weight", {c.vocab_size, d}, w);
  add("wpe.weight", {c.max_positions, d}, w);
  add("ln_f.weight", {d}, g);
  add("ln_f.bias", {d}, w);
  for (std::int64_t l = 0; l < c.layers; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    add(p + "ln_1.weight", {d}, g);
    add(p + "ln_1.bias", {d}, w);
    add(p + "attn.c_attn.weight", {d, 3 * d}, w);
    add(p + "attn.c_attn.bias", {3 * d}, w);
    add(p + "attn.c_proj.weight", {d, d}, w);
    add(p + "attn.c_proj.bias", {d}, w);
    add(p + "ln_2.weight", {d}, g);
    add(p + "ln_2.bias", {d}, w);
    add(p + "mlp.c_fc.weight", {d, h}, w);
    add(p + "mlp.c_fc.bias", {h}, w);
    add(p + "mlp.c_proj.weight", {h, d}, w);
    add(p + "mlp.c_proj.bias", {d}, w);
  }
  return t;
}

}  // namespace

TEST_CASE("engine: full-sequence forward equals prefill plus incremental decoding (within 1e-4)") {
  TinyModel m;
  auto e = engine_for(m.hf_config, m.hf_weights);
  const std::vector<std::int64_t> tokens = {1, 5, 9, 33, 2, 60, 17, 4, 4, 12};
  auto all = e->forward_all(tokens);
  REQUIRE(all);
  // Prefill the first 6 at once, then one at a time.
  auto last = e->forward(std::vector<std::int64_t>(tokens.begin(), tokens.begin() + 6));
  REQUIRE(last);
  CHECK(max_diff(*last, (*all)[5]) < 1e-4f);
  for (size_t i = 6; i < tokens.size(); ++i) {
    auto step = e->forward({tokens[i]});
    REQUIRE(step);
    CHECK(max_diff(*step, (*all)[i]) < 1e-4f);
  }
  CHECK(e->position() == 10);
  // forward_all leaves the cache alone: the next step still continues the sequence.
  auto again = e->forward_all(tokens);
  REQUIRE(again);
  CHECK(max_diff((*again)[9], (*all)[9]) == 0.0f);
}

TEST_CASE("engine: direct decode steps equal the reference and the libtorch steps (odd widths, GQA, 1 and 2 threads)") {
  // Widths that are no multiple of the SIMD width, one key/value head for five query heads;
  // with 2 threads every product and attention step is split (the threshold lowered to 1).
  for (const test::TinyShape& shape : {test::TinyShape{40, 52, 2, 5, 1, 64, 64, true}, test::TinyShape{104, 392, 2, 4, 2, 700, 64, false}}) {
    CAPTURE(shape.dim);
    TinyModel m(shape);
    const std::vector<std::int64_t> tokens = {1, 7, 30, 2, 63, 11, 5, 5, 40, 3, 17, 9};
    for (int threads : {1, 2}) {
      CAPTURE(threads);
      for (bool hf : {false, true}) {
        const ModelConfig& c = hf ? m.hf_config : m.llama2c.config;
        auto w = hf ? m.hf_weights : share(m.llama2c.weights);
        auto ref = test::reference_llama(c, getter(*w), tokens);
        EngineOptions o;
        o.threads = threads;
        o.direct_parallel_floats = 1;
        auto direct = Engine::create(c, w, o);
        o.direct_decode = false;
        auto plain = Engine::create(c, w, o);
        REQUIRE(direct);
        REQUIRE(plain);
        CHECK((*direct)->direct_decode());
        CHECK_FALSE((*plain)->direct_decode());
        for (size_t i = 0; i < tokens.size(); ++i) {
          auto a = (*direct)->forward({tokens[i]});
          auto b = (*plain)->forward({tokens[i]});
          REQUIRE(a);
          REQUIRE(b);
          CHECK(max_diff_ref(*a, ref[i]) < 1e-4f);
          CHECK(max_diff(*a, *b) < 1e-4f);
        }
        // A prefill after direct steps continues from the same cache.
        auto all = (*direct)->forward_all(tokens);
        REQUIRE(all);
        (*direct)->reset();
        REQUIRE((*direct)->forward({tokens[0]}));
        auto rest = (*direct)->forward(std::vector<std::int64_t>(tokens.begin() + 1, tokens.end()));
        REQUIRE(rest);
        CHECK(max_diff(*rest, all->back()) < 1e-4f);
      }
    }
  }
}

TEST_CASE("decode kernels: every instruction set's products and attention sums equal a double-precision loop") {
  // Lengths around each SIMD width and its multiples (tails, masks, several 64-float passes).
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const auto kernels = decode_kernels_for_testing();
  REQUIRE(kernels.size() >= 1);
  CHECK(std::string(kernels.front().name) == decode_isa());
  for (const auto& k : kernels) {
    const std::string isa = k.name;
    CAPTURE(isa);
    for (std::int64_t n : {1, 7, 8, 15, 16, 17, 26, 31, 32, 33, 48, 63, 64, 65, 96, 127, 128, 130, 200}) {
      CAPTURE(n);
      const std::int64_t rows = 5;
      std::vector<float> w(static_cast<size_t>(rows * n)), x(static_cast<size_t>(n)), p(static_cast<size_t>(rows));
      for (auto& f : w) f = u(rng);
      for (auto& f : x) f = u(rng);
      for (auto& f : p) f = u(rng);
      std::vector<float> y(static_cast<size_t>(rows) + 1, 99.0f), out(static_cast<size_t>(n) + 1, 99.0f);
      k.rows(w.data(), n, x.data(), y.data(), rows);
      k.weighted_sum(w.data(), rows, n, p.data(), out.data());
      int bad = 0;
      for (std::int64_t r = 0; r < rows; ++r) {
        double e = 0;
        for (std::int64_t i = 0; i < n; ++i) e += static_cast<double>(w[static_cast<size_t>(r * n + i)]) * x[static_cast<size_t>(i)];
        bad += std::fabs(y[static_cast<size_t>(r)] - e) > 1e-4 * (1.0 + std::sqrt(static_cast<double>(n)));
      }
      for (std::int64_t i = 0; i < n; ++i) {
        double e = 0;
        for (std::int64_t t = 0; t < rows; ++t) e += static_cast<double>(p[static_cast<size_t>(t)]) * w[static_cast<size_t>(t * n + i)];
        bad += std::fabs(out[static_cast<size_t>(i)] - e) > 1e-5;
      }
      CHECK(bad == 0);
      // Nothing is written past the end (masked stores).
      CHECK(y[static_cast<size_t>(rows)] == 99.0f);
      CHECK(out[static_cast<size_t>(n)] == 99.0f);
    }
  }
}

TEST_CASE("engine: llama2.c and its safetensors copy give the same logits and greedy tokens") {
  for (bool shared : {true, false}) {
    test::TinyShape s;
    s.shared = shared;
    TinyModel m(s);
    auto a = engine_for(m.llama2c.config, share(m.llama2c.weights));
    auto b = engine_for(m.hf_config, m.hf_weights);
    const std::vector<std::int64_t> prompt = {3, 14, 15, 9, 26};
    auto la = a->forward_all(prompt), lb = b->forward_all(prompt);
    REQUIRE(la);
    REQUIRE(lb);
    for (size_t i = 0; i < prompt.size(); ++i) CHECK(max_diff((*la)[i], (*lb)[i]) < 1e-4f);
    CHECK(greedy(*a, prompt, 40) == greedy(*b, prompt, 40));
  }
}

TEST_CASE("engine: the shared stories260K checkpoint generates the same greedy ids from both loaders") {
  const auto path = test::models_dir() / "stories260K/stories260K.bin";
  if (!std::filesystem::exists(path)) {
    std::cout << "skipped: vectors not found (" << path.string() << ")" << std::endl;
    std::exit(77);
  }
  auto c = load_llama2c(path.string());
  REQUIRE_MESSAGE(c, c.error().message);
  CHECK(c->config.hidden == 64);
  CHECK(c->config.kv_heads == 4);
  test::TempDir tmp;
  test::write_hf_copy(*c, tmp.path());
  auto cfg = parse_model_config(test::slurp(tmp.path() / "config.json"));
  auto w = load_safetensors(tmp.str());
  REQUIRE(cfg);
  REQUIRE(w);
  auto l2c_weights = share(std::move(c->weights));
  auto a = engine_for(c->config, l2c_weights);
  auto b = engine_for(*cfg, share(std::move(*w)));
  const std::vector<std::int64_t> prompt = {1};  // BOS
  auto ga = greedy(*a, prompt, 64), gb = greedy(*b, prompt, 64);
  CHECK(ga == gb);
  // The first 24 greedy ids also follow from the plain C++ reference (run.c in double).
  std::vector<std::int64_t> seq = prompt;
  for (int i = 0; i < 24; ++i) {
    auto logits = test::reference_llama(c->config, getter(*l2c_weights), seq).back();
    seq.push_back(static_cast<std::int64_t>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
  }
  CHECK(std::vector<std::int64_t>(seq.begin() + 1, seq.end()) == std::vector<std::int64_t>(ga.begin(), ga.begin() + 24));
  // A trained model is confident: its greedy path is not a constant or a short loop.
  std::set<std::int64_t> distinct(ga.begin(), ga.end());
  CHECK(distinct.size() > 10);
}

TEST_CASE("engine: weights that do not match config.json are refused, naming the tensor") {
  TinyModel m;
  auto tensors_of = [&] {
    ModelConfig hf;
    auto t = to_hf_llama(m.llama2c, hf);
    REQUIRE(t);
    return std::move(*t);
  };
  auto try_load = [&](const std::map<std::string, OwnedTensor>& t) {
    const std::string file = m.tmp.str("bad.safetensors");
    REQUIRE(write_safetensors(file, t));
    auto w = load_safetensors(file);
    REQUIRE(w);
    auto e = Engine::create(m.hf_config, share(std::move(*w)), {});
    REQUIRE_FALSE(e);
    return e.error();
  };
  SUBCASE("a missing tensor") {
    auto t = tensors_of();
    t.erase("model.layers.1.mlp.up_proj.weight");
    CHECK(try_load(t).field == "model.layers.1.mlp.up_proj.weight");
  }
  SUBCASE("a wrong shape") {
    auto t = tensors_of();
    auto& w = t.at("model.layers.0.self_attn.k_proj.weight");
    w.shape = {w.shape[1], w.shape[0]};
    CHECK(try_load(t).message.find("has shape [32, 16] but config.json implies [16, 32]") != std::string::npos);
  }
  SUBCASE("a wrong dtype") {
    auto t = tensors_of();
    t.at("model.norm.weight").dtype = DType::kI32;
    CHECK(try_load(t).message.find("dtype I32") != std::string::npos);
  }
  SUBCASE("an extra tensor") {
    auto t = tensors_of();
    t["model.layers.9.extra.weight"] = OwnedTensor{DType::kF32, {1}, Bytes(4, 0)};
    CHECK(try_load(t).field == "model.layers.9.extra.weight");
  }
  SUBCASE("fp16 weights are converted at load and agree with fp32") {
    auto t = tensors_of();
    for (auto& [name, x] : t) {
      Bytes h(x.data.size() / 2);
      for (size_t i = 0; i < h.size() / 2; ++i) {
        float f;
        std::memcpy(&f, x.data.data() + 4 * i, 4);
        const std::uint16_t bits = to_half(f);
        std::memcpy(h.data() + 2 * i, &bits, 2);
      }
      x = OwnedTensor{DType::kF16, x.shape, std::move(h)};
    }
    REQUIRE(write_safetensors(m.tmp.str("f16.safetensors"), t));
    auto w = load_safetensors(m.tmp.str("f16.safetensors"));
    REQUIRE(w);
    auto e16 = engine_for(m.hf_config, share(std::move(*w)));
    auto e32 = engine_for(m.hf_config, m.hf_weights);
    auto a = e16->forward({1, 2, 3}), b = e32->forward({1, 2, 3});
    REQUIRE(a);
    REQUIRE(b);
    CHECK(max_diff(*a, *b) < 0.05f);
  }
}

TEST_CASE("engine: a prompt longer than the context, bad token ids, bad options") {
  TinyModel m;
  auto e = engine_for(m.hf_config, m.hf_weights, 8);
  std::vector<std::int64_t> out;
  auto g = generate(*e, std::vector<std::int64_t>(9, 1), {}, out);
  REQUIRE_FALSE(g);
  CHECK(g.error().field == "prompt");
  CHECK_FALSE(e->forward({64}));  // vocab is 64
  CHECK_FALSE(e->forward({-1}));
  CHECK_FALSE(e->forward({}));
  GenerateOptions go;
  go.max_tokens = 100;
  auto full = generate(*e, {1, 2}, go, out);
  REQUIRE(full);
  CHECK(full->stop_reason == "context full");
  CHECK(out.size() == 7);  // 2 prompt tokens + 6 decoded fill the 8 positions, the 7th sampled from the last
  EngineOptions bad;
  bad.context = m.hf_config.max_positions + 1;
  CHECK_FALSE(Engine::create(m.hf_config, m.hf_weights, bad));
  bad = {};
  bad.threads = 0;
  CHECK_FALSE(Engine::create(m.hf_config, m.hf_weights, bad));
}

TEST_CASE("sampling: seeded, temperature, top-k and top-p restrict the choice") {
  std::vector<float> logits = {0.0f, 5.0f, 4.9f, -3.0f, 1.0f};
  CHECK(Sampler({}).sample(logits) == 1);
  SamplingOptions o;
  o.temperature = 1;
  o.seed = 42;
  Sampler a(o), b(o);
  std::vector<std::int64_t> sa, sb;
  for (int i = 0; i < 50; ++i) {
    sa.push_back(a.sample(logits));
    sb.push_back(b.sample(logits));
  }
  CHECK(sa == sb);
  o.top_k = 2;
  Sampler k(o);
  for (int i = 0; i < 200; ++i) {
    auto t = k.sample(logits);
    CHECK((t == 1 || t == 2));
  }
  o.top_k = 0;
  o.top_p = 0.3;  // token 1 alone holds ~50 % of the mass
  Sampler p(o);
  for (int i = 0; i < 200; ++i) CHECK(p.sample(logits) == 1);
  o.top_p = 0;
  CHECK_FALSE(check_sampling(o));
}


TEST_CASE("engine: logits equal a plain C++ reference (llama2.c run.c) for both RoPE layouts") {
  TinyModel m;
  const std::vector<std::int64_t> tokens = {1, 7, 30, 2, 63, 11};
  auto ref = test::reference_llama(m.llama2c.config, getter(m.llama2c.weights), tokens);
  auto a = engine_for(m.llama2c.config, share(m.llama2c.weights))->forward_all(tokens);
  auto b = engine_for(m.hf_config, m.hf_weights)->forward_all(tokens);
  REQUIRE(a);
  REQUIRE(b);
  for (size_t i = 0; i < tokens.size(); ++i) {
    CHECK(max_diff_ref((*a)[i], ref[i]) < 1e-4f);
    CHECK(max_diff_ref((*b)[i], ref[i]) < 1e-4f);
  }
}

TEST_CASE("engine: GPT-2 equals the reference and its own incremental decoding") {
  auto cfg = parse_model_config(as_bytes(R"({"model_type":"gpt2","vocab_size":50,"n_embd":32,"n_layer":2,"n_head":4,"n_positions":32})"));
  REQUIRE(cfg);
  test::TempDir tmp;
  REQUIRE(write_safetensors(tmp.str("model.safetensors"), tiny_gpt2(*cfg, 5)));
  auto w = load_safetensors(tmp.str("model.safetensors"));
  REQUIRE(w);
  auto weights = share(std::move(*w));
  const std::vector<std::int64_t> tokens = {3, 1, 4, 1, 5, 9, 2, 6};
  auto ref = test::reference_gpt2(*cfg, getter(*weights), tokens);
  auto e = engine_for(*cfg, weights);
  auto all = e->forward_all(tokens);
  REQUIRE(all);
  for (size_t i = 0; i < tokens.size(); ++i) CHECK(max_diff_ref((*all)[i], ref[i]) < 1e-4f);
  auto pre = e->forward({3, 1, 4});
  REQUIRE(pre);
  CHECK(max_diff(*pre, (*all)[2]) < 1e-4f);
  for (size_t i = 3; i < tokens.size(); ++i) {
    auto step = e->forward({tokens[i]});
    REQUIRE(step);
    CHECK(max_diff(*step, (*all)[i]) < 1e-4f);
  }
}

TEST_CASE("engine: bf16 compute only on CPUs with native bf16, and then close to fp32") {
  TinyModel m;
  EngineOptions o;
  o.compute = Compute::kBF16;
  auto e = Engine::create(m.hf_config, m.hf_weights, o);
  if (!cpu_has_native_bf16()) {
    REQUIRE_FALSE(e);
    CHECK(e.error().field == "compute");
    return;
  }
  REQUIRE_MESSAGE(e, e.error().message);
  auto a = (*e)->forward({1, 2, 3});
  auto b = engine_for(m.hf_config, m.hf_weights)->forward({1, 2, 3});
  REQUIRE(a);
  REQUIRE(b);
  CHECK(max_diff(*a, *b) < 0.1f);
}

TEST_CASE("engine: RoPE scaling (llama3 and linear) as the reference computes it") {
  TinyModel m;  // head_dim 8: pair frequencies 1, 0.1, 0.01, 0.001
  const std::vector<std::int64_t> tokens = {1, 9, 17, 25, 33, 41, 49, 57, 2, 3, 4, 5};
  for (const char* type : {"llama3", "linear"}) {
    CAPTURE(type);
    ModelConfig c = m.hf_config;
    c.rope_scaling.type = type;
    c.rope_scaling.factor = 8;
    c.rope_scaling.low_freq_factor = 1;
    c.rope_scaling.high_freq_factor = 4;
    c.rope_scaling.original_max_position = 16;  // wavelengths 6.3 (smoothed), 63, 628, 6283 (scaled)
    auto ref = test::reference_llama(c, getter(*m.hf_weights), tokens);
    auto unscaled = test::reference_llama(m.hf_config, getter(*m.hf_weights), tokens);
    auto got = engine_for(c, m.hf_weights)->forward_all(tokens);
    REQUIRE(got);
    for (size_t i = 0; i < tokens.size(); ++i) CHECK(max_diff_ref((*got)[i], ref[i]) < 1e-4f);
    CHECK(max_diff_ref((*got)[11], unscaled[11]) > 1e-3f);  // the scaling changed something
  }
}

TEST_CASE("device: --device takes cpu, cuda or cuda:N and names the flag otherwise") {
  auto cpu = parse_device("cpu");
  REQUIRE(cpu);
  CHECK_FALSE(cpu->is_cuda());
  CHECK(cpu->text() == "cpu");
  auto cuda = parse_device("cuda");
  REQUIRE(cuda);
  CHECK(*cuda == Device{DeviceKind::kCuda, 0});
  auto three = parse_device("cuda:3");
  REQUIRE(three);
  CHECK(three->index == 3);
  CHECK(three->text() == "cuda:3");
  for (const char* bad : {"", "gpu", "CUDA", "cuda:", "cuda:-1", "cuda:64", "cuda:1x", "cuda:007", " cuda", "cpu:0", "mps"}) {
    auto d = parse_device(bad);
    REQUIRE_FALSE_MESSAGE(d, bad);
    CHECK(d.error().code == ErrorCode::kUsage);
    CHECK(d.error().field == "device");
  }
}

// A build against Debian's libtorch (CPU only) refuses CUDA before touching a weight, saying why;
// a CUDA build on a machine with a GPU computes there what the CPU computes.
TEST_CASE("engine: --device cuda computes what the CPU computes, or is refused naming the device") {
  TinyModel m;
  EngineOptions o;
  o.device = Device{DeviceKind::kCuda, 0};
  o.context = 32;
  auto e = Engine::create(m.hf_config, m.hf_weights, o);
  if (!check_device(o.device)) {
    REQUIRE_FALSE(e);
    CHECK(e.error().field == "device");
    CHECK(e.error().code == ErrorCode::kUnsupported);
    // Either refusal: "this build's libtorch has no CUDA" or "no CUDA device is visible".
    CHECK(e.error().message.find("--device cuda:0: ") == 0);
    CHECK(e.error().message.find("no CUDA") != std::string::npos);
    MESSAGE("no CUDA device in this build or machine: the refusal was checked, not the GPU path");
    return;
  }
  REQUIRE_MESSAGE(e, e.error().message);
  CHECK((*e)->device().is_cuda());
  CHECK_FALSE((*e)->direct_decode());
  auto cpu = engine_for(m.hf_config, m.hf_weights, 32);
  const std::vector<std::int64_t> prompt = {1, 5, 9, 2};
  auto a = (*e)->forward(prompt), b = cpu->forward(prompt);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(max_diff(*a, *b) < 1e-3f);
  CHECK(greedy(**e, prompt, 12) == greedy(*cpu, prompt, 12));
  o.device.index = 63;
  auto far = Engine::create(m.hf_config, m.hf_weights, o);
  REQUIRE_FALSE(far);
  CHECK(far.error().field == "device");
}
