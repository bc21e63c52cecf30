// See decode_cpu.h. No libtorch here: plain loops, SIMD intrinsics behind run-time dispatch
// (the binaries are built for baseline x86-64) and OpenMP, the same runtime libtorch uses.
#include "infer/decode_cpu.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace cci::infer {
namespace {

// y[r] = dot(w[r * n .. r * n + n), x) for r in [0, rows); the tail of a row is scalar.
using RowsFn = void (*)(const float* w, std::int64_t n, const float* x, float* y, std::int64_t rows);

void rows_generic(const float* w, std::int64_t n, const float* x, float* y, std::int64_t rows) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* wr = w + r * n;
    float acc[8] = {};
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      for (int j = 0; j < 8; ++j) acc[j] += wr[i + j] * x[i + j];
    }
    float s = 0;
    for (; i < n; ++i) s += wr[i] * x[i];
    for (float a : acc) s += a;
    y[r] = s;
  }
}

__attribute__((target("avx2,fma"))) float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// One row at a time, four independent accumulators: on the machines measured (AMD EPYC VMs),
// streaming one row reads 1.6 x faster than interleaving four rows that share loads of x
// (25.6 vs 16.2 GB/s on one core), as the prefetcher follows one stream per core best.
// 32-byte loads, also where the CPU has AVX-512: over the 110M shape's weights mapped from the
// page cache, this loop decoded 56 tokens/s on one core and 72 on two where the same loop with
// 64-byte loads decoded 47 and 64 (interleaved runs on an AMD EPYC with AVX-512; one or two
// accumulators with 64-byte loads were no faster). The embedded model, which stays in cache,
// ran at the same speed with either.
__attribute__((target("avx2,fma"))) void rows_avx2(const float* w, std::int64_t n, const float* x, float* y, std::int64_t rows) {
  const std::int64_t n32 = n & ~std::int64_t{31}, n8 = n & ~std::int64_t{7};
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* wr = w + r * n;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    std::int64_t i = 0;
    for (; i < n32; i += 32) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(wr + i), _mm256_loadu_ps(x + i), a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(wr + i + 8), _mm256_loadu_ps(x + i + 8), a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(wr + i + 16), _mm256_loadu_ps(x + i + 16), a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(wr + i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i < n8; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(wr + i), _mm256_loadu_ps(x + i), a0);
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; ++i) s += wr[i] * x[i];
    y[r] = s;
  }
}

// out[0 .. n) = sum over t in [0, count) of p[t] * v[t * n .. t * n + n): attention's weighted
// sum of values, rows of a head's value cache. The output stays in registers over all rows, 64
// floats at a time (a head is 64 or 128 floats in the models served), instead of being read and
// written once per position.

void weighted_sum_generic(const float* v, std::int64_t count, std::int64_t n, const float* p, float* out) {
  std::fill_n(out, n, 0.0f);
  for (std::int64_t t = 0; t < count; ++t) {
    const float pt = p[t];
    const float* vr = v + t * n;
    for (std::int64_t i = 0; i < n; ++i) out[i] += pt * vr[i];
  }
}

__attribute__((target("avx2,fma"))) void weighted_sum_avx2(const float* v, std::int64_t count, std::int64_t n, const float* p, float* out) {
  std::int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (std::int64_t t = 0; t < count; ++t) {
      const __m256 pt = _mm256_set1_ps(p[t]);
      const float* vr = v + t * n + j;
      a0 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr), a0);
      a1 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr + 8), a1);
      a2 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr + 16), a2);
      a3 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vr + 24), a3);
    }
    _mm256_storeu_ps(out + j, a0);
    _mm256_storeu_ps(out + j + 8, a1);
    _mm256_storeu_ps(out + j + 16, a2);
    _mm256_storeu_ps(out + j + 24, a3);
  }
  if (j == n) return;
  std::fill(out + j, out + n, 0.0f);  // the last n % 32 floats
  for (std::int64_t t = 0; t < count; ++t) {
    for (std::int64_t i = j; i < n; ++i) out[i] += p[t] * v[t * n + i];
  }
}

