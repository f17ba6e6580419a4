// AVX-512 linear kernels (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512bf16 -mfma -mf16c; only called
// when cpu features allow, and the vdpbf16ps path only with AVX512_BF16).
//
// GEMV (T <= kMaxGemvTokens): threads claim ~1 MB chunks of output rows; each weight row is streamed once and applied
// to every token with exact f32 FMAs. bf16 rows are read 32 at a time as 16 dwords: (dword << 16) are the even
// elements, (dword & 0xffff0000) the odd ones, so the activations are split once into even / odd halves.
// For one token, a thread walks its bf16 rows one after another (gemv_row_bf16_seq): a single sequential
// stream per thread, which the hardware prefetchers follow at full bandwidth; 2-4 tokens share each weight load
// across R interleaved rows (gemv_rows_bf16) instead.
//
// GEMM (T > kMaxGemvTokens): column-oriented micro-tiles. The activations are packed once per call into
// blocks of 16 tokens ([K][16] f32, or [K/2][16] bf16 pairs for vdpbf16ps); the weights are used in place and
// broadcast one element (or one bf16 pair) at a time, so no weight packing is needed. Accumulators hold
// MR x 16 tokens for NR output features; threads split the output features.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/linear_kernels.h"

namespace turbolm::cpu::detail {
namespace {

// ---------------------------------------------------------------- GEMV

inline float w_scalar(const float* w, int64_t k) { return w[k]; }
inline float w_scalar(const bf16* w, int64_t k) { return bf16_to_float(w[k]); }
inline float w_scalar(const f16* w, int64_t k) { return f16_to_float(w[k]); }

// acc[r][t] += W[r] . x[t] over k in [0, K32) for R rows of bf16 weights; xe/xo: [T][K/2] even/odd activations.
template <int R, int T>
inline void gemv_rows_bf16(const bf16* const* rows, const float* xe, const float* xo, int64_t half_stride, int64_t K32,
                           int64_t row_stride, float* out /*[R][T]*/) {
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const __m512i hi_mask = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
  for (int64_t k = 0; k < K32; k += 32) {
    __m512 ve[T], vo[T];
    for (int t = 0; t < T; ++t) {
      ve[t] = _mm512_loadu_ps(xe + t * half_stride + k / 2);
      vo[t] = _mm512_loadu_ps(xo + t * half_stride + k / 2);
    }
    for (int r = 0; r < R; ++r) {
      // The R rows are adjacent, so the next R rows are the next stretch of the weight stream: prefetching them
      // keeps enough misses in flight (the hardware prefetchers ramp up too slowly on R short interleaved rows).
      _mm_prefetch(reinterpret_cast<const char*>(rows[r] + R * row_stride + k), _MM_HINT_T0);
      const __m512i w = _mm512_loadu_si512(rows[r] + k);
      const __m512 even = _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
      const __m512 odd = _mm512_castsi512_ps(_mm512_and_si512(w, hi_mask));
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_fmadd_ps(odd, vo[t], _mm512_fmadd_ps(even, ve[t], acc[r][t]));
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) out[r * T + t] = _mm512_reduce_add_ps(acc[r][t]);
}

// Decode (one token): one bf16 row at a time, 128 elements per step into 4 independent accumulators, so a
// thread reads its rows as one sequential stream (adjacent rows are adjacent in memory) instead of R short
// interleaved streams. Returns the dot product over [0, K128).
inline float gemv_row_bf16_seq(const bf16* row, const float* xe, const float* xo, int64_t K128) {
  const __m512i hi_mask = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  for (int64_t k = 0; k < K128; k += 128) {
    for (int u = 0; u < 4; ++u) {
      const int64_t kk = k + 32 * u;
      const __m512i w = _mm512_loadu_si512(row + kk);
      const __m512 even = _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
      const __m512 odd = _mm512_castsi512_ps(_mm512_and_si512(w, hi_mask));
      acc[u] = _mm512_fmadd_ps(odd, _mm512_loadu_ps(xo + kk / 2),
                               _mm512_fmadd_ps(even, _mm512_loadu_ps(xe + kk / 2), acc[u]));
    }
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

// Same for f32 / f16 rows, 16 elements per step (K16 = K rounded down to 16).
template <int R, int T, typename WT>
inline void gemv_rows_16(const WT* const* rows, const float* x, int64_t K, int64_t K16, float* out) {
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K16; k += 16) {
    __m512 vx[T];
    for (int t = 0; t < T; ++t) vx[t] = _mm512_loadu_ps(x + t * K + k);
    for (int r = 0; r < R; ++r) {
      __m512 w;
      if constexpr (std::is_same_v<WT, float>) {
        w = _mm512_loadu_ps(rows[r] + k);
      } else {
        w = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[r] + k)));
      }
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_fmadd_ps(w, vx[t], acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) out[r * T + t] = _mm512_reduce_add_ps(acc[r][t]);
}

template <int T, typename WT>
void gemv(ThreadPool& pool, const GemmArgs& a) {
  const WT* w = static_cast<const WT*>(a.w);
  const int64_t K = a.K;
  // bf16 consumes 32 elements per step, f32/f16 16; the rest of each row is a scalar tail.
  const int64_t step = std::is_same_v<WT, bf16> ? 32 : 16;
  const int64_t Kv = K / step * step;
  const int64_t half = Kv / 2;
  // [T][Kv/2] even and odd activations for the bf16 trick (filled by the calling thread, read by all).
  static thread_local std::vector<float> split;
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
    if constexpr (std::is_same_v<WT, bf16> && T == 1) {
      const int64_t K128 = Kv / 128 * 128;
      for (int r = 0; r < R; ++r) {
        out[r] = gemv_row_bf16_seq(rows[r], xe, xo, K128);
        for (int64_t k = K128; k < Kv; ++k) out[r] += a.x[k] * w_scalar(rows[r], k);
      }
    } else if constexpr (std::is_same_v<WT, bf16>) {
      gemv_rows_bf16<R, T>(rows, xe, xo, half, Kv, K, out);
    } else {
      gemv_rows_16<R, T, WT>(rows, a.x, K, Kv, out);
    }
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

constexpr int kLanes = 16;

// Writes an MR x 16 (tokens) by NR (features) accumulator tile into y[T, N] with bias; rows >= T are padding.
template <int MR, int NR>
inline void store_tile(const __m512 (&acc)[MR][NR], const GemmArgs& a, int64_t m0, int64_t n0) {
  alignas(64) float tmp[kLanes];
  for (int j = 0; j < NR; ++j) {
    const float b = a.bias != nullptr ? a.bias[n0 + j] : 0.0f;
    for (int i = 0; i < MR; ++i) {
      _mm512_store_ps(tmp, acc[i][j]);
      const int64_t m_begin = m0 + i * kLanes;
      const int64_t count = std::min<int64_t>(kLanes, a.T - m_begin);
      for (int64_t l = 0; l < count; ++l) a.y[(m_begin + l) * a.N + n0 + j] = tmp[l] + b;
    }
  }
}

// f32 micro-tile: a: packed [MR blocks][K][16] (block stride K * 16); w: NR rows of f32 with row stride ldw.
template <int MR, int NR>
inline void tile_f32(const float* a, int64_t K, const float* w, int64_t ldw, __m512 (&acc)[MR][NR]) {
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    __m512 av[MR];
    for (int i = 0; i < MR; ++i) av[i] = _mm512_loadu_ps(a + (i * K + k) * kLanes);
    for (int j = 0; j < NR; ++j) {
      const __m512 b = _mm512_set1_ps(w[j * ldw + k]);
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm512_fmadd_ps(av[i], b, acc[i][j]);
    }
  }
}

// bf16 micro-tile: a: packed [MR blocks][K2][16] dwords (bf16 pairs k = 2p, 2p + 1); w: NR bf16 rows.
template <int MR, int NR>
inline void tile_bf16dp(const int32_t* a, int64_t K2, const bf16* w, int64_t ldw, __m512 (&acc)[MR][NR]) {
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int64_t p = 0; p < K2; ++p) {
    __m512bh av[MR];
    for (int i = 0; i < MR; ++i) av[i] = (__m512bh)_mm512_loadu_si512(a + (i * K2 + p) * kLanes);
    for (int j = 0; j < NR; ++j) {
      int32_t pair;
      std::memcpy(&pair, w + j * ldw + 2 * p, sizeof(pair));
      const __m512bh b = (__m512bh)_mm512_set1_epi32(pair);
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], av[i], b);
    }
  }
}

