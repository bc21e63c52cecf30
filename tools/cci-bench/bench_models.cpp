#include "bench_models.h"
#include "bench_util.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "base/huge_pages.h"
#include "default_model.h"
#include "infer/model_config.h"
#include "infer/safetensors.h"

namespace cci::tools::bench {

using Clock = std::chrono::steady_clock;

// Shapes of public checkpoints (random weights, same sizes).
Result<infer::ModelConfig> named_shape(const std::string& name) {
  infer::ModelConfig c;
  c.arch = infer::Architecture::kLlama;
  c.norm_eps = 1e-5;
  c.tied_embeddings = false;
  if (name == "110M") {  // llama2.c stories110M
    c.vocab_size = 32000, c.hidden = 768, c.intermediate = 2048, c.layers = 12, c.heads = 12, c.kv_heads = 12, c.max_positions = 1024;
  } else if (name == "15M") {  // llama2.c stories15M
    c.vocab_size = 32000, c.hidden = 288, c.intermediate = 768, c.layers = 6, c.heads = 6, c.kv_heads = 6, c.max_positions = 256;
  } else if (name == "1B") {  // TinyLlama 1.1B
    c.vocab_size = 32000, c.hidden = 2048, c.intermediate = 5632, c.layers = 22, c.heads = 32, c.kv_heads = 4, c.max_positions = 2048;
  } else {
    return make_error(ErrorCode::kUsage, "--shape must be 15M, 110M or 1B", "shape");
  }
  c.head_dim = c.hidden / c.heads;
  return c;
}

namespace {

// The weights a decoded token reads: every tensor once, except the embedding table (one row),
// which is read whole only when it doubles as the classifier.
std::vector<ByteView> decode_reads(const infer::LoadedModel& m) {
  std::vector<ByteView> out;
  for (const auto& [name, t] : m.weights->tensors) {
    if (!m.config.tied_embeddings && name == "model.embed_tokens.weight") continue;
    out.push_back(t.data);
  }
  return out;
}

typedef float F4 __attribute__((vector_size(16)));
typedef float F8 __attribute__((vector_size(32)));
typedef float F16 __attribute__((vector_size(64)));

// Sums floats [lo, hi) of `p` (lo and hi multiples of 64) with loads of V into four
// accumulators; inlined into functions compiled for SSE, AVX2 and AVX-512, one per load width.
template <typename V>
[[gnu::always_inline]] inline float sum_with(const float* p, size_t lo, size_t hi) {
  constexpr size_t w = sizeof(V) / sizeof(float);
  V a[4] = {};
  for (size_t i = lo; i + 4 * w <= hi; i += 4 * w) {
    for (size_t j = 0; j < 4; ++j) {
      V v;
      std::memcpy(&v, p + i + j * w, sizeof v);
      a[j] += v;
    }
  }
  const V s = (a[0] + a[1]) + (a[2] + a[3]);
  float out = 0;
  for (size_t k = 0; k < w; ++k) out += s[k];
  return out;
}

float sum_sse(const float* p, size_t lo, size_t hi) { return sum_with<F4>(p, lo, hi); }
__attribute__((target("avx2"))) float sum_avx2(const float* p, size_t lo, size_t hi) { return sum_with<F8>(p, lo, hi); }
__attribute__((target("avx512f"))) float sum_avx512(const float* p, size_t lo, size_t hi) { return sum_with<F16>(p, lo, hi); }

// Read bandwidth (GB/s) over the given memory: `threads` threads each sum their share of every
// span (as often as it takes to read 256 MiB, so that starting the threads does not count for a
// small model in cache), the best of 5 passes with each load width this CPU has (SSE, AVX2,
// AVX-512). On the AMD EPYC measured, 32-byte loads streamed faster than 64-byte ones.
double read_bandwidth_over(const std::vector<ByteView>& spans, int threads) {
  __builtin_cpu_init();
  using SumFn = float (*)(const float*, size_t, size_t);
  std::vector<SumFn> sums_by_width = {sum_sse};
  if (__builtin_cpu_supports("avx2")) sums_by_width.push_back(sum_avx2);
  if (__builtin_cpu_supports("avx512f")) sums_by_width.push_back(sum_avx512);
  double bytes = 0;
  for (ByteView span : spans) bytes += static_cast<double>(span.size() / sizeof(float) / 64 * 64) * sizeof(float);
  if (bytes <= 0) return 0;
  const int rounds = static_cast<int>(std::ceil(static_cast<double>(256 << 20) / bytes));
  double best = 1e30;
  std::vector<float> sums(static_cast<size_t>(threads));
  for (int r = 0; r < 5; ++r) {
    for (SumFn sum : sums_by_width) {
      const auto t0 = Clock::now();
      std::vector<std::thread> ts;
      for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t, sum] {
          float acc = 0;
          for (int k = 0; k < rounds; ++k) {
            for (ByteView span : spans) {
              const size_t n = span.size() / sizeof(float);
              const size_t lo = n * static_cast<size_t>(t) / static_cast<size_t>(threads) / 64 * 64;
              const size_t hi = n * static_cast<size_t>(t + 1) / static_cast<size_t>(threads) / 64 * 64;
              acc += sum(reinterpret_cast<const float*>(span.data()), lo, hi);
            }
          }
          sums[static_cast<size_t>(t)] = acc;
        });
      }
      for (auto& t : ts) t.join();
      best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
    }
  }
  return bytes * rounds / best / 1e9;
}

}  // namespace

