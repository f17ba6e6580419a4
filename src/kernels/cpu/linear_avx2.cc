// AVX2 + FMA + F16C linear kernels: the same structure as linear_avx512.cc with 8-wide vectors.
// GEMV streams each weight row once (bf16 via the even/odd dword trick); GEMM packs activations into 8-token
// blocks [K][8] and converts each NR-row weight panel to f32 once, reused for every token block.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/linear_kernels.h"

namespace turbolm::cpu::detail {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline float w_scalar(const float* w, int64_t k) { return w[k]; }
inline float w_scalar(const bf16* w, int64_t k) { return bf16_to_float(w[k]); }
inline float w_scalar(const f16* w, int64_t k) { return f16_to_float(w[k]); }

// 8 weights of any storage dtype -> f32 (bf16 in element order, for the GEMM panel conversion).
inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const bf16* p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)), 16));
}
inline __m256 load8(const f16* p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p)); }

// ---------------------------------------------------------------- GEMV

template <int R, int T, typename WT>
inline void gemv_rows(const WT* const* rows, const float* x, const float* xe, const float* xo, int64_t half, int64_t K,
                      int64_t Kv, float* out) {
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  if constexpr (std::is_same_v<WT, bf16>) {
    const __m256i hi_mask = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
    for (int64_t k = 0; k < Kv; k += 16) {
      __m256 ve[T], vo[T];
      for (int t = 0; t < T; ++t) {
        ve[t] = _mm256_loadu_ps(xe + t * half + k / 2);
        vo[t] = _mm256_loadu_ps(xo + t * half + k / 2);
      }
      for (int r = 0; r < R; ++r) {
        const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[r] + k));
        const __m256 even = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
        const __m256 odd = _mm256_castsi256_ps(_mm256_and_si256(w, hi_mask));
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(odd, vo[t], _mm256_fmadd_ps(even, ve[t], acc[r][t]));
      }
    }
  } else {
    for (int64_t k = 0; k < Kv; k += 8) {
      __m256 vx[T];
      for (int t = 0; t < T; ++t) vx[t] = _mm256_loadu_ps(x + t * K + k);
      for (int r = 0; r < R; ++r) {
        const __m256 w = load8(rows[r] + k);
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(w, vx[t], acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) out[r * T + t] = hsum(acc[r][t]);
}

template <int T, typename WT>
void gemv(ThreadPool& pool, const GemmArgs& a) {
  const WT* w = static_cast<const WT*>(a.w);
  const int64_t K = a.K;
  const int64_t step = std::is_same_v<WT, bf16> ? 16 : 8;
  const int64_t Kv = K / step * step;
  const int64_t half = Kv / 2;
  static thread_local std::vector<float> split;  // [2][T][Kv/2] even / odd activations (bf16 only)
  if constexpr (std::is_same_v<WT, bf16>) {
    split.resize(static_cast<size_t>(2 * T * half));
    for (int t = 0; t < T; ++t)
      for (int64_t i = 0; i < half; ++i) {
        split[t * half + i] = a.x[t * K + 2 * i];
        split[(T + t) * half + i] = a.x[t * K + 2 * i + 1];
      }
  }
  const float* xe = split.data();
  const float* xo = split.data() + T * half;
  auto rows_dot = [&]<int R>(int64_t n) {
    const WT* rows[R];
    for (int r = 0; r < R; ++r) rows[r] = w + (n + r) * K;
    float out[R * T];
    gemv_rows<R, T, WT>(rows, a.x, xe, xo, half, K, Kv, out);
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) {
        float s = out[r * T + t];
        for (int64_t k = Kv; k < K; ++k) s += a.x[t * K + k] * w_scalar(rows[r], k);
        if (a.bias != nullptr) s += a.bias[n + r];
        a.y[t * a.N + n + r] = s;
      }
  };
  constexpr int kRows = 4;
  pool.parallel_for_dynamic(a.N, gemv_chunk_rows(a, sizeof(WT), pool.num_threads()), [&](int64_t begin, int64_t end) {
    int64_t n = begin;
    for (; n + kRows <= end; n += kRows) rows_dot.template operator()<kRows>(n);
    for (; n < end; ++n) rows_dot.template operator()<1>(n);
  });
}

template <typename WT>
void gemv_dispatch(ThreadPool& pool, const GemmArgs& a) {
  switch (a.T) {
    case 1: return gemv<1, WT>(pool, a);
    case 2: return gemv<2, WT>(pool, a);
    case 3: return gemv<3, WT>(pool, a);
    default: return gemv<4, WT>(pool, a);
  }
}

// ---------------------------------------------------------------- GEMM

constexpr int kLanes = 8;
constexpr int kMR = 2;  // 16 tokens x 6 features: 12 accumulators + 2 activations + 1 broadcast = 15 ymm
constexpr int kNR = 6;

template <int MR, int NR>
inline void tile(const float* a, int64_t K, const float* w, __m256 (&acc)[MR][NR]) {
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm256_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    __m256 av[MR];
    for (int i = 0; i < MR; ++i) av[i] = _mm256_loadu_ps(a + (i * K + k) * kLanes);
    for (int j = 0; j < NR; ++j) {
      const __m256 b = _mm256_broadcast_ss(w + j * K + k);
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm256_fmadd_ps(av[i], b, acc[i][j]);
    }
  }
}