// Packs x[T, K] into 16-token blocks: f32 [blocks][K][16], zero-padded past T.
void pack_f32(ThreadPool& pool, const GemmArgs& a, std::vector<float>& packed) {
  const int64_t blocks = (a.T + kLanes - 1) / kLanes;
  packed.resize(static_cast<size_t>(blocks * a.K * kLanes));
  pool.parallel_for(blocks, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      float* dst = packed.data() + b * a.K * kLanes;
      for (int l = 0; l < kLanes; ++l) {
        const int64_t m = b * kLanes + l;
        if (m < a.T) {
          const float* src = a.x + m * a.K;
          for (int64_t k = 0; k < a.K; ++k) dst[k * kLanes + l] = src[k];
        } else {
          for (int64_t k = 0; k < a.K; ++k) dst[k * kLanes + l] = 0.0f;
        }
      }
    }
  });
}

// Packs x[T, K] into 16-token blocks of bf16 pairs: [blocks][K/2][16] dwords (odd K's last column excluded).
void pack_bf16_pairs(ThreadPool& pool, const GemmArgs& a, std::vector<int32_t>& packed) {
  const int64_t blocks = (a.T + kLanes - 1) / kLanes;
  const int64_t K2 = a.K / 2;
  packed.resize(static_cast<size_t>(blocks * K2 * kLanes));
  pool.parallel_for(blocks, [&](int64_t b0, int64_t b1) {
    alignas(64) int32_t row[kLanes];
    for (int64_t b = b0; b < b1; ++b) {
      int32_t* dst = packed.data() + b * K2 * kLanes;
      for (int l = 0; l < kLanes; ++l) {
        const int64_t m = b * kLanes + l;
        if (m >= a.T) {
          for (int64_t p = 0; p < K2; ++p) dst[p * kLanes + l] = 0;
          continue;
        }
        const float* src = a.x + m * a.K;
        int64_t p = 0;
        for (; p + kLanes <= K2; p += kLanes) {
          // 32 floats -> 16 dwords of (even, odd) bf16 pairs, round to nearest even.
          const __m512 lo = _mm512_loadu_ps(src + 2 * p), hi = _mm512_loadu_ps(src + 2 * p + kLanes);
          _mm512_store_si512(row, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
          for (int q = 0; q < kLanes; ++q) dst[(p + q) * kLanes + l] = row[q];
        }
        for (; p < K2; ++p) {
          const uint32_t e = float_to_bf16(src[2 * p]).bits, o = float_to_bf16(src[2 * p + 1]).bits;
          dst[p * kLanes + l] = static_cast<int32_t>(e | (o << 16));
        }
      }
    }
  });
}

// Converts NR weight rows (bf16 / f16) to f32 [NR][K] so the f32 micro-tile can use them.
template <typename WT>
void convert_rows(const WT* w, int64_t K, int nr, float* out) {
  for (int j = 0; j < nr; ++j) {
    const WT* src = w + j * K;
    float* dst = out + j * K;
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + k));
      if constexpr (std::is_same_v<WT, bf16>) {
        _mm512_storeu_ps(dst + k, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16)));
      } else {
        _mm512_storeu_ps(dst + k, _mm512_cvtph_ps(v));
      }
    }
    for (; k < K; ++k) dst[k] = w_scalar(src, k);
  }
}

