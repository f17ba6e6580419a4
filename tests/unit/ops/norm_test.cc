#include "ops/norm.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace turbolm {
namespace {

std::vector<double> ref_rms_norm(const std::vector<double>& x, const std::vector<double>& g, int64_t N, int64_t D,
                                 double eps) {
  std::vector<double> out(x.size());
  for (int64_t r = 0; r < N; ++r) {
    double ss = 0;
    for (int64_t d = 0; d < D; ++d) ss += x[r * D + d] * x[r * D + d];
    const double inv = 1.0 / std::sqrt(ss / D + eps);
    for (int64_t d = 0; d < D; ++d) out[r * D + d] = x[r * D + d] * inv * g[d];
  }
  return out;
}

TEST(RmsNorm, MatchesF64ReferenceForEveryGammaAndActivationDtype) {
  std::mt19937 rng(11);
  ThreadPool pool(2);
  const ExecContext ctx{Device::cpu(), &pool};
  for (cpu::Isa isa : test::available_isas()) {
    cpu::ScopedIsaCap cap(isa);
    for (DType act : {DType::kF32, DType::kBF16, DType::kF16})
      for (DType gt : {DType::kF32, DType::kBF16, DType::kF16})
        for (auto [N, D] : {std::pair<int64_t, int64_t>{1, 67}, {5, 128}, {300, 33}}) {
          SCOPED_TRACE(::testing::Message() << cpu::isa_name(isa) << " act=" << dtype_name(act)
                                            << " gamma=" << dtype_name(gt) << " N=" << N << " D=" << D);
          const Tensor x = test::random_tensor({N, D}, act, rng, -3, 3);
          const Tensor g = test::random_tensor({D}, gt, rng, 0.5, 1.5);
          Tensor out = Tensor::empty({N, D}, act);
          rms_norm(ctx, x, g, 1e-6f, out);
          const auto ref = ref_rms_norm(test::to_f64(x), test::to_f64(g), N, D, 1e-6);
          const double tol = act == DType::kF32 ? 1e-5 : act == DType::kBF16 ? 8e-3 : 1e-3;
          for (int64_t i = 0; i < N * D; ++i) ASSERT_NEAR(test::element(out, i), ref[i], tol * (1 + std::abs(ref[i])));

          // In place (out aliases x) and the fused residual form.
          Tensor residual = test::random_tensor({N, D}, act, rng, -2, 2);
          const Tensor delta = test::random_tensor({N, D}, act, rng, -2, 2);
          auto sum = test::to_f64(residual);
          const auto dd = test::to_f64(delta);
          for (size_t i = 0; i < sum.size(); ++i) sum[i] += dd[i];
          Tensor normed = Tensor::empty({N, D}, act);
          add_rms_norm(ctx, residual, delta, g, 1e-5f, normed);
          const auto r2 = test::to_f64(residual);
          for (size_t i = 0; i < sum.size(); ++i) ASSERT_NEAR(r2[i], sum[i], tol * (1 + std::abs(sum[i])));
          const auto ref2 = ref_rms_norm(r2, test::to_f64(g), N, D, 1e-5);
          for (int64_t i = 0; i < N * D; ++i)
            ASSERT_NEAR(test::element(normed, i), ref2[i], tol * (1 + std::abs(ref2[i])));
          rms_norm(ctx, residual, g, 1e-5f, residual);
          for (int64_t i = 0; i < N * D; ++i)
            ASSERT_NEAR(test::element(residual, i), ref2[i], tol * (1 + std::abs(ref2[i])));
        }
  }
}

TEST(RmsNorm, RejectsMismatchedGamma) {
  std::mt19937 rng(1);
  const Tensor x = test::random_tensor({2, 8}, DType::kF32, rng);
  const Tensor g = test::random_tensor({7}, DType::kF32, rng);
  Tensor out = Tensor::empty({2, 8}, DType::kF32);
  EXPECT_THROW(rms_norm(ExecContext{}, x, g, 1e-6f, out), Error);
}

}  // namespace
}  // namespace turbolm