double weight_bytes(const infer::LoadedModel& m) {
  double total = 0;
  for (ByteView t : decode_reads(m)) total += static_cast<double>(t.size());
  return total;
}

// A 1 GiB buffer in huge pages (base/huge_pages.h): model weights mapped from the page cache are
// contiguous where the file system keeps large folios, so a buffer in scattered 4 KiB pages
// (about a third slower here) was no bound at all.
double measure_read_bandwidth(int threads) {
  auto mem = HugePageMemory::map(size_t{1} << 30);
  if (!mem) return 0;
  std::fill_n(static_cast<float*>(mem->data()), mem->size() / sizeof(float), 1.0f);
  return read_bandwidth_over({ByteView(static_cast<const std::uint8_t*>(mem->data()), mem->size())}, threads);
}

double measure_weight_bandwidth(const infer::LoadedModel& m, int threads) { return read_bandwidth_over(decode_reads(m), threads); }

namespace {

Status write_bytes(const std::string& path, ByteView data) { return write_file_atomic(path, data); }

Status write_embedded_model(const std::string& dir) {
  const auto& m = models::default_model();
  CCI_TRY(write_bytes(dir + "/model.safetensors", m.safetensors));
  CCI_TRY(write_bytes(dir + "/config.json", m.config_json));
  return write_bytes(dir + "/tokenizer.model", m.tokenizer_model);
}

// Writes random fp32 weights as model.safetensors one 1 MiB block at a time: a 1B model is
// 4.4 GB, and holding it (then a copy for the file) cost the benchmark 13 GB of memory before
// anything was measured. Each tensor's values come from its own seed (its name), uniform +-0.05.
Status write_random_safetensors(const std::string& path, const infer::ModelConfig& c) {
  std::map<std::string, std::vector<std::int64_t>> shapes;
  for (auto& t : infer::llama_tensor_shapes(c)) shapes[t.name] = std::move(t.shape);
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t at = 0;
  for (const auto& [name, shape] : shapes) {
    std::uint64_t n = 4;
    for (auto d : shape) n *= static_cast<std::uint64_t>(d);
    header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {at, at + n}}};
    at += n;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned, as the reference writer does
  const std::string tmp = path + ".partial";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) return make_error(ErrorCode::kIo, "cannot create " + tmp);
  std::uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(text.size()) >> (8 * i));
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  std::vector<float> block(1 << 18);
  for (const auto& [name, shape] : shapes) {
    std::uint64_t n = 1;
    for (auto d : shape) n *= static_cast<std::uint64_t>(d);
    std::uint64_t state = 0x9E3779B97F4A7C15ull ^ std::hash<std::string>{}(name);
    for (std::uint64_t done = 0; done < n;) {
      const size_t k = static_cast<size_t>(std::min<std::uint64_t>(block.size(), n - done));
      for (size_t i = 0; i < k; ++i) {
        state ^= state >> 12, state ^= state << 25, state ^= state >> 27;
        block[i] = static_cast<float>(static_cast<double>((state * 0x2545F4914F6CDD1Dull) >> 40) / double(1 << 24) - 0.5) * 0.1f;
      }
      out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(k * sizeof(float)));
      done += k;
    }
  }
  out.close();
  if (!out) return make_error(ErrorCode::kIo, "cannot write " + tmp);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot rename " + tmp + ": " + ec.message());
  return {};
}