// Runs fn.template operator()<nr>() with nr = the runtime value n (1..NR) as a compile-time constant.
template <int NR, typename Fn>
inline void with_nr(int n, Fn&& fn) {
  if constexpr (NR >= 1) {
    if (n == NR) return fn.template operator()<NR>();
    with_nr<NR - 1>(n, fn);
  }
}

template <int MR, int NR, typename WT>
void gemm_f32(ThreadPool& pool, const GemmArgs& a, const std::vector<float>& packed) {
  const int64_t K = a.K;
  const int64_t mblocks = (a.T + kLanes - 1) / kLanes;
  const int64_t panels = (a.N + NR - 1) / NR;
  pool.parallel_for(panels, [&](int64_t p0, int64_t p1) {
    static thread_local std::vector<float> wbuf;
    if constexpr (!std::is_same_v<WT, float>) wbuf.resize(static_cast<size_t>(NR * K));
    for (int64_t panel = p0; panel < p1; ++panel) {
      const int64_t n0 = panel * NR;
      const int nr = static_cast<int>(std::min<int64_t>(NR, a.N - n0));
      const WT* wsrc = static_cast<const WT*>(a.w) + n0 * K;
      const float* wp;
      if constexpr (std::is_same_v<WT, float>) {
        wp = wsrc;
      } else {
        convert_rows(wsrc, K, nr, wbuf.data());
        wp = wbuf.data();
      }
      with_nr<NR>(nr, [&]<int nr_>() {
        int64_t mb = 0;
        auto run = [&]<int mr_>() {
          __m512 acc[mr_][nr_];
          tile_f32<mr_, nr_>(packed.data() + mb * K * kLanes, K, wp, K, acc);
          store_tile<mr_, nr_>(acc, a, mb * kLanes, n0);
          mb += mr_;
        };
        while (mblocks - mb >= MR) run.template operator()<MR>();
        if constexpr (MR > 2)
          if (mblocks - mb >= 2) run.template operator()<2>();
        if (mblocks - mb >= 1) run.template operator()<1>();
      });
    }
  });
}

