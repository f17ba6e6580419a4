// The fused decode projections (ops/fused_linear.h) on the GPU: bit-for-bit what the separate GPU ops give (the
// fused kernel promises their roundings; the residual add of the separate path is done on the host, rounded as the
// add kernel rounds), and within the dtype tolerance of the CPU ops.
#include "ops/fused_linear.h"

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "cuda_test_util.h"
#include "ops/norm.h"

namespace turbolm {
namespace {

using namespace cuda_test;

struct FusedCase {
  DType dtype;
  int64_t tokens, in, out;
};

std::string fused_case_name(const ::testing::TestParamInfo<FusedCase>& info) {
  const FusedCase& c = info.param;
  return std::string(dtype_label(c.dtype)) + "_t" + std::to_string(c.tokens) + "_" + std::to_string(c.in) + "x" +
         std::to_string(c.out);
}

class CudaFusedLinearTest : public ::testing::TestWithParam<FusedCase> {
 protected:
  void SetUp() override {
    if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  }
  // Host values rounded to the case's dtype, and the same tensor on the GPU in that dtype.
  std::pair<Tensor, Tensor> operand(const Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) const {
    const auto v = random_values(shape_numel(shape), seed, GetParam().dtype, lo, hi);
    return {host_tensor(v, shape, DType::kF32), to_gpu(host_tensor(v, shape, GetParam().dtype))};
  }
  LinearWeight weight(const Shape& shape, uint32_t seed, bool gpu) const {
    const auto v = random_values(shape_numel(shape), seed, GetParam().dtype, -0.1f, 0.1f);
    const Tensor host = host_tensor(v, shape, GetParam().dtype);
    return {gpu ? to_gpu(host) : host, Tensor()};
  }
};

void expect_bitwise_equal(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  size_t differ = 0;
  for (size_t i = 0; i < got.size(); ++i) differ += got[i] != want[i] ? 1 : 0;
  EXPECT_EQ(differ, 0u) << "of " << got.size() << " elements";
}

// residual + delta rounded to `dtype`, as the add kernel and add_rms_norm compute it (on the host: the CUDA add
// kernel takes only sizes that are multiples of 8, the fused kernel any).
std::vector<float> residual_plus(const Tensor& residual, const Tensor& delta, DType dtype) {
  std::vector<float> r = values_of(residual);
  const std::vector<float> d = values_of(delta);
  for (size_t i = 0; i < r.size(); ++i) r[i] = round_to(r[i] + d[i], dtype);
  return r;
}

TEST_P(CudaFusedLinearTest, RmsNormLinear) {
  const auto [dtype, T, in, out] = GetParam();
  const ExecContext gpu = gpu_ctx();
  const auto [x_cpu, x] = operand({T, in}, 21);
  const auto [gamma_cpu, gamma] = operand({in}, 22, 0.5f, 1.5f);
  const LinearWeight w = weight({out, in}, 23, true), w_cpu = weight({out, in}, 23, false);
  for (DType y_dtype : {dtype, DType::kF32}) {
    SCOPED_TRACE(dtype_label(y_dtype));
    Tensor fused = poisoned_gpu({T, out}, y_dtype), separate = poisoned_gpu({T, out}, y_dtype);
    rms_norm_linear(gpu, x, gamma, 1e-6f, w, fused);
    Tensor normed = Tensor::empty({T, in}, dtype, Device::cuda(0));
    rms_norm(gpu, x, gamma, 1e-6f, normed);
    linear(gpu, normed, w, separate);
    expect_bitwise_equal(values_of(fused), values_of(separate));
    Tensor cpu = Tensor::empty({T, out}, DType::kF32);
    rms_norm_linear(cpu_ctx(), x_cpu, gamma_cpu, 1e-6f, w_cpu, cpu);
    EXPECT_LE(relative_error(values_of(fused), values_of(cpu)), tolerance(dtype));
  }
}

TEST_P(CudaFusedLinearTest, LinearAdd) {
  const auto [dtype, T, in, out] = GetParam();
  const ExecContext gpu = gpu_ctx();
  const auto [x_cpu, x] = operand({T, in}, 31);
  auto [res_cpu, res_fused] = operand({T, out}, 32);
  const Tensor res_before = to_host(res_fused);
  const LinearWeight w = weight({out, in}, 33, true), w_cpu = weight({out, in}, 33, false);
  linear_add(gpu, x, w, res_fused);
  Tensor delta = Tensor::empty({T, out}, dtype, Device::cuda(0));
  linear(gpu, x, w, delta);
  expect_bitwise_equal(values_of(res_fused), residual_plus(res_before, delta, dtype));
  linear_add(cpu_ctx(), x_cpu, w_cpu, res_cpu);
  EXPECT_LE(relative_error(values_of(res_fused), values_of(res_cpu)), tolerance(dtype));
}

TEST_P(CudaFusedLinearTest, SiluMulLinearAdd) {
  const auto [dtype, T, in, out] = GetParam();
  const ExecContext gpu = gpu_ctx();
  const auto [gu_cpu, gate_up] = operand({T, 2 * in}, 41, -3.0f, 3.0f);
  auto [res_cpu, res_fused] = operand({T, out}, 42);
  const Tensor res_before = to_host(res_fused);
  const LinearWeight w = weight({out, in}, 43, true), w_cpu = weight({out, in}, 43, false);
  silu_mul_linear_add(gpu, gate_up, w, res_fused);
  Tensor act = Tensor::empty({T, in}, dtype, Device::cuda(0)), delta = Tensor::empty({T, out}, dtype, Device::cuda(0));
  silu_mul(gpu, gate_up, act);
  linear(gpu, act, w, delta);
  expect_bitwise_equal(values_of(res_fused), residual_plus(res_before, delta, dtype));
  silu_mul_linear_add(cpu_ctx(), gu_cpu, w_cpu, res_cpu);
  EXPECT_LE(relative_error(values_of(res_fused), values_of(res_cpu)), tolerance(dtype));
}

// Naming the next projection (the L2 warm-up hint) changes no result: next weights with more rows than SMs, with
// fewer (77: the later blocks warm nothing), rows not whole 16-byte pieces (dropped) and an unaligned view
// (dropped). The hinted weight is unchanged.
TEST_P(CudaFusedLinearTest, NextWeightHintChangesNothing) {
  const auto [dtype, T, in, out] = GetParam();
  const ExecContext gpu = gpu_ctx();
  const Tensor x = operand({T, in}, 51).second, gamma = operand({in}, 52, 0.5f, 1.5f).second;
  const Tensor gate_up = operand({T, 2 * in}, 53, -3.0f, 3.0f).second, res = operand({T, out}, 54).second;
  const LinearWeight w = weight({out, in}, 55, true);
  const LinearWeight big = weight({4096, 1032}, 57, true), small = weight({77, 2056}, 58, true);
  const LinearWeight odd = weight({300, 36}, 59, true);
  const Tensor flat = weight({65, 1024}, 60, true).weight.view({65 * 1024});
  const LinearWeight unaligned{flat.slice(0, 1, 1 + 64 * 1024).view({64, 1024}), Tensor()};  // 2 bytes off
  const std::vector<float> big_before = values_of(big.weight);
  Tensor want_y = poisoned_gpu({T, out}, dtype), want_add = to_gpu(to_host(res)), want_silu = to_gpu(to_host(res));
  rms_norm_linear(gpu, x, gamma, 1e-6f, w, want_y);
  linear_add(gpu, x, w, want_add);
  silu_mul_linear_add(gpu, gate_up, w, want_silu);
  for (const LinearWeight* next : {&big, &small, &odd, &unaligned}) {
    SCOPED_TRACE(next->weight.to_string());
    Tensor y = poisoned_gpu({T, out}, dtype), add = to_gpu(to_host(res)), silu = to_gpu(to_host(res));
    rms_norm_linear(gpu, x, gamma, 1e-6f, w, y, next);
    linear_add(gpu, x, w, add, next);
    silu_mul_linear_add(gpu, gate_up, w, silu, next);
    expect_bitwise_equal(values_of(y), values_of(want_y));
    expect_bitwise_equal(values_of(add), values_of(want_add));
    expect_bitwise_equal(values_of(silu), values_of(want_silu));
  }
  expect_bitwise_equal(values_of(big.weight), big_before);
}

// One and two tokens (the fused range), three (the separate ops), Qwen3-8B's hidden size, rows of 12288 (the down
// projection: three pieces a row; 1100 rows: warps with one or two rows), odd sizes (partial vectors of norm
// threads, fewer rows than SMs).
INSTANTIATE_TEST_SUITE_P(Shapes, CudaFusedLinearTest,
                         ::testing::Values(FusedCase{DType::kBF16, 1, 4096, 1536},
                                           FusedCase{DType::kBF16, 2, 4096, 640},
                                           FusedCase{DType::kBF16, 1, 12288, 512},
                                           FusedCase{DType::kBF16, 2, 12288, 1100},
                                           FusedCase{DType::kBF16, 2, 1032, 77}, FusedCase{DType::kF16, 1, 2056, 300},
                                           FusedCase{DType::kBF16, 3, 1024, 256}),
                         fused_case_name);

}  // namespace
}  // namespace turbolm
