// The fused decode projections (ops/fused_linear.h) on the CPU, where each runs the separate ops: the same bytes
// as those ops one after another (the GPU's fused kernels are compared in tests/unit/cuda/fused_linear_test.cc).
#include "ops/fused_linear.h"

#include <gtest/gtest.h>

#include <cstring>

#include "ops/elementwise.h"
#include "ops/norm.h"
#include "test_util.h"

namespace turbolm {
namespace {

Tensor copy_of(const Tensor& t) {
  Tensor out = Tensor::empty(t.shape(), t.dtype());
  std::memcpy(out.data(), t.data(), t.nbytes());
  return out;
}

void expect_same_bytes(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.shape(), want.shape());
  ASSERT_EQ(got.dtype(), want.dtype());
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.nbytes()), 0);
}

// A decode layer's projections at a small size: o [H, H], gate_up [2I, H], down [H, I].
struct LayerWeights {
  static constexpr int64_t H = 48, I = 80;
  explicit LayerWeights(DType dtype, std::mt19937& rng)
      : o{test::random_tensor({H, H}, dtype, rng, -0.2, 0.2), {}},
        gate_up{test::random_tensor({2 * I, H}, dtype, rng, -0.2, 0.2), {}},
        down{test::random_tensor({H, I}, dtype, rng, -0.2, 0.2), {}},
        ffn_norm(test::random_tensor({H}, dtype, rng, 0.5, 1.5)) {}
  LinearWeight o, gate_up, down;
  Tensor ffn_norm;
};

TEST(FusedLinear, EachOpEqualsTheSeparateOps) {
  std::mt19937 rng(5);
  const ExecContext ctx;
  for (DType dtype : {DType::kF32, DType::kBF16}) {  // the weights' dtype; CPU activations are f32
    SCOPED_TRACE(dtype_name(dtype));
    const LayerWeights w(dtype, rng);
    const DType f32 = DType::kF32;
    const int64_t T = 2, H = LayerWeights::H, I = LayerWeights::I;
    const Tensor x = test::random_tensor({T, H}, f32, rng), gu = test::random_tensor({T, 2 * I}, f32, rng, -3, 3);
    const Tensor residual = test::random_tensor({T, H}, f32, rng);

    Tensor fused = Tensor::empty({T, 2 * I}, f32), normed = Tensor::empty({T, H}, f32);
    Tensor separate = Tensor::empty({T, 2 * I}, f32);
    rms_norm_linear(ctx, x, w.ffn_norm, 1e-6f, w.gate_up, fused);
    rms_norm(ctx, x, w.ffn_norm, 1e-6f, normed);
    linear(ctx, normed, w.gate_up, separate);
    expect_same_bytes(fused, separate);

    Tensor added = copy_of(residual), want = copy_of(residual), delta = Tensor::empty({T, H}, f32);
    linear_add(ctx, x, w.o, added);
    linear(ctx, x, w.o, delta);
    add(ctx, want, delta, want);
    expect_same_bytes(added, want);

    Tensor silu = copy_of(residual), want_silu = copy_of(residual), act = Tensor::empty({T, I}, f32);
    silu_mul_linear_add(ctx, gu, w.down, silu);
    silu_mul(ctx, gu, act);
    linear(ctx, act, w.down, delta);
    add(ctx, want_silu, delta, want_silu);
    expect_same_bytes(silu, want_silu);
  }
}

}  // namespace
}  // namespace turbolm
