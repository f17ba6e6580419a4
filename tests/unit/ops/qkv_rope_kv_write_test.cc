// qkv_rope_kv_write on the CPU against an f64 reference of split -> per-head RMSNorm -> RoPE -> cache write.
#include "ops/qkv_rope_kv_write.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "test_util.h"

namespace turbolm {
namespace {

using test::element;
using test::i32_tensor;
using test::random_tensor;

constexpr int64_t kQHeads = 4, kKvHeads = 2, kHeadDim = 16, kBlockSize = 4;

KvCacheSpec spec() {
  KvCacheSpec s;
  s.num_layers = 2;
  s.num_blocks = 4;
  s.block_size = kBlockSize;
  s.num_kv_heads = kKvHeads;
  s.head_dim = kHeadDim;
  s.dtype = DType::kF32;
  return s;
}

RopeTable table() {
  RopeTable t;
  t.rotary_dim = kHeadDim;
  for (int i = 0; i < kHeadDim / 2; ++i) t.inv_freq.push_back(static_cast<float>(std::pow(500.0, -2.0 * i / kHeadDim)));
  return t;
}

// One head (D values at `x`) normed with gamma (when given) and rotated (neox halves) by angle pos * inv_freq.
std::vector<double> reference_head(const Tensor& qkv, int64_t offset, const Tensor* gamma, float eps, int32_t pos) {
  std::vector<double> x(kHeadDim);
  for (int64_t d = 0; d < kHeadDim; ++d) x[d] = element(qkv, offset + d);
  if (gamma != nullptr) {
    double ss = 0.0;
    for (double v : x) ss += v * v;
    const double inv = 1.0 / std::sqrt(ss / kHeadDim + eps);
    for (int64_t d = 0; d < kHeadDim; ++d) x[d] *= inv * element(*gamma, d);
  }
  const RopeTable t = table();
  std::vector<double> y = x;
  for (int64_t i = 0; i < kHeadDim / 2; ++i) {
    const double angle = double(pos) * t.inv_freq[i];
    y[i] = x[i] * std::cos(angle) - x[i + kHeadDim / 2] * std::sin(angle);
    y[i + kHeadDim / 2] = x[i + kHeadDim / 2] * std::cos(angle) + x[i] * std::sin(angle);
  }
  return y;
}

TEST(QkvRopeKvWrite, MatchesTheStepByStepReference) {
  std::mt19937 rng(7);
  const std::vector<int32_t> positions = {0, 3, 100}, slots = {5, -1, 9};
  const int64_t T = 3, cols = (kQHeads + 2 * kKvHeads) * kHeadDim;
  const Tensor qkv = random_tensor({T, cols}, DType::kF32, rng, -2.0, 2.0);
  const QkNorm norm{random_tensor({kHeadDim}, DType::kF32, rng, 0.5, 1.5),
                    random_tensor({kHeadDim}, DType::kF32, rng, 0.5, 1.5), 1e-6f};
  KvCache cache(spec());
  // The cache's memory is uninitialized: a sentinel shows which slots the op wrote.
  std::fill_n(cache.key(1).data<float>(), cache.key(1).numel(), 1234.0f);
  Tensor q = Tensor::empty({T, kQHeads, kHeadDim}, DType::kF32);
  ExecContext ctx;
  qkv_rope_kv_write(ctx, qkv, norm, i32_tensor(positions), table(), i32_tensor(slots), cache, 1, q);

  for (int64_t t = 0; t < T; ++t) {
    for (int64_t h = 0; h < kQHeads; ++h) {
      const auto want = reference_head(qkv, t * cols + h * kHeadDim, &norm.q, norm.eps, positions[t]);
      for (int64_t d = 0; d < kHeadDim; ++d)
        EXPECT_NEAR(element(q, (t * kQHeads + h) * kHeadDim + d), want[d], 1e-5) << "q t" << t << " h" << h;
    }
    if (slots[t] < 0) continue;
    for (int64_t h = 0; h < kKvHeads; ++h) {
      const int64_t k_offset = t * cols + (kQHeads + h) * kHeadDim, v_offset = k_offset + kKvHeads * kHeadDim;
      const auto want_k = reference_head(qkv, k_offset, &norm.k, norm.eps, positions[t]);
      for (int64_t d = 0; d < kHeadDim; ++d) {
        const int64_t at = (slots[t] * kKvHeads + h) * kHeadDim + d;
        EXPECT_NEAR(element(cache.key(1), at), want_k[d], 1e-5) << "k t" << t << " h" << h;
        EXPECT_EQ(element(cache.value(1), at), element(qkv, v_offset + d)) << "v t" << t << " h" << h;
      }
    }
  }
  EXPECT_EQ(element(cache.key(1), 0), 1234.0) << "slot 0 was not written";
}

TEST(QkvRopeKvWrite, RejectsMismatchedShapes) {
  std::mt19937 rng(8);
  KvCache cache(spec());
  ExecContext ctx;
  Tensor q = Tensor::empty({1, kQHeads, kHeadDim}, DType::kF32);
  const Tensor narrow = random_tensor({1, (kQHeads + kKvHeads) * kHeadDim}, DType::kF32, rng);
  auto code_of = [&](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  EXPECT_EQ(code_of([&] {
              qkv_rope_kv_write(ctx, narrow, QkNorm{}, i32_tensor({0}), table(), i32_tensor({0}), cache, 0, q);
            }),
            ErrorCode::kInvalidArgument);
  const Tensor qkv = random_tensor({1, (kQHeads + 2 * kKvHeads) * kHeadDim}, DType::kF32, rng);
  EXPECT_EQ(code_of([&] {
              qkv_rope_kv_write(ctx, qkv, QkNorm{random_tensor({kHeadDim}, DType::kF32, rng), Tensor{}, 1e-6f},
                                i32_tensor({0}), table(), i32_tensor({0}), cache, 0, q);
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] {
              qkv_rope_kv_write(ctx, qkv, QkNorm{}, i32_tensor({0, 1}), table(), i32_tensor({0}), cache, 0, q);
            }),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace turbolm
