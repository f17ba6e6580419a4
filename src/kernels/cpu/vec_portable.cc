// Portable row primitives: plain loops the compiler may vectorize for the baseline ISA.
#include <cmath>

#include "kernels/cpu/vec.h"

namespace turbolm::cpu {
namespace {

// Four partial sums so the loop is not one long dependency chain.
template <typename T, typename Load>
float dot_impl(const float* a, const T* b, int64_t n, Load load) {
  float s[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; ++j) s[j] += a[i + j] * load(b[i + j]);
  for (; i < n; ++i) s[0] += a[i] * load(b[i]);
  return (s[0] + s[1]) + (s[2] + s[3]);
}

float dot(const float* a, const float* b, int64_t n) {
  return dot_impl(a, b, n, [](float v) { return v; });
}
float dot_bf16(const float* a, const bf16* b, int64_t n) { return dot_impl(a, b, n, bf16_to_float); }
float dot_f16(const float* a, const f16* b, int64_t n) { return dot_impl(a, b, n, f16_to_float); }

void axpy(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}
void axpy_bf16(float alpha, const bf16* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * bf16_to_float(x[i]);
}
void axpy_f16(float alpha, const f16* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * f16_to_float(x[i]);
}
void scale(float* y, float s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] *= s;
}
float sum_squares(const float* x, int64_t n) { return dot(x, x, n); }
void scale_mul(const float* x, float s, const float* gamma, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * s * gamma[i];
}
void add(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}
void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}
void f32_to_bf16(const float* x, bf16* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = float_to_bf16(x[i]);
}
void bf16_to_f32(const bf16* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_float(x[i]);
}
void f32_to_f16(const float* x, f16* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = float_to_f16(x[i]);
}
void f16_to_f32(const f16* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = f16_to_float(x[i]);
}

}  // namespace

namespace detail {
const VecOps& vec_ops_portable() {
  static const VecOps ops{dot,       dot_bf16, dot_f16,  axpy,        axpy_bf16,   axpy_f16,   scale,     sum_squares,
                          scale_mul, add,      silu_mul, f32_to_bf16, bf16_to_f32, f32_to_f16, f16_to_f32};
  return ops;
}
}  // namespace detail

const VecOps& vec_ops(Isa isa) {
  switch (isa) {
    case Isa::kPortable: return detail::vec_ops_portable();
    case Isa::kAvx2: return detail::vec_ops_avx2();
    case Isa::kAvx512:
    case Isa::kAvx512Bf16: return detail::vec_ops_avx512();
  }
  return detail::vec_ops_portable();
}

}  // namespace turbolm::cpu
