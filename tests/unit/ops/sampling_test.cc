#include "ops/sampling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "ops/random.h"
#include "test_util.h"

namespace turbolm {
namespace {

std::vector<double> log_softmax(const std::vector<float>& l) {
  const double mx = *std::max_element(l.begin(), l.end());
  double sum = 0;
  for (float v : l) sum += std::exp(v - mx);
  std::vector<double> out(l.size());
  for (size_t i = 0; i < l.size(); ++i) out[i] = l[i] - mx - std::log(sum);
  return out;
}

SampleResult sample_one(std::vector<float> logits, const SamplingParams& p, std::vector<int32_t> penalty = {}) {
  Tensor t = Tensor::empty({1, static_cast<int64_t>(logits.size())}, DType::kF32);
  std::copy(logits.begin(), logits.end(), t.data<float>());
  const std::span<const int32_t> pen(penalty);
  return sample(ExecContext{}, t, std::span(&p, 1), std::span(&pen, 1))[0];
}

std::vector<float> logits_of(const std::vector<double>& probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

// Tokens drawn over many seeds: must be exactly the expected keep-set.
std::set<int32_t> drawn(const std::vector<float>& logits, SamplingParams p, int draws = 3000) {
  std::set<int32_t> out;
  p.greedy = false;
  for (int s = 0; s < draws; ++s) {
    p.seed = static_cast<uint64_t>(s);
    out.insert(sample_one(logits, p).token);
  }
  return out;
}

TEST(Sample, GreedyTiesAndLogprobs) {
  const std::vector<float> l = {0.5f, 3.0f, -1.0f, 3.0f, 2.0f};
  SamplingParams p;
  p.num_logprobs = 3;
  const SampleResult r = sample_one(l, p);
  EXPECT_EQ(r.token, 1);  // tie with id 3 -> lowest id
  const auto ls = log_softmax(l);
  EXPECT_NEAR(r.logprob, ls[1], 1e-6);
  ASSERT_EQ(r.top_logprobs.size(), 3u);
  EXPECT_EQ(r.top_logprobs[0].first, 1);
  EXPECT_EQ(r.top_logprobs[1].first, 3);
  EXPECT_EQ(r.top_logprobs[2].first, 4);
  for (const auto& [id, lp] : r.top_logprobs) EXPECT_NEAR(lp, ls[id], 1e-6);
}

TEST(Sample, RepetitionPenaltyHfSemanticsLogprobsFromRawLogits) {
  const std::vector<float> l = {2.0f, -1.0f, 0.5f, 1.9f};
  SamplingParams p;
  p.repetition_penalty = 2.0f;
  // Token 0 (positive) is divided, token 1 (negative) multiplied; duplicates count once.
  const SampleResult r = sample_one(l, p, {0, 1, 0, 0});
  EXPECT_EQ(r.token, 3);
  EXPECT_NEAR(r.logprob, log_softmax(l)[3], 1e-6);
  const SampleResult penalized = sample_one({2.0f, 1.5f}, p, {0});  // 2.0 / 2 = 1.0 < 1.5
  EXPECT_EQ(penalized.token, 1);
  const SampleResult negative = sample_one({-0.5f, -0.8f}, p, {0});  // -0.5 * 2 = -1.0 < -0.8
  EXPECT_EQ(negative.token, 1);
  EXPECT_NEAR(negative.logprob, log_softmax({-0.5f, -0.8f})[1], 1e-6);
}

// Regression: the temperature used to scale the row in place before the sampled token's logprob was read.
TEST(Sample, SampledLogprobIgnoresTemperature) {
  const std::vector<float> l = {1.0f, 2.5f, 0.3f, 2.0f};
  const auto ls = log_softmax(l);
  for (float temperature : {0.5f, 0.7f, 1.6f}) {
    SamplingParams p;
    p.greedy = false;
    p.temperature = temperature;
    for (uint64_t seed = 0; seed < 20; ++seed) {
      p.seed = seed;
      const SampleResult r = sample_one(l, p);
      EXPECT_NEAR(r.logprob, ls[r.token], 1e-6) << "temperature " << temperature << " token " << r.token;
    }
  }
}

TEST(Sample, KeepSetsAreExact) {
  const auto l = logits_of({0.4, 0.3, 0.2, 0.1});
  SamplingParams p;
  EXPECT_EQ(drawn(l, p), (std::set<int32_t>{0, 1, 2, 3}));
  p.top_k = 2;
  EXPECT_EQ(drawn(l, p), (std::set<int32_t>{0, 1}));
  p.top_k = 1;
  EXPECT_EQ(drawn(l, p), (std::set<int32_t>{0}));
  p = SamplingParams{};
  p.top_p = 0.6f;  // 0.4 < 0.6 <= 0.7
  EXPECT_EQ(drawn(l, p), (std::set<int32_t>{0, 1}));
  p.top_p = 0.75f;
  EXPECT_EQ(drawn(l, p), (std::set<int32_t>{0, 1, 2}));
  p.top_p = 0.3f;  // the first token alone already covers it
  EXPECT_EQ(drawn(l, p), (std::set<int32_t>{0}));
  p = SamplingParams{};
  p.min_p = 0.3f;  // keep prob >= 0.12
  EXPECT_EQ(drawn(l, p), (std::set<int32_t>{0, 1, 2}));
  p.min_p = 0.6f;  // keep prob >= 0.24
  EXPECT_EQ(drawn(l, p), (std::set<int32_t>{0, 1}));
  // top-k then top-p on the renormalised top-k distribution: {0.4, 0.3, 0.2} / 0.9 -> cumsum 0.44, 0.78, 1.
  p = SamplingParams{};
  p.top_k = 3;
  p.top_p = 0.7f;
  EXPECT_EQ(drawn(l, p), (std::set<int32_t>{0, 1}));
  // Temperature sharpens before the cut: T = 0.5 squares the ratios -> {16, 9, 4, 1} / 30.
  p = SamplingParams{};
  p.temperature = 0.5f;
  p.top_p = 0.5f;  // 16/30 = 0.53 >= 0.5
  EXPECT_EQ(drawn(l, p), (std::set<int32_t>{0}));
}

TEST(Sample, FrequenciesFollowProbabilities) {
  const auto l = logits_of({0.5, 0.25, 0.125, 0.125});
  SamplingParams p;
  p.greedy = false;
  std::vector<int> counts(4);
  const int n = 20000;
  for (int s = 0; s < n; ++s) {
    p.seed = 7;
    p.step = static_cast<uint64_t>(s);
    ++counts[sample_one(l, p).token];
  }
  const double expected[4] = {0.5, 0.25, 0.125, 0.125};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(counts[i] / double(n), expected[i], 0.015) << i;
}

// The documented procedure (ops/sampling.h, kernels/cpu/sampling.cc), written plainly with a full sort.
int32_t reference_draw(std::vector<float> l, const SamplingParams& p) {
  for (float& v : l) v = v / p.temperature;
  const float zmax = *std::max_element(l.begin(), l.end());
  std::vector<int32_t> order(l.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return l[a] > l[b] || (l[a] == l[b] && a < b); });
  if (p.top_k > 0 && p.top_k < static_cast<int>(order.size())) order.resize(p.top_k);
  const auto w = [&](int32_t id) { return std::exp(l[id] - zmax); };
  double total = 0;
  for (int32_t id : order) total += w(id);
  std::vector<int32_t> kept;
  for (int32_t id : order)
    if (w(id) >= p.min_p) kept.push_back(id);
  if (p.top_p < 1.0f) {
    double run = 0;
    for (size_t i = 0; i < kept.size(); ++i) {
      run += w(kept[i]);
      if (run >= p.top_p * total) {
        kept.resize(i + 1);
        break;
      }
    }
  }
  double mass = 0;
  for (int32_t id : kept) mass += w(id);
  const double target = random_uniform(p.seed, p.step) * mass;
  double acc = 0;
  for (int32_t id : kept) {
    acc += w(id);
    if (acc > target) return id;
  }
  return kept.back();
}

TEST(Sample, DrawMatchesDocumentedInverseCdf) {
  std::mt19937 rng(31);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> l(1000 + trial);
    for (float& v : l) v = dist(rng);
    SamplingParams p;
    p.greedy = false;
    p.temperature = 0.3f + 0.01f * (trial % 120);
    p.top_k = trial % 3 == 0 ? 0 : 5 + trial;
    p.top_p = trial % 4 == 0 ? 1.0f : 0.5f + 0.002f * trial;
    p.min_p = trial % 5 == 0 ? 0.05f : 0.0f;
    p.seed = 1000 + trial;
    p.step = trial;
    ASSERT_EQ(sample_one(l, p).token, reference_draw(l, p)) << "trial " << trial;
  }
}

TEST(Sample, SeedsAreDeterministicAndDistinct) {
  std::mt19937 rng(41);
  std::vector<float> l(5000);
  for (float& v : l) v = std::uniform_real_distribution<float>(-0.1f, 0.1f)(rng);
  SamplingParams p;
  p.greedy = false;
  std::set<int32_t> tokens;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    p.seed = seed;
    const int32_t a = sample_one(l, p).token;
    EXPECT_EQ(a, sample_one(l, p).token);
    tokens.insert(a);
  }
  EXPECT_GT(tokens.size(), 10u);
}

