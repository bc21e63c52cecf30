// One decode step (a single new token) of a Llama-family model in fp32, written directly
// against the weight and cache memory instead of through libtorch's operators.
//
// Why: a decode step is a chain of matrix-vector products that read every weight once, plus
// a few hundred small vector operations. Through libtorch each of those small operations costs
// microseconds of dispatch and allocation, and its matrix-vector product (BLAS sgemv) splits
// work per call; on the 110M shape that left decode at 0.44-0.49 of the read bandwidth. Here
// each product is one parallel loop over row blocks with SIMD dot products (AVX2,
// chosen at run time), and the vector work runs inline. Prefill (several tokens) stays in
// libtorch, where matrix-matrix products are efficient.
//
// The arithmetic is the engine's: RMSNorm, RoPE from the engine's cos/sin tables (either
// layout), grouped-query attention over the engine's KV cache, SiLU-gated MLP. Tests compare
// it with the libtorch path and with an independent reference.
#pragma once

#include <cstdint>
#include <vector>

namespace cci::infer {

struct DecodeLayer {
  const float *attn_norm, *wq, *wk, *wv, *wo, *mlp_norm, *w_gate, *w_up, *w_down;
};

struct DecodeModel {
  std::int64_t dim = 0, hidden = 0, heads = 0, kv_heads = 0, head_dim = 0, vocab = 0, ctx = 0;
  float eps = 1e-5f;
  bool rope_half = false;                    // rotate_half layout; else adjacent pairs
  const float *embed = nullptr, *final_norm = nullptr, *lm_head = nullptr;
  const float *cos = nullptr, *sin = nullptr;  // [ctx, head_dim / 2]
  std::vector<DecodeLayer> layers;
  int threads = 1;
  // A product runs on `threads` threads only from this many floats of work (256 KiB; smaller ones
  // cost more to fork than to do), attention from a quarter of it; tests lower it to cover the
  // parallel paths. From 512 KiB down to 256 KiB, the 15M shape's attention output product
  // (288 x 288) split too: 5-16 % more tokens/s at 2 threads in four interleaved pairs, the
  // 110M shape and the embedded model unchanged.
  std::int64_t parallel_floats = 1 << 16;
};

class DecodeStep {
 public:
  explicit DecodeStep(DecodeModel m);
  // Writes the keys and values of `token` at `pos` into the caches ([layers, kv_heads, ctx,
  // head_dim] each) and the logits after it into `logits` (vocab floats).
  void run(std::int64_t token, std::int64_t pos, float* k_cache, float* v_cache, float* logits);

 private:
  DecodeModel m_;
  std::vector<float> x_, h_, q_, k_, v_, att_, gate_, up_, scores_;
};

// The instruction set the kernels use on this CPU: "avx2" or "generic".
const char* decode_isa();

// A set of decode kernels for one instruction set; the step uses the first one this CPU runs.
struct DecodeKernels {
  const char* name;
  // y[r] = dot(w[r * n .. + n), x) for r in [0, rows)
  void (*rows)(const float* w, std::int64_t n, const float* x, float* y, std::int64_t rows);
  // out[0 .. n) = sum over t in [0, count) of p[t] * v[t * n .. + n)
  void (*weighted_sum)(const float* v, std::int64_t count, std::int64_t n, const float* p, float* out);
};
// For tests: every kernel set this CPU can run (the chosen one first), so each is checked, not
// only the one picked here.
std::vector<DecodeKernels> decode_kernels_for_testing();

}  // namespace cci::infer
