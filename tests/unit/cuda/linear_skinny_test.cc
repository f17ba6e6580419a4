// The skinny tensor-core GEMM (kernels/cuda/linear_skinny.cu) called directly on device buffers, against an exact
// host reference. Inputs are small integers scaled by powers of two (x = a / 16, w = b / 64, |a|, |b| <= 16), exact
// in bf16 and f16, so one integer reference serves both dtypes and every f32 partial sum is exact: only the final
// rounding (and the bias add) differs from the reference.
#include "kernels/cuda/linear_skinny.cuh"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "cuda_test_util.h"

namespace turbolm {
namespace {

using namespace cuda_test;

using cuda::SkinnyGemmPlan;

constexpr float kGuard = 42.0f;  // value of the guard rows below y[tokens - 1]
constexpr int kGuardRows = 3;

std::vector<int16_t> random_ints(size_t n, std::mt19937& gen) {
  std::uniform_int_distribution<int> dist(-16, 16);
  std::vector<int16_t> v(n);
  for (int16_t& e : v) e = static_cast<int16_t>(dist(gen));
  return v;
}

std::vector<float> scaled(const std::vector<int16_t>& ints, float scale) {
  std::vector<float> v(ints.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = ints[i] * scale;
  return v;
}

// W = wb / 64 and an f32 bias, on the host and on the device (one dtype).
struct Weights {
  int in, out;
  std::vector<int16_t> wb;
  std::vector<float> bias;
  Tensor w_dev, bias_dev;
  Weights(int in_, int out_, uint32_t seed, DType dt) : in(in_), out(out_) {
    std::mt19937 gen(seed);
    wb = random_ints(size_t(out) * in, gen);
    std::uniform_real_distribution<float> bdist(-2.0f, 2.0f);
    bias.resize(out);
    for (float& b : bias) b = bdist(gen);
    w_dev = to_gpu(host_tensor(scaled(wb, 1.0f / 64), {out, in}, dt));
    bias_dev = to_gpu(host_tensor(bias, {out}, DType::kF32));
  }
  const float* bias_ptr(bool with_bias) const { return with_bias ? bias_dev.data<float>() : nullptr; }
};

// x = xa / 16 on the device, and y with guard rows: rows < tokens NaN, rows >= tokens kGuard.
struct Activations {
  int tokens;
  std::vector<int16_t> xa;
  Tensor x_dev, y_dev;
  Activations(int tokens_, const Weights& w, uint32_t seed, DType dt) : tokens(tokens_) {
    std::mt19937 gen(seed);
    xa = random_ints(size_t(tokens) * w.in, gen);
    x_dev = to_gpu(host_tensor(scaled(xa, 1.0f / 16), {tokens, w.in}, dt));
    std::vector<float> y0(size_t(tokens + kGuardRows) * w.out, NAN);
    std::fill(y0.begin() + size_t(tokens) * w.out, y0.end(), kGuard);
    y_dev = to_gpu(host_tensor(y0, {tokens + kGuardRows, w.out}, dt));
  }
};

// Exact: integer dot products (|sum| < 2^24), scaled by 1 / 1024, plus the bias.
std::vector<float> reference(const Weights& w, const Activations& a, bool with_bias) {
  std::vector<float> y(size_t(a.tokens) * w.out);
  for (int t = 0; t < a.tokens; ++t) {
    const int16_t* xr = a.xa.data() + size_t(t) * w.in;
    for (int o = 0; o < w.out; ++o) {
      const int16_t* wr = w.wb.data() + size_t(o) * w.in;
      int32_t dot = 0;
      for (int k = 0; k < w.in; ++k) dot += int32_t{xr[k]} * wr[k];
      y[size_t(t) * w.out + o] = static_cast<float>(double(dot) / 1024.0 + (with_bias ? w.bias[o] : 0.0));
    }
  }
  return y;
}

bool run(DType dt, const Weights& w, Activations& a, bool with_bias) {
  return cuda::skinny_gemm(dt, w.w_dev.data(), a.x_dev.data(), w.bias_ptr(with_bias), a.y_dev.data(), a.tokens, w.in,
                           w.out, nullptr);
}
bool run(DType dt, const Weights& w, Activations& a, bool with_bias, const SkinnyGemmPlan& plan) {
  return cuda::skinny_gemm(dt, w.w_dev.data(), a.x_dev.data(), w.bias_ptr(with_bias), a.y_dev.data(), a.tokens, w.in,
                           w.out, plan, nullptr);
}

// Checks y rows < tokens against the reference and that the guard rows still hold kGuard.
void expect_result(const Weights& w, const Activations& a, DType dt, bool with_bias) {
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const std::vector<float> all = values_of(a.y_dev);
  const size_t n = size_t(a.tokens) * w.out;
  const std::vector<float> got(all.begin(), all.begin() + n);
  EXPECT_LE(relative_error(got, reference(w, a, with_bias)), tolerance(dt));
  size_t guard_changed = 0;
  for (size_t i = n; i < all.size(); ++i) guard_changed += all[i] != kGuard;
  EXPECT_EQ(guard_changed, 0u) << "rows >= tokens were written";
}

class SkinnyGemmTest : public ::testing::TestWithParam<DType> {};

INSTANTIATE_TEST_SUITE_P(Dtypes, SkinnyGemmTest, ::testing::Values(DType::kBF16, DType::kF16),
                         [](const auto& info) { return std::string(dtype_label(info.param)); });

// The default plans over the token range and the shapes of the brief (odd T with bias, even T without).
TEST_P(SkinnyGemmTest, MatchesReference) {
  TLM_REQUIRE_GPU();
  const DType dt = GetParam();
  const int shapes[][2] = {{64, 64}, {1000, 4096}, {4096, 4096}, {64, 12288}, {4096, 64}};  // {out, in}
  for (const auto& shape : shapes) {
    const int out = shape[0], in = shape[1];
    const Weights w(in, out, 1 + out + in, dt);
    for (int tokens : {9, 15, 16, 17, 31, 32, 33, 64, 100, 127, 128}) {
      const bool with_bias = tokens % 2 == 1;
      const SkinnyGemmPlan plan = cuda::skinny_gemm_plan(tokens, in, out);
      SCOPED_TRACE(testing::Message() << "T " << tokens << " out " << out << " in " << in << " bias " << with_bias
                                      << " plan token_tile " << plan.token_tile << " k_warps " << plan.k_warps
                                      << " splits " << plan.splits);
      Activations a(tokens, w, 100 + tokens, dt);
      ASSERT_TRUE(run(dt, w, a, with_bias));
      expect_result(w, a, dt, with_bias);
    }
  }
}

// Both bias variants on one shape, and decode sizes below 9 (supported, though the GEMV is the caller's choice).
TEST_P(SkinnyGemmTest, BiasAndSmallBatches) {
  TLM_REQUIRE_GPU();
  const DType dt = GetParam();
  const Weights w(1024, 520, 7, dt);
  for (int tokens : {1, 8, 64}) {
    for (bool with_bias : {false, true}) {
      SCOPED_TRACE(testing::Message() << "T " << tokens << " bias " << with_bias);
      Activations a(tokens, w, 8 + tokens, dt);
      ASSERT_TRUE(run(dt, w, a, with_bias));
      expect_result(w, a, dt, with_bias);
    }
  }
}

// Every tiling the kernel accepts (token tile x k-warps x split-K), on a partial row tile (out = 1000) and a
// partial k step (in = 1000, not a multiple of 64); split-K results are bit-identical across runs.
TEST_P(SkinnyGemmTest, EveryPlanMatchesReference) {
  TLM_REQUIRE_GPU();
  const DType dt = GetParam();
  const Weights w(1000, 1000, 3, dt);
  for (int token_tile : {16, 32, 64, 128}) {
    const int max_k_warps = (token_tile == 128 ? 256 : 128) / token_tile;
    for (int k_warps = 1; k_warps <= max_k_warps; k_warps *= 2) {
      for (int splits : {1, 2, 5}) {
        const int tokens = token_tile - 3;
        const bool with_bias = splits != 2;
        SCOPED_TRACE(testing::Message() << "token_tile " << token_tile << " k_warps " << k_warps << " splits " << splits
                                        << " T " << tokens);
        Activations a(tokens, w, 1000 + token_tile * 10 + k_warps + splits, dt);
        const SkinnyGemmPlan plan{token_tile, k_warps, splits};
        ASSERT_TRUE(run(dt, w, a, with_bias, plan));
        expect_result(w, a, dt, with_bias);
        if (splits > 1) {
          const std::vector<float> first = values_of(a.y_dev);
          ASSERT_TRUE(run(dt, w, a, with_bias, plan));
          const std::vector<float> second = values_of(a.y_dev);
          EXPECT_EQ(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)), 0)
              << "split-K is not deterministic";
        }
      }
    }
  }
}

// Unsupported problems and plans return false and leave y alone.
TEST_P(SkinnyGemmTest, RejectsUnsupported) {
  TLM_REQUIRE_GPU();
  const DType dt = GetParam();
  const int tokens = 16, in = 64, out = 64;
  const Weights wts(in, out, 5, dt);
  Activations act(tokens, wts, 6, dt);
  // A buffer big enough for the out-of-range calls below (tokens up to 129) not to fault if one ran by mistake;
  // act.y_dev (NaN) is the sentinel being checked.
  Tensor big = to_gpu(host_tensor(std::vector<float>(129 * 80, 0.0f), {129, 80}, dt));
  const void* w = wts.w_dev.data();
  const void* x = act.x_dev.data();
  void* y = act.y_dev.data();
  auto call = [&](DType dtype, const void* w_, const void* x_, void* y_, int t, int k, int o) {
    return cuda::skinny_gemm(dtype, w_, x_, nullptr, y_, t, k, o, nullptr);
  };
  EXPECT_FALSE(call(DType::kF32, w, x, y, tokens, in, out));
  EXPECT_FALSE(call(DType::kI8, w, x, y, tokens, in, out));
  EXPECT_FALSE(call(dt, w, x, y, 0, in, out));
  EXPECT_FALSE(call(dt, big.data(), big.data(), y, 129, in, out));
  EXPECT_FALSE(call(dt, w, x, y, tokens, 0, out));
  EXPECT_FALSE(call(dt, w, x, y, tokens, 60, out));  // not a multiple of 8
  EXPECT_FALSE(call(dt, w, x, y, tokens, in, 0));
  EXPECT_FALSE(call(dt, nullptr, x, y, tokens, in, out));
  EXPECT_FALSE(call(dt, w, nullptr, y, tokens, in, out));
  EXPECT_FALSE(call(dt, w, x, nullptr, tokens, in, out));
  EXPECT_FALSE(call(dt, static_cast<const char*>(big.data()) + 2, x, y, tokens, in, out));  // w not 16-byte aligned
  EXPECT_FALSE(call(dt, w, static_cast<const char*>(big.data()) + 8, y, tokens, in, out));  // x not 16-byte aligned
  EXPECT_EQ(cuda::skinny_gemm_plan(0, in, out).token_tile, 0);
  EXPECT_EQ(cuda::skinny_gemm_plan(129, in, out).token_tile, 0);
  EXPECT_EQ(cuda::skinny_gemm_plan(tokens, 12, out).token_tile, 0);
  EXPECT_GE(cuda::skinny_gemm_plan(tokens, in, out).token_tile, tokens);

  auto run_plan = [&](SkinnyGemmPlan plan) {
    return cuda::skinny_gemm(dt, w, x, nullptr, y, tokens, in, out, plan, nullptr);
  };
  EXPECT_FALSE(run_plan({0, 1, 1}));
  EXPECT_FALSE(run_plan({8, 1, 1}));    // not a token tile
  EXPECT_FALSE(run_plan({24, 1, 1}));   // not a token tile
  EXPECT_FALSE(run_plan({32, 3, 1}));   // k_warps not a power of two
  EXPECT_FALSE(run_plan({64, 4, 1}));   // 64 * 4 > 128
  EXPECT_FALSE(run_plan({128, 4, 1}));  // 128 * 4 > 256
  EXPECT_FALSE(run_plan({16, 16, 1}));  // more k-warps than warps
  EXPECT_FALSE(run_plan({16, 1, 0}));   // no split
  EXPECT_FALSE(cuda::skinny_gemm(dt, w, x, nullptr, y, 17, in, out, SkinnyGemmPlan{16, 1, 1}, nullptr));  // T > tile

  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const std::vector<float> all = values_of(act.y_dev);
  size_t written = 0;
  for (size_t i = 0; i < size_t(tokens) * out; ++i) written += !std::isnan(all[i]);
  EXPECT_EQ(written, 0u) << "a rejected call wrote y";
}

}  // namespace
}  // namespace turbolm
