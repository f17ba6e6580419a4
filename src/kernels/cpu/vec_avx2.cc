// AVX2 + FMA + F16C row primitives. Tails fall back to scalar code.
#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/vec.h"
#include "kernels/cpu/vec_exp.h"

namespace turbolm::cpu {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline __m256 load(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load(const bf16* p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)), 16));
}
inline __m256 load(const f16* p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p)); }
inline float scalar(float v) { return v; }
inline float scalar(bf16 v) { return bf16_to_float(v); }
inline float scalar(f16 v) { return f16_to_float(v); }

template <typename T>
float dot_impl(const float* a, const T* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(load(a + i), load(b + i), s0);
    s1 = _mm256_fmadd_ps(load(a + i + 8), load(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(load(a + i), load(b + i), s0);
  float s = hsum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) s += a[i] * scalar(b[i]);
  return s;
}
float dot(const float* a, const float* b, int64_t n) { return dot_impl(a, b, n); }
float dot_bf16(const float* a, const bf16* b, int64_t n) { return dot_impl(a, b, n); }
float dot_f16(const float* a, const f16* b, int64_t n) { return dot_impl(a, b, n); }

template <typename T>
void axpy_impl(float alpha, const T* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load(x + i), load(y + i)));
  for (; i < n; ++i) y[i] += alpha * scalar(x[i]);
}
void axpy(float alpha, const float* x, float* y, int64_t n) { axpy_impl(alpha, x, y, n); }
void axpy_bf16(float alpha, const bf16* x, float* y, int64_t n) { axpy_impl(alpha, x, y, n); }
void axpy_f16(float alpha, const f16* x, float* y, int64_t n) { axpy_impl(alpha, x, y, n); }

void scale(float* y, float s, int64_t n) {
  const __m256 vs = _mm256_set1_ps(s);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(load(y + i), vs));
  for (; i < n; ++i) y[i] *= s;
}
float sum_squares(const float* x, int64_t n) { return dot(x, x, n); }
void scale_mul(const float* x, float s, const float* gamma, float* out, int64_t n) {
  const __m256 vs = _mm256_set1_ps(s);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(load(x + i), vs), load(gamma + i)));
  for (; i < n; ++i) out[i] = x[i] * s * gamma[i];
}
void add(const float* a, const float* b, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_add_ps(load(a + i), load(b + i)));
  for (; i < n; ++i) out[i] = a[i] + b[i];
}
void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = load(gate + i);
    const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), g));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), load(up + i)));
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}
void f32_to_bf16(const float* x, bf16* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = float_to_bf16(x[i]);
}
void bf16_to_f32(const bf16* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load(x + i));
  for (; i < n; ++i) y[i] = bf16_to_float(x[i]);
}
void f32_to_f16(const float* x, f16* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128((__m128i*)(y + i), _mm256_cvtps_ph(load(x + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) y[i] = float_to_f16(x[i]);
}
void f16_to_f32(const f16* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load(x + i));
  for (; i < n; ++i) y[i] = f16_to_float(x[i]);
}

}  // namespace

namespace detail {
const VecOps& vec_ops_avx2() {
  static const VecOps ops{dot,       dot_bf16, dot_f16,  axpy,        axpy_bf16,   axpy_f16,   scale,     sum_squares,
                          scale_mul, add,      silu_mul, f32_to_bf16, bf16_to_f32, f32_to_f16, f16_to_f32};
  return ops;
}
}  // namespace detail

}  // namespace turbolm::cpu