// Every kernel set this CPU runs, the fastest first (AVX2 with FMA, then plain loops).
std::vector<DecodeKernels> available_kernels() {
  __builtin_cpu_init();
  std::vector<DecodeKernels> out;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) out.push_back({"avx2", rows_avx2, weighted_sum_avx2});
  out.push_back({"generic", rows_generic, weighted_sum_generic});
  return out;
}

const DecodeKernels& isa() {
  static const DecodeKernels k = available_kernels().front();
  return k;
}

// Matrix-vector products of several matrices over the same input, as one parallel loop over
// blocks of 16 rows, so a layer's q/k/v or gate/up products cost one fork and join. Small
// products stay on the calling thread, where a fork would cost more than the work (the
// embedded model's matrices are a few KiB), and outside any OpenMP construct: libgomp ends
// even a one-thread region with a futex wake, a system call that the worker's seccomp filter
// makes dearer still (it cost the embedded model 8 % of its decode speed in the worker).
struct Product {
  const float* w;
  float* y;
  std::int64_t rows;
};

constexpr std::int64_t kBlock = 16;

template <size_t N>
void products(const Product (&p)[N], const float* x, std::int64_t n, int threads, std::int64_t parallel_floats) {
  const RowsFn rows = isa().rows;
  std::int64_t blocks[N + 1] = {0}, total_rows = 0;
  for (size_t i = 0; i < N; ++i) {
    blocks[i + 1] = blocks[i] + (p[i].rows + kBlock - 1) / kBlock;
    total_rows += p[i].rows;
  }
  const std::int64_t nb = blocks[N];
  auto block = [&](std::int64_t b) {
    size_t i = 0;
    while (b >= blocks[i + 1]) ++i;
    const std::int64_t r0 = (b - blocks[i]) * kBlock, cnt = std::min(kBlock, p[i].rows - r0);
    rows(p[i].w + r0 * n, n, x, p[i].y + r0, cnt);
  };
  if (threads > 1 && total_rows * n >= parallel_floats) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (std::int64_t b = 0; b < nb; ++b) block(b);
  } else {
    for (std::int64_t b = 0; b < nb; ++b) block(b);
  }
}

void rms_norm(const float* x, const float* w, float* out, std::int64_t n, float eps) {
  float ss = 0;
  for (std::int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const float r = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  for (std::int64_t i = 0; i < n; ++i) out[i] = x[i] * r * w[i];
}

void rope(float* v, std::int64_t heads, std::int64_t hd, const float* cos, const float* sin, bool half_layout) {
  const std::int64_t half = hd / 2;
  for (std::int64_t h = 0; h < heads; ++h) {
    float* p = v + h * hd;
    for (std::int64_t i = 0; i < half; ++i) {
      if (half_layout) {
        const float a = p[i], b = p[i + half];
        p[i] = a * cos[i] - b * sin[i];
        p[i + half] = b * cos[i] + a * sin[i];
      } else {
        const float a = p[2 * i], b = p[2 * i + 1];
        p[2 * i] = a * cos[i] - b * sin[i];
        p[2 * i + 1] = a * sin[i] + b * cos[i];
      }
    }
  }
}

}  // namespace

DecodeStep::DecodeStep(DecodeModel m) : m_(std::move(m)) {
  const auto u = [](std::int64_t n) { return static_cast<size_t>(n); };
  x_.resize(u(m_.dim));
  h_.resize(u(m_.dim));
  q_.resize(u(m_.heads * m_.head_dim));
  k_.resize(u(m_.kv_heads * m_.head_dim));
  v_.resize(u(m_.kv_heads * m_.head_dim));
  att_.resize(u(m_.heads * m_.head_dim));
  gate_.resize(u(m_.hidden));
  up_.resize(u(m_.hidden));
  scores_.resize(u(m_.heads * m_.ctx));
}