TEST(Sample, RowsInABatchAreIndependent) {
  std::mt19937 rng(51);
  const int64_t S = 5, V = 300;
  Tensor logits = test::random_tensor({S, V}, DType::kF32, rng, -4, 4);
  const std::vector<float> copy(logits.data<float>(), logits.data<float>() + S * V);
  std::vector<SamplingParams> params(S);
  for (int64_t s = 0; s < S; ++s) {
    params[s].greedy = s % 2 == 0;
    params[s].top_k = 50;
    params[s].seed = s;
    params[s].num_logprobs = 2;
  }
  ThreadPool pool(2);
  const auto res = sample(ExecContext{Device::cpu(), &pool}, logits, params, {});
  for (int64_t s = 0; s < S; ++s) {
    const std::vector<float> row(copy.begin() + s * V, copy.begin() + (s + 1) * V);
    const SampleResult one = sample_one(row, params[s]);
    EXPECT_EQ(res[s].token, one.token);
    EXPECT_NEAR(res[s].logprob, log_softmax(row)[one.token], 1e-5);
    EXPECT_EQ(res[s].top_logprobs.size(), 2u);
  }
}

TEST(Sample, RejectsBadParameters) {
  SamplingParams p;
  p.greedy = false;
  p.temperature = 0.0f;
  EXPECT_THROW(sample_one({1.0f, 2.0f}, p), Error);
  p.temperature = 1.0f;
  p.top_p = 0.0f;
  EXPECT_THROW(sample_one({1.0f, 2.0f}, p), Error);
}

