#include "ops/linear.h"

#include <gtest/gtest.h>

#include "kernels/cpu/linear_kernels.h"
#include "test_util.h"

namespace turbolm {
namespace {

using test::available_isas;
using test::random_tensor;

struct Case {
  int64_t T, K, N;
};

// Every ISA path x weight dtype x shape (odd sizes, GEMV and GEMM token counts) x bias, vs an f64 reference on
// the stored weight values. Exact-f32 paths must match to 1e-5 of sum|x*w|; the vdpbf16ps path rounds the
// activations to bf16, so it gets the bf16 bound (2^-8 of sum|x*w|, well inside the 4e-2 bf16 tolerance).
TEST(Linear, MatchesF64ReferenceOnEveryPath) {
  std::mt19937 rng(1234);
  ThreadPool pool(3);
  const ExecContext ctx{Device::cpu(), &pool};
  const std::vector<Case> cases = {{1, 67, 131}, {3, 67, 131},  {17, 67, 131},  {2, 64, 48}, {4, 130, 37},
                                   {5, 96, 29},  {40, 130, 37}, {70, 256, 100}, {33, 1, 7},  {1, 1000, 5}};
  for (cpu::Isa isa : available_isas()) {
    cpu::ScopedIsaCap cap(isa);
    for (DType wt : {DType::kF32, DType::kBF16, DType::kF16}) {
      for (const Case& c : cases) {
        for (bool with_bias : {false, true}) {
          SCOPED_TRACE(::testing::Message() << "isa=" << cpu::isa_name(isa) << " w=" << dtype_name(wt) << " T=" << c.T
                                            << " K=" << c.K << " N=" << c.N << " bias=" << with_bias);
          const Tensor x = random_tensor({c.T, c.K}, DType::kF32, rng);
          LinearWeight w{random_tensor({c.N, c.K}, wt, rng), {}};
          if (with_bias) w.bias = random_tensor({c.N}, DType::kF32, rng);
          Tensor y = Tensor::empty({c.T, c.N}, DType::kF32);
          linear(ctx, x, w, y);
          const auto xd = test::to_f64(x), wd = test::to_f64(w.weight);
          const bool bf16_dot = isa == cpu::Isa::kAvx512Bf16 && wt == DType::kBF16 && c.T > cpu::detail::kMaxGemvTokens;
          const double tol = bf16_dot ? 1.0 / 256 : 1e-5;
          for (int64_t t = 0; t < c.T; ++t)
            for (int64_t n = 0; n < c.N; ++n) {
              double ref = with_bias ? test::element(w.bias, n) : 0.0, mag = 0.0;
              for (int64_t k = 0; k < c.K; ++k) {
                ref += xd[t * c.K + k] * wd[n * c.K + k];
                mag += std::abs(xd[t * c.K + k] * wd[n * c.K + k]);
              }
              ASSERT_NEAR(y.data<float>()[t * c.N + n], ref, tol * mag + 1e-6) << "t=" << t << " n=" << n;
            }
        }
      }
    }
  }
}

TEST(Linear, AcceptsBf16BiasAndRejectsBadShapes) {
  std::mt19937 rng(7);
  const ExecContext ctx;
  const Tensor x = random_tensor({2, 16}, DType::kF32, rng);
  LinearWeight w{random_tensor({8, 16}, DType::kBF16, rng), random_tensor({8}, DType::kBF16, rng)};
  Tensor y = Tensor::empty({2, 8}, DType::kF32);
  linear(ctx, x, w, y);
  for (int64_t n = 0; n < 8; ++n) {
    double ref = test::element(w.bias, n);
    for (int64_t k = 0; k < 16; ++k) ref += test::element(x, k) * test::element(w.weight, n * 16 + k);
    EXPECT_NEAR(y.data<float>()[n], ref, 1e-5);
  }
  Tensor bad = Tensor::empty({2, 9}, DType::kF32);
  EXPECT_THROW(linear(ctx, x, w, bad), Error);
  const Tensor x_bad = random_tensor({2, 15}, DType::kF32, rng);
  EXPECT_THROW(linear(ctx, x_bad, w, y), Error);
}

TEST(Linear, CudaTensorsWithoutCudaBackendAreUnsupported) {
#if TURBOLM_WITH_CUDA
  GTEST_SKIP() << "this build has the CUDA backend; tests/unit/cuda checks CUDA dispatch";
#endif
  float storage[4] = {1, 2, 3, 4};
  const ExecContext cuda_ctx{Device::cuda(0), nullptr};
  Tensor x = Tensor::wrap(storage, {1, 2}, DType::kF32, Device::cuda(0), nullptr);
  LinearWeight w{Tensor::wrap(storage, {1, 2}, DType::kF32, Device::cuda(0), nullptr), {}};
  Tensor y = Tensor::wrap(storage + 2, {1, 1}, DType::kF32, Device::cuda(0), nullptr);
  try {
    linear(cuda_ctx, x, w, y);
    FAIL() << "expected Unsupported";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("linear"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace turbolm