Status write_random_model(const std::string& dir, const infer::ModelConfig& c) {
  CCI_TRY(write_random_safetensors(dir + "/model.safetensors", c));
  const std::string config = infer::model_config_json(c);
  CCI_TRY(write_bytes(dir + "/config.json", as_bytes(config)));
  return write_bytes(dir + "/tokenizer.model", models::default_model().tokenizer_model);
}

}  // namespace

Result<BenchModel> prepare_model_dir(const std::string& model, const std::string& shape, const std::string& work) {
  if (!model.empty() && !shape.empty()) return make_error(ErrorCode::kUsage, "give --model or --shape, not both");
  BenchModel b;
  if (!model.empty()) {
    b.dir = model;
    b.name = std::filesystem::path(model).lexically_normal().filename().string();
  } else {
    b.dir = work + "/model";
    std::filesystem::create_directories(b.dir);
    if (shape.empty()) {
      b.name = models::default_model().name;
      CCI_TRY(write_embedded_model(b.dir));
    } else {
      CCI_ASSIGN(c, named_shape(shape));
      b.name = "random " + shape;
      CCI_TRY(write_random_model(b.dir, c));
    }
    // Written back and dropped from the page cache before anything maps them, so that every
    // process reads them in from disk as a server reads a model (large folios, mapped with 2 MiB
    // entries). Left as written, the weights stayed in the small dirty folios of the writes,
    // mapped with 4 KiB entries in every process (smaps: FilePmdMapped 0). Measured with
    // `overhead --shape 110M --threads 2 --runs 16`: a prefill that followed the other process's
    // run then took 0.16-0.18 s against 0.13-0.14 s after its own, the difference all in OpenBLAS
    // packing the weights (perf), and decode ran at 48 tokens/s; settled, every prefill took
    // 0.13-0.15 s whichever ran before, and decode 52 tokens/s.
    CCI_TRY(settle_files(b.dir));
  }
  CCI_ASSIGN(loaded, infer::load_model(b.dir));
  if (!loaded.tokenizer) return make_error(ErrorCode::kUsage, b.dir + " has no tokenizer: serve needs one", "model");
  b.config = loaded.config;
  b.parameters = static_cast<double>(loaded.config.parameter_count());
  b.weight_bytes = weight_bytes(loaded);
  return b;
}

cli::Json machine_info(int threads) {
  cli::Json m = machine_basics();
  m["read_bandwidth_gb_s"] = measure_read_bandwidth(threads);
  m["bandwidth_threads"] = threads;
  return m;
}

std::string machine_line(const cli::Json& m) {
  char line[256];
  std::snprintf(line, sizeof line, "machine: %s, %d logical cores, %.1f GiB, %.1f GB/s read (%d threads)", m["cpu"].get<std::string>().c_str(),
                m["logical_cores"].get<int>(), m["memory_gib"].get<double>(), m["read_bandwidth_gb_s"].get<double>(), m["bandwidth_threads"].get<int>());
  return line;
}

}  // namespace cci::tools::bench