TEST(SampleAsync, IdsMatchTheResultsAndWaitIsOnce) {
  std::mt19937 rng(7);
  Tensor logits = test::random_tensor({4, 90}, DType::kF32, rng, -3, 3);
  std::vector<SamplingParams> params(4);
  params[1].greedy = params[3].greedy = false;
  params[3].seed = 11;
  SampleFuture future = sample_async(ExecContext{}, logits, params, {});
  ASSERT_TRUE(future.valid());
  const Tensor ids = future.token_ids();
  ASSERT_EQ(ids.shape(), Shape({4}));
  const std::vector<SampleResult> results = future.wait();
  for (int s = 0; s < 4; ++s) EXPECT_EQ(ids.data<int32_t>()[s], results[s].token) << "row " << s;
  EXPECT_FALSE(future.valid());
  EXPECT_THROW(future.wait(), Error);
}

TEST(ResolveFeedbackTokens, ReplacesPlaceholdersOnly) {
  Tensor sampled = Tensor::empty({3}, DType::kI32);
  std::vector<int32_t> rows = {7, 9, 11};
  std::copy(rows.begin(), rows.end(), sampled.data<int32_t>());
  Tensor ids = Tensor::empty({5}, DType::kI32);
  const std::vector<int32_t> in = {5, feedback_token(2), feedback_token(0), 0, feedback_token(2)};
  std::copy(in.begin(), in.end(), ids.data<int32_t>());
  resolve_feedback_tokens(ExecContext{}, sampled, ids);
  EXPECT_EQ(std::vector<int32_t>(ids.data<int32_t>(), ids.data<int32_t>() + 5),
            (std::vector<int32_t>{5, 11, 7, 0, 11}));

  *ids.data<int32_t>() = feedback_token(3);  // past the sampled rows
  EXPECT_THROW(resolve_feedback_tokens(ExecContext{}, sampled, ids), Error);
  Tensor f32 = Tensor::empty({5}, DType::kF32);
  EXPECT_THROW(resolve_feedback_tokens(ExecContext{}, sampled, f32), Error);
}

}  // namespace
}  // namespace turbolm
