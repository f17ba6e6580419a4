// The decode GEMVs against the CPU linear op: the classic kernel at both settings of its knob (16-byte loads in
// flight per lane: 4 / 8) and the sm_90 bulk-copy kernel.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "cuda_test_util.h"
#include "kernels/cuda/linear_gemv.cuh"
#include "ops/linear.h"

namespace turbolm {
namespace {

using namespace cuda_test;

TEST(CudaGemvTest, EveryVariantMatchesCpu) {
  TLM_REQUIRE_GPU();
  // (in, out): one warp per row; rows split over 2-8 warps with a partial last split and a partial last block;
  // rows longer than 8 warps' batches (each warp loops).
  for (const auto& [in, out] : std::vector<std::pair<int64_t, int64_t>>{{320, 37}, {4104, 1999}, {20000, 19}}) {
    for (int64_t tokens : {1, 2}) {
      for (bool with_bias : {false, true}) {
        const auto x = random_values(tokens * in, 5 + tokens, DType::kBF16);
        const auto w = random_values(out * in, 6, DType::kBF16, -0.1f, 0.1f);
        const auto b = random_values(out, 7, DType::kF32);
        LinearWeight cpu_w{host_tensor(w, {out, in}, DType::kBF16),
                           with_bias ? host_tensor(b, {out}, DType::kF32) : Tensor()};
        Tensor cpu_y = Tensor::empty({tokens, out}, DType::kF32);
        linear(cpu_ctx(), host_tensor(x, {tokens, in}, DType::kF32), cpu_w, cpu_y);
        const Tensor gw = to_gpu(cpu_w.weight), gx = to_gpu(host_tensor(x, {tokens, in}, DType::kBF16));
        const Tensor gb = with_bias ? to_gpu(cpu_w.bias) : Tensor();
        for (int loads : {4, 8}) {
          SCOPED_TRACE(testing::Message() << "in " << in << " out " << out << " tokens " << tokens << " bias "
                                          << with_bias << " loads " << loads);
          Tensor y = poisoned_gpu({tokens, out}, DType::kBF16);
          cuda::gemv_with_loads(DType::kBF16, gw.data(), gx.data(),
                                with_bias ? static_cast<const float*>(gb.data()) : nullptr, y.data(),
                                static_cast<int>(tokens), static_cast<int>(in), static_cast<int>(out), loads, nullptr);
          EXPECT_LE(relative_error(values_of(y), values_of(cpu_y)), tolerance(DType::kBF16));
        }
      }
    }
  }
}

bool device_is_hopper_or_newer() {
  int major = 0;
  return cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0) == cudaSuccess && major >= 9;
}

// The bulk GEMV's arguments for y = x . W^T (+ bias), from the tensors as linear() takes them.
cuda::BulkGemvArgs plain_args(const LinearWeight& w, const Tensor& x, Tensor& y) {
  cuda::BulkGemvArgs a;
  EXPECT_TRUE(cuda::bulk_gemv_operands(x, w, a));
  a.y = y.data();
  a.y_dtype = y.dtype();
  return a;
}

TEST(CudaGemvTest, BulkMatchesCpu) {
  TLM_REQUIRE_GPU();
  if (!device_is_hopper_or_newer()) GTEST_SKIP() << "the bulk-copy GEMV needs sm_90";
  // (in, out, dtype): short rows packed several to a ring slot, fewer rows than SMs (one row a block), rows that
  // wrap each warp's slots many times (4096 x 6000: 3 slots a warp, ~45 rows a block), rows just over one slot
  // (4104: two pieces, 288 + 225 vectors), the down projection's rows in three pieces with warps owning one or two
  // rows (12288 x 1100: 8-9 rows a block), more warps than rows (16384 x 300), a short last piece (20000: 4 x 512
  // + 452 vectors), x so long that fewer than 8 warps have slots (52000 at two tokens: 2), odd lengths, f16.
  struct Case {
    int64_t in, out;
    DType dtype;
  };
  for (const Case& c : std::vector<Case>{{320, 37, DType::kBF16},
                                         {4104, 1999, DType::kBF16},
                                         {4096, 6000, DType::kBF16},
                                         {12288, 1100, DType::kBF16},
                                         {16384, 300, DType::kBF16},
                                         {20000, 700, DType::kBF16},
                                         {52000, 200, DType::kBF16},
                                         {1032, 777, DType::kF16}}) {
    for (int64_t tokens : {1, 2}) {
      for (bool with_bias : {false, true}) {
        const auto x = random_values(tokens * c.in, 15 + tokens, c.dtype);
        const auto w = random_values(c.out * c.in, 16, c.dtype, -0.1f, 0.1f);
        const auto b = random_values(c.out, 17, DType::kF32);
        LinearWeight cpu_w{host_tensor(w, {c.out, c.in}, c.dtype),
                           with_bias ? host_tensor(b, {c.out}, DType::kF32) : Tensor()};
        Tensor cpu_y = Tensor::empty({tokens, c.out}, DType::kF32);
        linear(cpu_ctx(), host_tensor(x, {tokens, c.in}, DType::kF32), cpu_w, cpu_y);
        const Tensor gw = to_gpu(cpu_w.weight), gx = to_gpu(host_tensor(x, {tokens, c.in}, c.dtype));
        const Tensor gb = with_bias ? to_gpu(cpu_w.bias) : Tensor();
        for (DType y_dtype : {c.dtype, DType::kF32}) {
          SCOPED_TRACE(testing::Message()
                       << "in " << c.in << " out " << c.out << " " << dtype_label(c.dtype) << " tokens " << tokens
                       << " bias " << with_bias << " y " << dtype_label(y_dtype));
          Tensor y = poisoned_gpu({tokens, c.out}, y_dtype);
          ASSERT_TRUE(cuda::gemv_bulk(plain_args(LinearWeight{gw, gb}, gx, y), nullptr));
          // f32 output: only the f32 accumulation order differs from the CPU.
          EXPECT_LE(relative_error(values_of(y), values_of(cpu_y)), y_dtype == DType::kF32 ? 1e-5 : tolerance(c.dtype));
        }
      }
    }
  }
}

TEST(CudaGemvTest, BulkDeclinesWhatItDoesNotTake) {
  TLM_REQUIRE_GPU();
  if (!device_is_hopper_or_newer()) GTEST_SKIP() << "the bulk-copy GEMV needs sm_90";
  const Tensor w = to_gpu(host_tensor(std::vector<float>(64 * 40000, 0.5f), {64, 40000}, DType::kBF16));
  const Tensor x = to_gpu(host_tensor(std::vector<float>(3 * 40000, 0.5f), {3, 40000}, DType::kBF16));
  Tensor y = poisoned_gpu({3, 64}, DType::kBF16);
  auto args = [&](int tokens, int in) {
    cuda::BulkGemvArgs a = plain_args(LinearWeight{w, Tensor()}, x, y);
    a.tokens = tokens;
    a.in = in;
    return a;
  };
  EXPECT_TRUE(cuda::gemv_bulk(args(1, 4096), nullptr)) << "the reference call below must be one it takes";
  y = poisoned_gpu({3, 64}, DType::kBF16);
  EXPECT_FALSE(cuda::gemv_bulk(args(3, 4096), nullptr)) << "three tokens";
  EXPECT_FALSE(cuda::gemv_bulk(args(1, 120000), nullptr)) << "x leaves no room for two ring slots";
  EXPECT_FALSE(cuda::gemv_bulk(args(1, 4100), nullptr)) << "in not a multiple of 8";
  cuda::BulkGemvArgs a = args(1, 4096);
  a.w = static_cast<const bf16*>(w.data()) + 1;
  EXPECT_FALSE(cuda::gemv_bulk(a, nullptr)) << "unaligned weights";
  a = args(1, 4096);
  a.dtype = DType::kF32;
  EXPECT_FALSE(cuda::gemv_bulk(a, nullptr)) << "f32 activations";
  a = args(1, 4096);
  a.prologue = cuda::GemvPrologue::kSiluMul;
  EXPECT_FALSE(cuda::gemv_bulk(a, nullptr)) << "silu prologue with a stored result: not instantiated";
  a = args(1, 4096);
  a.prologue = cuda::GemvPrologue::kRmsNorm;
  a.gamma = x.data();
  a.epilogue = cuda::GemvEpilogue::kAddResidual;
  a.residual = y.data();
  EXPECT_FALSE(cuda::gemv_bulk(a, nullptr)) << "norm prologue with a residual add: not instantiated";
  EXPECT_TRUE(std::isnan(values_of(y)[0])) << "a declined call must not write";
}

}  // namespace
}  // namespace turbolm
