// AVX-512 row primitives (compiled with -mavx512f -mavx512bw -mavx512vl -mfma -mf16c). Tails use masked loads.
#include <immintrin.h>

#include "kernels/cpu/vec.h"
#include "kernels/cpu/vec_exp.h"

namespace turbolm::cpu {
namespace {

inline __mmask16 tail_mask(int64_t r) { return static_cast<__mmask16>((1u << r) - 1u); }

// 16 bf16 -> 16 f32: a bf16 is the high half of an f32.
inline __m512 load_bf16(const bf16* p) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)p)), 16));
}
inline __m512 load_bf16_tail(const bf16* p, __mmask16 m) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}
inline __m512 load_f16(const f16* p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)p)); }
inline __m512 load_f16_tail(const f16* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }

// Round-to-nearest-even f32 -> bf16 without AVX512_BF16 (NaN stays NaN).
inline __m256i to_bf16(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40)));
  return _mm512_cvtepi32_epi16(r);
}

template <typename T, typename Load, typename LoadTail>
float dot_impl(const float* a, const T* b, int64_t n, Load load, LoadTail load_tail) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), load(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), load(b + i + 16), s1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), load_tail(b + i, m), s0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

float dot(const float* a, const float* b, int64_t n) {
  return dot_impl(
      a, b, n, [](const float* p) { return _mm512_loadu_ps(p); },
      [](const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); });
}
float dot_bf16(const float* a, const bf16* b, int64_t n) { return dot_impl(a, b, n, load_bf16, load_bf16_tail); }
float dot_f16(const float* a, const f16* b, int64_t n) { return dot_impl(a, b, n, load_f16, load_f16_tail); }

template <typename T, typename LoadTail>
void axpy_impl(float alpha, const T* x, float* y, int64_t n, LoadTail load_tail) {
  const __m512 va = _mm512_set1_ps(alpha);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, load_tail(x + i, m), _mm512_maskz_loadu_ps(m, y + i)));
  }
}
void axpy(float alpha, const float* x, float* y, int64_t n) {
  axpy_impl(alpha, x, y, n, [](const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); });
}
void axpy_bf16(float alpha, const bf16* x, float* y, int64_t n) { axpy_impl(alpha, x, y, n, load_bf16_tail); }
void axpy_f16(float alpha, const f16* x, float* y, int64_t n) { axpy_impl(alpha, x, y, n, load_f16_tail); }

void scale(float* y, float s, int64_t n) {
  const __m512 vs = _mm512_set1_ps(s);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, y + i), vs));
  }
}
float sum_squares(const float* x, int64_t n) { return dot(x, x, n); }

void scale_mul(const float* x, float s, const float* gamma, float* out, int64_t n) {
  const __m512 vs = _mm512_set1_ps(s);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    const __m512 v =
        _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vs), _mm512_maskz_loadu_ps(m, gamma + i));
    _mm512_mask_storeu_ps(out + i, m, v);
  }
}
void add(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    _mm512_mask_storeu_ps(out + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
  }
}
void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    const __m512 e = exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), g));
    const __m512 v = _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(one, e)), _mm512_maskz_loadu_ps(m, up + i));
    _mm512_mask_storeu_ps(out + i, m, v);
  }
}
void f32_to_bf16(const float* x, bf16* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    _mm256_mask_storeu_epi16(y + i, m, to_bf16(_mm512_maskz_loadu_ps(m, x + i)));
  }
}
void bf16_to_f32(const bf16* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, load_bf16_tail(x + i, m));
  }
}
void f32_to_f16(const float* x, f16* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    _mm256_mask_storeu_epi16(y + i, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT));
  }
}
void f16_to_f32(const f16* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, load_f16_tail(x + i, m));
  }
}

}  // namespace

namespace detail {
const VecOps& vec_ops_avx512() {
  static const VecOps ops{dot,       dot_bf16, dot_f16,  axpy,        axpy_bf16,   axpy_f16,   scale,     sum_squares,
                          scale_mul, add,      silu_mul, f32_to_bf16, bf16_to_f32, f32_to_f16, f16_to_f32};
  return ops;
}
}  // namespace detail

}  // namespace turbolm::cpu
