// Helpers for the CUDA-vs-CPU op tests: random host data, uploads, downloads and relative error.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/half.h"
#include "core/tensor.h"
#include "kernels/cuda/cuda_runtime.h"
#include "ops/elementwise.h"
#include "ops/exec_context.h"
#include "ops/kv_cache.h"

namespace turbolm::cuda_test {

#define TLM_REQUIRE_GPU() \
  if (!::turbolm::cuda_device_available()) GTEST_SKIP() << "no CUDA device"

inline ExecContext cpu_ctx() { return ExecContext{}; }
inline ExecContext gpu_ctx() {
  ExecContext ctx;
  ctx.device = Device::cuda(0);
  return ctx;
}

// Relative tolerance by activation dtype (DESIGN.md §8).
inline double tolerance(DType dtype) {
  switch (dtype) {
    case DType::kF32: return 1e-5;
    case DType::kF16: return 1e-2;
    default: return 4e-2;
  }
}

// Round-trips v through `dtype`, so host references see exactly the values the device sees.
inline float round_to(float v, DType dtype) {
  if (dtype == DType::kBF16) return bf16_to_float(float_to_bf16(v));
  if (dtype == DType::kF16) return f16_to_float(float_to_f16(v));
  return v;
}

inline std::vector<float> random_values(size_t n, uint32_t seed, DType dtype, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = round_to(dist(gen), dtype);
  return v;
}

// A host tensor of `dtype` holding `values`.
inline Tensor host_tensor(const std::vector<float>& values, const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::kF32) t.data<float>()[i] = values[i];
    if (dtype == DType::kBF16) t.data<bf16>()[i] = float_to_bf16(values[i]);
    if (dtype == DType::kF16) t.data<f16>()[i] = float_to_f16(values[i]);
  }
  return t;
}

inline Tensor host_i32(const std::vector<int32_t>& values, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::kI32);
  std::copy(values.begin(), values.end(), t.data<int32_t>());
  return t;
}

inline Tensor to_gpu(const Tensor& host) {
  Tensor d = Tensor::empty(host.shape(), host.dtype(), Device::cuda(0));
  ExecContext ctx = gpu_ctx();
  copy(ctx, host, d);
  return d;
}

inline Tensor to_host(const Tensor& device) {
  Tensor h = Tensor::empty(device.shape(), device.dtype());
  ExecContext ctx = gpu_ctx();
  copy(ctx, device, h);
  return h;
}

inline std::vector<float> values_of(const Tensor& t) {
  const Tensor h = t.device().is_cpu() ? t : to_host(t);
  std::vector<float> v(h.numel());
  for (size_t i = 0; i < v.size(); ++i) {
    if (h.dtype() == DType::kF32) v[i] = h.data<float>()[i];
    if (h.dtype() == DType::kBF16) v[i] = bf16_to_float(h.data<bf16>()[i]);
    if (h.dtype() == DType::kF16) v[i] = f16_to_float(h.data<f16>()[i]);
  }
  return v;
}

// ||got - want|| / ||want||; NaN anywhere gives infinity.
inline double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  EXPECT_EQ(got.size(), want.size());
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    diff += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    norm += double(want[i]) * want[i];
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

inline const char* dtype_label(DType dtype) {
  return dtype == DType::kF32 ? "f32" : dtype == DType::kBF16 ? "bf16" : "f16";
}

inline const char* kv_quant_label(KvQuant quant) {
  return quant == KvQuant::kNone ? "plain" : quant == KvQuant::kInt8 ? "int8" : "int4";
}

// A point of the attention kernels' instantiation matrix: activation dtype x head_dim x KV cache kind.
struct KvCase {
  DType dtype;
  int head_dim;
  KvQuant quant;
};

inline std::string kv_case_name(const ::testing::TestParamInfo<KvCase>& info) {
  const KvCase& c = info.param;
  return std::string(dtype_label(c.dtype)) + "_d" + std::to_string(c.head_dim) + "_" + kv_quant_label(c.quant);
}

// The whole matrix the specialised kernels are instantiated for: {bf16, f16} x head_dim {64, 128} x {plain, int8,
// int4}.
inline std::vector<KvCase> kv_matrix_cases() {
  std::vector<KvCase> cases;
  for (DType dt : {DType::kBF16, DType::kF16})
    for (int d : {64, 128})
      for (KvQuant q : {KvQuant::kNone, KvQuant::kInt8, KvQuant::kInt4}) cases.push_back({dt, d, q});
  return cases;
}

// A device tensor filled with NaN, so that an element the op fails to write fails the comparison.
inline Tensor poisoned_gpu(const Shape& shape, DType dtype) {
  return to_gpu(host_tensor(std::vector<float>(shape_numel(shape), NAN), shape, dtype));
}

}  // namespace turbolm::cuda_test
