#include "ops/rope.h"

#include <gtest/gtest.h>

#include <numbers>

#include "io/model_config.h"
#include "test_util.h"

namespace turbolm {
namespace {

ModelConfig config(RopeType type, double theta = 10000.0, int64_t head_dim = 64) {
  ModelConfig c;
  c.hidden_size = 512;
  c.num_attention_heads = 8;
  c.head_dim = head_dim;
  c.max_position_embeddings = 4096;
  c.rope_theta = theta;
  c.rope_scaling.type = type;
  c.rope_scaling.original_max_position_embeddings = 4096;
  return c;
}

std::vector<double> ref_default(double base, int dim) {
  std::vector<double> inv(dim / 2);
  for (int i = 0; i < dim / 2; ++i) inv[i] = 1.0 / std::pow(base, 2.0 * i / dim);
  return inv;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& ref, double rel = 2e-6) {
  ASSERT_EQ(got.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(got[i], ref[i], rel * std::abs(ref[i])) << "i=" << i;
}

TEST(RopeTable, DefaultAndLinear) {
  const RopeTable t = RopeTable::from_config(config(RopeType::kDefault, 1e6, 128));
  EXPECT_EQ(t.rotary_dim, 128);
  EXPECT_EQ(t.attention_scaling, 1.0f);
  expect_close(t.inv_freq, ref_default(1e6, 128));
  ModelConfig c = config(RopeType::kLinear);
  c.rope_scaling.factor = 4.0;
  auto ref = ref_default(10000.0, 64);
  for (double& f : ref) f /= 4.0;
  expect_close(RopeTable::from_config(c).inv_freq, ref);
}

TEST(RopeTable, DynamicNtkGrowsBaseBeyondOriginalLength) {
  ModelConfig c = config(RopeType::kDynamic);
  c.rope_scaling.factor = 2.0;
  const RopeTable t = RopeTable::from_config(c);
  expect_close(t.inv_freq, ref_default(10000.0, 64));
  expect_close(t.for_seq_len(4096).inv_freq, ref_default(10000.0, 64));
  const double base = 10000.0 * std::pow(2.0 * 10000 / 4096 - 1.0, 64.0 / 62.0);
  expect_close(t.for_seq_len(10000).inv_freq, ref_default(base, 64), 1e-5);
}

TEST(RopeTable, Llama3Smoothing) {
  ModelConfig c = config(RopeType::kLlama3, 500000.0, 128);
  c.rope_scaling.factor = 8;
  c.rope_scaling.low_freq_factor = 1;
  c.rope_scaling.high_freq_factor = 4;
  c.rope_scaling.original_max_position_embeddings = 8192;
  std::vector<double> ref = ref_default(500000.0, 128);
  int low = 0, mid = 0, high = 0;
  for (double& f : ref) {
    const double wavelen = 2 * std::numbers::pi / f;
    if (wavelen < 8192 / 4.0) {
      ++high;
    } else if (wavelen > 8192 / 1.0) {
      f /= 8;
      ++low;
    } else {
      const double smooth = (8192 / wavelen - 1) / (4 - 1);
      f = (1 - smooth) * f / 8 + smooth * f;
      ++mid;
    }
  }
  EXPECT_GT(low, 0);
  EXPECT_GT(mid, 0);
  EXPECT_GT(high, 0);
  expect_close(RopeTable::from_config(c).inv_freq, ref, 1e-5);
}

TEST(RopeTable, YarnRampAndAttentionFactor) {
  for (bool truncate : {true, false}) {
    ModelConfig c = config(RopeType::kYarn, 1e6, 128);
    c.rope_scaling.factor = 4;
    c.rope_scaling.original_max_position_embeddings = 32768;
    c.rope_scaling.truncate = truncate;
    const int dim = 128;
    const auto corr = [&](double rot) {
      return dim * std::log(32768 / (rot * 2 * std::numbers::pi)) / (2 * std::log(1e6));
    };
    double lo = corr(32), hi = corr(1);
    if (truncate) lo = std::floor(lo), hi = std::ceil(hi);
    lo = std::max(lo, 0.0), hi = std::min(hi, dim - 1.0);
    std::vector<double> ref = ref_default(1e6, dim);
    for (int i = 0; i < dim / 2; ++i) {
      const double extra = std::clamp((i - lo) / (hi - lo), 0.0, 1.0);
      const double ef = 1 - extra;
      ref[i] = ref[i] / 4 * (1 - ef) + ref[i] * ef;
    }
    const RopeTable t = RopeTable::from_config(c);
    expect_close(t.inv_freq, ref, 1e-5);
    EXPECT_NEAR(t.attention_scaling, 0.1 * std::log(4.0) + 1.0, 1e-6);
  }
  ModelConfig c = config(RopeType::kYarn);
  c.rope_scaling.factor = 40;
  c.rope_scaling.mscale = 1.0;
  c.rope_scaling.mscale_all_dim = 0.707;
  const double m = (0.1 * 1.0 * std::log(40.0) + 1) / (0.1 * 0.707 * std::log(40.0) + 1);
  EXPECT_NEAR(RopeTable::from_config(c).attention_scaling, m, 1e-6);
  c.rope_scaling.attention_factor = 1.25;
  EXPECT_EQ(RopeTable::from_config(c).attention_scaling, 1.25f);
}

TEST(RopeTable, LongRopeSwitchesTables) {
  ModelConfig c = config(RopeType::kLongRope, 10000.0, 8);
  c.max_position_embeddings = 131072;
  c.rope_scaling.original_max_position_embeddings = 4096;
  c.rope_scaling.short_factor = {1.0, 1.5, 2.0, 3.0};
  c.rope_scaling.long_factor = {2.0, 4.0, 8.0, 16.0};
  const RopeTable t = RopeTable::from_config(c);
  auto ref_s = ref_default(10000.0, 8), ref_l = ref_default(10000.0, 8);
  for (int i = 0; i < 4; ++i) ref_s[i] /= c.rope_scaling.short_factor[i], ref_l[i] /= c.rope_scaling.long_factor[i];
  expect_close(t.inv_freq, ref_s);
  expect_close(t.for_seq_len(4096).inv_freq, ref_s);
  expect_close(t.for_seq_len(5000).inv_freq, ref_l);
  EXPECT_NEAR(t.attention_scaling, std::sqrt(1 + std::log(32.0) / std::log(4096.0)), 1e-6);
}

TEST(Rope, RotatesHalvesLikeTransformers) {
  std::mt19937 rng(9);
  ThreadPool pool(2);
  const ExecContext ctx{Device::cpu(), &pool};
  ModelConfig c = config(RopeType::kYarn, 1e6, 64);  // attention_scaling != 1 is exercised too
  c.rope_scaling.factor = 2;
  const RopeTable table = RopeTable::from_config(c);
  for (DType dt : {DType::kF32, DType::kBF16}) {
    const int64_t T = 5, Hq = 4, Hk = 2, D = 64;
    Tensor q = test::random_tensor({T, Hq, D}, dt, rng), k = test::random_tensor({T, Hk, D}, dt, rng);
    const auto q0 = test::to_f64(q), k0 = test::to_f64(k);
    const Tensor pos = test::i32_tensor({0, 1, 17, 1000, 32767});
    rope(ctx, q, k, pos, table);
    const double tol = dt == DType::kF32 ? 2e-6 : 1.6e-2;
    for (auto [x0, x, H] : {std::tuple{&q0, &q, Hq}, std::tuple{&k0, &k, Hk}})
      for (int64_t t = 0; t < T; ++t)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t i = 0; i < D / 2; ++i) {
            const float angle = static_cast<float>(pos.data<int32_t>()[t]) * table.inv_freq[i];  // f32, as HF
            const double cs = std::cos(double{angle}) * table.attention_scaling,
                         sn = std::sin(double{angle}) * table.attention_scaling;
            const int64_t base = (t * H + h) * D;
            const double a = (*x0)[base + i], b = (*x0)[base + i + D / 2];
            ASSERT_NEAR(test::element(*x, base + i), a * cs - b * sn, tol * (1 + std::abs(a) + std::abs(b)));
            ASSERT_NEAR(test::element(*x, base + i + D / 2), b * cs + a * sn, tol * (1 + std::abs(a) + std::abs(b)));
          }
  }
}

}  // namespace
}  // namespace turbolm
