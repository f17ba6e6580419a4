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

}  // namespace turbolm::cuda