void DecodeStep::run(std::int64_t token, std::int64_t pos, float* k_cache, float* v_cache, float* logits) {
  const std::int64_t d = m_.dim, hd = m_.head_dim, kvh = m_.kv_heads, group = m_.heads / kvh, S = pos + 1;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const float* cos = m_.cos + pos * (hd / 2);
  const float* sin = m_.sin + pos * (hd / 2);
  std::copy_n(m_.embed + token * d, d, x_.data());
  for (size_t l = 0; l < m_.layers.size(); ++l) {
    const DecodeLayer& L = m_.layers[l];
    rms_norm(x_.data(), L.attn_norm, h_.data(), d, m_.eps);
    products<3>({{L.wq, q_.data(), m_.heads * hd}, {L.wk, k_.data(), kvh * hd}, {L.wv, v_.data(), kvh * hd}}, h_.data(), d, m_.threads, m_.parallel_floats);
    rope(q_.data(), m_.heads, hd, cos, sin, m_.rope_half);
    rope(k_.data(), kvh, hd, cos, sin, m_.rope_half);
    float* kc = k_cache + static_cast<std::int64_t>(l) * kvh * m_.ctx * hd;  // [kv_heads, ctx, hd]
    float* vc = v_cache + static_cast<std::int64_t>(l) * kvh * m_.ctx * hd;
    for (std::int64_t g = 0; g < kvh; ++g) {
      std::copy_n(k_.data() + g * hd, hd, kc + (g * m_.ctx + pos) * hd);
      std::copy_n(v_.data() + g * hd, hd, vc + (g * m_.ctx + pos) * hd);
    }
    // Attention, one query head per iteration: scores over positions 0..pos, softmax, the
    // weighted sum of values. Query head h reads key/value head h / group.
    // The scores are one matrix-vector product over the head's keys (positions 0..pos are
    // contiguous rows of the cache), the output one weighted sum over its values.
    const DecodeKernels& k = isa();
    auto head = [&](std::int64_t h) {
      const float* q = q_.data() + h * hd;
      const float* keys = kc + (h / group) * m_.ctx * hd;
      const float* values = vc + (h / group) * m_.ctx * hd;
      float* s = scores_.data() + h * m_.ctx;
      k.rows(keys, hd, q, s, S);
      float mx = -INFINITY;
      for (std::int64_t t = 0; t < S; ++t) {
        s[t] *= scale;
        mx = std::max(mx, s[t]);
      }
      float sum = 0;
      for (std::int64_t t = 0; t < S; ++t) {
        s[t] = std::exp(s[t] - mx);
        sum += s[t];
      }
      const float inv = 1.0f / sum;
      for (std::int64_t t = 0; t < S; ++t) s[t] *= inv;
      k.weighted_sum(values, S, hd, s, att_.data() + h * hd);
    };
    // Attention splits over heads from a quarter of the products' threshold: its work per head
    // sits in the cache, and run alone it left the second thread waiting (1-2 % of a 110M step).
    if (m_.threads > 1 && m_.heads > 1 && m_.heads * S * hd * 4 >= m_.parallel_floats) {
#pragma omp parallel for schedule(static) num_threads(m_.threads)
      for (std::int64_t h = 0; h < m_.heads; ++h) head(h);
    } else {
      for (std::int64_t h = 0; h < m_.heads; ++h) head(h);
    }
    products<1>({{L.wo, h_.data(), d}}, att_.data(), m_.heads * hd, m_.threads, m_.parallel_floats);
    for (std::int64_t i = 0; i < d; ++i) x_[static_cast<size_t>(i)] += h_[static_cast<size_t>(i)];
    rms_norm(x_.data(), L.mlp_norm, h_.data(), d, m_.eps);
    products<2>({{L.w_gate, gate_.data(), m_.hidden}, {L.w_up, up_.data(), m_.hidden}}, h_.data(), d, m_.threads, m_.parallel_floats);
    for (std::int64_t i = 0; i < m_.hidden; ++i) {
      const float g = gate_[static_cast<size_t>(i)];
      gate_[static_cast<size_t>(i)] = g / (1.0f + std::exp(-g)) * up_[static_cast<size_t>(i)];
    }
    products<1>({{L.w_down, h_.data(), d}}, gate_.data(), m_.hidden, m_.threads, m_.parallel_floats);
    for (std::int64_t i = 0; i < d; ++i) x_[static_cast<size_t>(i)] += h_[static_cast<size_t>(i)];
  }
  rms_norm(x_.data(), m_.final_norm, h_.data(), d, m_.eps);
  products<1>({{m_.lm_head, logits, m_.vocab}}, h_.data(), d, m_.threads, m_.parallel_floats);
}

const char* decode_isa() { return isa().name; }

std::vector<DecodeKernels> decode_kernels_for_testing() { return available_kernels(); }

}  // namespace cci::infer
