// KV cache quantization (ops/kv_cache.h), bit-identical to the CPU backend (kernels/cpu/kv_quant.h):
// asymmetric per token per head over [lo, hi], x ~ (q - zero) * scale.
//   int8: scale = (hi - lo) / 255, q = clamp(rint((x - lo) / scale), 0, 255) - 128, zero = -lo / scale - 128
//   int4: scale = (hi - lo) / 15,  q = clamp(rint((x - lo) / scale), 0, 15),        zero = -lo / scale
// A constant vector gets scale 1. int4 packs two values a byte, low nibble = even index.
#pragma once

#include "kernels/cuda/common.cuh"
#include "ops/kv_cache.h"

namespace turbolm::cuda {

template <KvQuant Q>
struct KvQuantTraits;
template <>
struct KvQuantTraits<KvQuant::kInt8> {
  static constexpr float kLevels = 255.0f, kOffset = 128.0f;
};
template <>
struct KvQuantTraits<KvQuant::kInt4> {
  static constexpr float kLevels = 15.0f, kOffset = 0.0f;
};

template <KvQuant Q>
__device__ __forceinline__ float kv_quant_scale(float lo, float hi) {
  const float scale = __fdiv_rn(hi - lo, KvQuantTraits<Q>::kLevels);
  return scale > 0.0f ? scale : 1.0f;
}

// The stored integer value (int8: in [-128, 127]; int4: in [0, 15]).
template <KvQuant Q>
__device__ __forceinline__ float kv_quantize(float x, float lo, float scale) {
  using Tr = KvQuantTraits<Q>;
  return fminf(fmaxf(rintf(__fdiv_rn(x - lo, scale)), 0.0f), Tr::kLevels) - Tr::kOffset;
}

template <KvQuant Q>
__device__ __forceinline__ float kv_quant_zero(float lo, float scale) {
  return __fdiv_rn(-lo, scale) - KvQuantTraits<Q>::kOffset;
}

// Bytes one head of D values takes in a quantized cache.
template <KvQuant Q>
__host__ __device__ constexpr int kv_head_bytes(int head_dim) {
  return Q == KvQuant::kInt8 ? head_dim : head_dim / 2;
}

// Stores n quantized values x(0) .. x(n - 1) of a head as its elements [first, first + n) into `dst`, the head's
// bytes (n and first even for int4: two values a byte, low nibble = even index).
template <KvQuant Q, typename Values>
__device__ __forceinline__ void store_quantized_run(Values x, int n, int first, float lo, float scale,
                                                    uint8_t* __restrict__ dst) {
  if constexpr (Q == KvQuant::kInt8) {
#pragma unroll
    for (int e = 0; e < n; ++e)
      dst[first + e] = static_cast<uint8_t>(static_cast<int8_t>(kv_quantize<Q>(x(e), lo, scale)));
  } else {
#pragma unroll
    for (int e = 0; e < n; e += 2) {
      const int lo_q = static_cast<int>(kv_quantize<Q>(x(e), lo, scale));
      const int hi_q = static_cast<int>(kv_quantize<Q>(x(e + 1), lo, scale));
      dst[(first + e) / 2] = static_cast<uint8_t>(lo_q | (hi_q << 4));
    }
  }
}

// One head's D values, held by a warp (lane owns elements [lane * D / 32, + D / 32) in x), quantized into
// `dst` (the head's kv_head_bytes bytes) with its (scale, zero) into *params. D / 32 must be even for int4.
template <KvQuant Q, int D>
__device__ __forceinline__ void store_head_quantized(const float (&x)[D / 32], uint8_t* __restrict__ dst,
                                                     float2* __restrict__ params) {
  constexpr int kPerLane = D / 32;
  static_assert(Q == KvQuant::kInt8 || kPerLane % 2 == 0, "int4 packs pairs of a lane's elements");
  const int lane = threadIdx.x & 31;
  float lo = INFINITY, hi = -INFINITY;
#pragma unroll
  for (int e = 0; e < kPerLane; ++e) {
    lo = fminf(lo, x[e]);
    hi = fmaxf(hi, x[e]);
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    lo = fminf(lo, __shfl_xor_sync(0xffffffffu, lo, o));
    hi = fmaxf(hi, __shfl_xor_sync(0xffffffffu, hi, o));
  }
  const float scale = kv_quant_scale<Q>(lo, hi);
  store_quantized_run<Q>([&](int e) { return x[e]; }, kPerLane, lane * kPerLane, lo, scale, dst);
  if (lane == 0) *params = make_float2(scale, kv_quant_zero<Q>(lo, scale));
}

}  // namespace turbolm::cuda