template <int MR, int NR>
void gemm_bf16dp(ThreadPool& pool, const GemmArgs& a, const std::vector<int32_t>& packed) {
  const int64_t K = a.K, K2 = a.K / 2;
  const int64_t mblocks = (a.T + kLanes - 1) / kLanes;
  const int64_t panels = (a.N + NR - 1) / NR;
  const bf16* w = static_cast<const bf16*>(a.w);
  pool.parallel_for(panels, [&](int64_t p0, int64_t p1) {
    for (int64_t panel = p0; panel < p1; ++panel) {
      const int64_t n0 = panel * NR;
      const int nr = static_cast<int>(std::min<int64_t>(NR, a.N - n0));
      const bf16* wp = w + n0 * K;
      with_nr<NR>(nr, [&]<int nr_>() {
        int64_t mb = 0;
        auto run = [&]<int mr_>() {
          __m512 acc[mr_][nr_];
          tile_bf16dp<mr_, nr_>(packed.data() + mb * K2 * kLanes, K2, wp, K, acc);
          store_tile<mr_, nr_>(acc, a, mb * kLanes, n0);
          mb += mr_;
        };
        while (mblocks - mb >= MR) run.template operator()<MR>();
        if constexpr (MR > 2)
          if (mblocks - mb >= 2) run.template operator()<2>();
        if (mblocks - mb >= 1) run.template operator()<1>();
      });
      if (K % 2 == 1) {
        // The last column of an odd K is not in the packed pairs: add it exactly.
        for (int j = 0; j < nr; ++j) {
          const float wl = bf16_to_float(wp[j * K + K - 1]);
          for (int64_t m = 0; m < a.T; ++m) a.y[m * a.N + n0 + j] += a.x[m * K + K - 1] * wl;
        }
      }
    }
  });
}

}  // namespace

void linear_avx512(ThreadPool& pool, const GemmArgs& a, bool use_bf16_dot) {
  if (a.T <= kMaxGemvTokens) {
    switch (a.wtype) {
      case DType::kF32: return gemv_dispatch<float>(pool, a);
      case DType::kBF16: return gemv_dispatch<bf16>(pool, a);
      case DType::kF16: return gemv_dispatch<f16>(pool, a);
      default: break;
    }
  }
  // Tile shape by token count: 64 tokens x 6 features when there are many tokens, else narrower and wider.
  static thread_local std::vector<int32_t> packed_pairs;
  static thread_local std::vector<float> packed;
  if (a.wtype == DType::kBF16 && use_bf16_dot) {
    pack_bf16_pairs(pool, a, packed_pairs);
    if (a.T > 32) return gemm_bf16dp<4, 6>(pool, a, packed_pairs);
    return gemm_bf16dp<1, 12>(pool, a, packed_pairs);
  }
  pack_f32(pool, a, packed);
  switch (a.wtype) {
    case DType::kF32:
      return a.T > 32 ? gemm_f32<4, 6, float>(pool, a, packed) : gemm_f32<1, 12, float>(pool, a, packed);
    case DType::kBF16: return a.T > 32 ? gemm_f32<4, 6, bf16>(pool, a, packed) : gemm_f32<1, 12, bf16>(pool, a, packed);
    case DType::kF16: return a.T > 32 ? gemm_f32<4, 6, f16>(pool, a, packed) : gemm_f32<1, 12, f16>(pool, a, packed);
    default: break;
  }
}

}  // namespace turbolm::cpu::detail