template <int MR, int NR>
inline void store_tile(const __m256 (&acc)[MR][NR], const GemmArgs& a, int64_t m0, int64_t n0) {
  alignas(32) float tmp[kLanes];
  for (int j = 0; j < NR; ++j) {
    const float b = a.bias != nullptr ? a.bias[n0 + j] : 0.0f;
    for (int i = 0; i < MR; ++i) {
      _mm256_store_ps(tmp, acc[i][j]);
      const int64_t m_begin = m0 + i * kLanes;
      const int64_t count = std::min<int64_t>(kLanes, a.T - m_begin);
      for (int64_t l = 0; l < count; ++l) a.y[(m_begin + l) * a.N + n0 + j] = tmp[l] + b;
    }
  }
}

template <int NR, typename Fn>
inline void with_nr(int n, Fn&& fn) {
  if constexpr (NR >= 1) {
    if (n == NR) return fn.template operator()<NR>();
    with_nr<NR - 1>(n, fn);
  }
}

template <typename WT>
void gemm(ThreadPool& pool, const GemmArgs& a) {
  const int64_t K = a.K;
  const int64_t mblocks = (a.T + kLanes - 1) / kLanes;
  // [mblocks][K][8], zero past T. The calling thread's buffer, shared with the workers through `packed`.
  static thread_local std::vector<float> packed_storage;
  std::vector<float>& packed = packed_storage;
  packed.assign(static_cast<size_t>(mblocks * K * kLanes), 0.0f);
  pool.parallel_for(mblocks, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      for (int l = 0; l < kLanes && b * kLanes + l < a.T; ++l) {
        const float* src = a.x + (b * kLanes + l) * K;
        float* dst = packed.data() + b * K * kLanes + l;
        for (int64_t k = 0; k < K; ++k) dst[k * kLanes] = src[k];
      }
  });
  const int64_t panels = (a.N + kNR - 1) / kNR;
  pool.parallel_for(panels, [&](int64_t p0, int64_t p1) {
    static thread_local std::vector<float> wbuf;
    wbuf.resize(static_cast<size_t>(kNR * K));
    for (int64_t panel = p0; panel < p1; ++panel) {
      const int64_t n0 = panel * kNR;
      const int nr = static_cast<int>(std::min<int64_t>(kNR, a.N - n0));
      for (int j = 0; j < nr; ++j) {
        const WT* src = static_cast<const WT*>(a.w) + (n0 + j) * K;
        float* dst = wbuf.data() + j * K;
        int64_t k = 0;
        for (; k + 8 <= K; k += 8) _mm256_storeu_ps(dst + k, load8(src + k));
        for (; k < K; ++k) dst[k] = w_scalar(src, k);
      }
      with_nr<kNR>(nr, [&]<int nr_>() {
        int64_t mb = 0;
        for (; mb + kMR <= mblocks; mb += kMR) {
          __m256 acc[kMR][nr_];
          tile<kMR, nr_>(packed.data() + mb * K * kLanes, K, wbuf.data(), acc);
          store_tile<kMR, nr_>(acc, a, mb * kLanes, n0);
        }
        if (mb < mblocks) {
          __m256 acc[1][nr_];
          tile<1, nr_>(packed.data() + mb * K * kLanes, K, wbuf.data(), acc);
          store_tile<1, nr_>(acc, a, mb * kLanes, n0);
        }
      });
    }
  });
}

}  // namespace

void linear_avx2(ThreadPool& pool, const GemmArgs& a) {
  const bool gemv_path = a.T <= kMaxGemvTokens;
  switch (a.wtype) {
    case DType::kF32: return gemv_path ? gemv_dispatch<float>(pool, a) : gemm<float>(pool, a);
    case DType::kBF16: return gemv_path ? gemv_dispatch<bf16>(pool, a) : gemm<bf16>(pool, a);
    case DType::kF16: return gemv_path ? gemv_dispatch<f16>(pool, a) : gemm<f16>(pool, a);
    default: break;
  }
}

}  // namespace turbolm::cpu::detail
