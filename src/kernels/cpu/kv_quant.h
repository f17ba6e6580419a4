// Per-token-per-head asymmetric KV quantization (the formula documented in ops/kv_cache.h), shared by the
// cache writer and the attention reader.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace turbolm::cpu {

// x: [D] f32 -> q: [D] i8, params {scale, zero} with x ~ (q - zero) * scale.
inline void quantize_int8(const float* x, int64_t D, int8_t* q, float* params) {
  float lo = x[0], hi = x[0];
  for (int64_t i = 1; i < D; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
  float scale = (hi - lo) / 255.0f;
  if (!(scale > 0.0f)) scale = 1.0f;
  for (int64_t i = 0; i < D; ++i) {
    const float r = std::nearbyint((x[i] - lo) / scale);
    q[i] = static_cast<int8_t>(std::clamp(r, 0.0f, 255.0f) - 128.0f);
  }
  params[0] = scale;
  params[1] = -lo / scale - 128.0f;
}

// x: [D] f32 (D even) -> q: [D/2] bytes, low nibble = even index; params as int8 with q in [0, 15].
inline void quantize_int4(const float* x, int64_t D, uint8_t* q, float* params) {
  float lo = x[0], hi = x[0];
  for (int64_t i = 1; i < D; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
  float scale = (hi - lo) / 15.0f;
  if (!(scale > 0.0f)) scale = 1.0f;
  for (int64_t i = 0; i < D; i += 2) {
    const auto nib = [&](float v) {
      return static_cast<uint8_t>(std::clamp(std::nearbyint((v - lo) / scale), 0.0f, 15.0f));
    };
    q[i / 2] = static_cast<uint8_t>(nib(x[i]) | (nib(x[i + 1]) << 4));
  }
  params[0] = scale;
  params[1] = -lo / scale;
}

inline void dequantize_int8(const int8_t* q, const float* params, int64_t D, float* x) {
  const float scale = params[0], zero = params[1];
  for (int64_t i = 0; i < D; ++i) x[i] = (static_cast<float>(q[i]) - zero) * scale;
}

inline void dequantize_int4(const uint8_t* q, const float* params, int64_t D, float* x) {
  const float scale = params[0], zero = params[1];
  for (int64_t i = 0; i < D; i += 2) {
    x[i] = (static_cast<float>(q[i / 2] & 0xf) - zero) * scale;
    x[i + 1] = (static_cast<float>(q[i / 2] >> 4) - zero) * scale;
  }
}

}  // namespace turbolm::cpu
