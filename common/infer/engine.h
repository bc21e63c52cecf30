// The inference engine: a Llama-family or GPT-2 model over weights that stay in their mapped
// files (fp32 and bf16 wrapped without copying; fp16 converted at load), with a preallocated
// KV cache. forward() runs any number of new tokens from the current position: several at
// once use matrix-matrix products (prefill), one uses matrix-vector products (decode).
// This header is plain C++; libtorch stays inside engine.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "infer/device.h"
#include "infer/model_config.h"
#include "infer/safetensors.h"

namespace cci::infer {

enum class Compute { kF32, kBF16 };

struct EngineOptions {
  // The CPU, or a CUDA GPU (check_device): the weights are copied from the verified mapping to
  // the GPU once, the KV cache lives there, logits come back to the host each step.
  Device device;
  int threads = 1;                  // intra-op threads (torch and BLAS; on CUDA, the host side)
  Compute compute = Compute::kF32;  // kBF16: on the CPU only where it has native bf16 (checked)
  std::int64_t context = 0;         // KV cache length; 0: the model's, at most 4096
  // One-token steps of Llama-family models in f32 on the CPU through the direct kernels
  // (decode_cpu.h) instead of libtorch's operators. Off only to compare the two.
  bool direct_decode = true;
  // Work (floats) from which a direct-decode step is split over the threads; 0: the default
  // (decode_cpu.h). Tests lower it to run the parallel paths on tiny models.
  std::int64_t direct_parallel_floats = 0;
};

class Engine {
 public:
  // `weights` must outlive nothing: the engine keeps the shared mapping alive.
  static Result<std::unique_ptr<Engine>> create(const ModelConfig& config, std::shared_ptr<const WeightSet> weights, const EngineOptions& o);
  virtual ~Engine() = default;

  virtual const ModelConfig& config() const = 0;
  virtual const Device& device() const = 0;
  virtual std::int64_t context() const = 0;   // KV cache length
  virtual std::int64_t position() const = 0;  // tokens already in the cache
  virtual void reset() = 0;                   // empties the cache (its used rows zeroed)

  // Appends `tokens` at position() and returns the logits after the last one (vocab floats).
  virtual Result<std::vector<float>> forward(const std::vector<std::int64_t>& tokens) = 0;
  // Reference path: logits after every token of `tokens` from position 0, one full-sequence
  // pass with a causal mask; the cache is left as it was.
  virtual Result<std::vector<std::vector<float>>> forward_all(const std::vector<std::int64_t>& tokens) = 0;
  // Whether one-token steps run through the direct kernels (see EngineOptions::direct_decode).
  virtual bool direct_decode() const = 0;
};

// Whether this build can compute on `device`: always for the CPU; for CUDA, a build against a
// CUDA libtorch (CMake's CCI_TORCH_DIR) on a machine where that device is visible. The error says
// which of the three is missing (kUnsupported, or kUsage for an ordinal past the last device).
Status check_device(const Device& device);

// The instruction set of the direct decode kernels on this CPU: "avx512", "avx2" or "generic".
const char* direct_decode_isa();

// The kernel set of the BLAS that prefill's matrix products run on, as OpenBLAS names it
// ("Haswell", "SkylakeX", "Cooperlake", ...), or "" when the BLAS is not OpenBLAS. OpenBLAS
// chooses it per process from the CPU unless OPENBLAS_CORETYPE names one, so two processes on
// one machine can differ: cci-bench compares its own with the worker's.
std::string blas_kernels();

// Whether this CPU computes bf16 natively (AVX512-BF16 or AMX).
bool cpu_has_native_bf16();

// The machine's fp32 matrix-multiply rate (GFLOP/s) through the same BLAS the engine uses:
// the best of a few [m x k] x [k x n] products on `threads` threads (on `device`'s BLAS).
double measure_matmul_gflops(int threads, std::int64_t m, std::int64_t k, std::int64_t n, const Device& device = {});

// A CUDA device's memory read rate (GB/s): the best of a few sums over a 1 GiB buffer in its
// memory, the roofline of a decode step that reads every weight once. The device must pass
// check_device.
Result<double> measure_device_read_gbs(const Device& device);

}  // namespace cci::infer
