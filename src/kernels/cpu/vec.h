// Row primitives shared by the norm, element-wise and attention kernels, one implementation per ISA
// (vec_portable.cc, vec_avx2.cc, vec_avx512.cc). Kernels fetch the table once per call: vec_ops(active_isa()).
#pragma once

#include <cstdint>

#include "core/half.h"
#include "kernels/cpu/isa.h"

namespace turbolm::cpu {

struct VecOps {
  float (*dot)(const float* a, const float* b, int64_t n);
  float (*dot_bf16)(const float* a, const bf16* b, int64_t n);
  float (*dot_f16)(const float* a, const f16* b, int64_t n);
  // y[i] += alpha * x[i]
  void (*axpy)(float alpha, const float* x, float* y, int64_t n);
  void (*axpy_bf16)(float alpha, const bf16* x, float* y, int64_t n);
  void (*axpy_f16)(float alpha, const f16* x, float* y, int64_t n);
  void (*scale)(float* y, float s, int64_t n);
  float (*sum_squares)(const float* x, int64_t n);
  // out[i] = x[i] * s * gamma[i]   (out may alias x)
  void (*scale_mul)(const float* x, float s, const float* gamma, float* out, int64_t n);
  // out[i] = a[i] + b[i]           (out may alias a or b)
  void (*add)(const float* a, const float* b, float* out, int64_t n);
  // out[i] = gate[i] / (1 + exp(-gate[i])) * up[i]
  void (*silu_mul)(const float* gate, const float* up, float* out, int64_t n);
  // Elementwise f32 <-> bf16 / f16, round to nearest even.
  void (*f32_to_bf16)(const float* x, bf16* y, int64_t n);
  void (*bf16_to_f32)(const bf16* x, float* y, int64_t n);
  void (*f32_to_f16)(const float* x, f16* y, int64_t n);
  void (*f16_to_f32)(const f16* x, float* y, int64_t n);
};

const VecOps& vec_ops(Isa isa);

namespace detail {
const VecOps& vec_ops_portable();
const VecOps& vec_ops_avx2();
const VecOps& vec_ops_avx512();
}  // namespace detail

}  // namespace turbolm::cpu
