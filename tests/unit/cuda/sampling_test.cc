// sample on CUDA against the CPU op: the same tokens (the draws use the same counter RNG and the same order)
// and logprobs within f32 rounding.
#include "ops/sampling.h"

#include <gtest/gtest.h>

#include "cuda_test_util.h"

namespace turbolm {
namespace {

using namespace cuda_test;

void expect_same_samples(int64_t vocab, const std::vector<SamplingParams>& params,
                         const std::vector<std::vector<int32_t>>& penalties, float spread) {
  const int64_t rows = static_cast<int64_t>(params.size());
  const auto logits = random_values(rows * vocab, static_cast<uint32_t>(vocab + rows), DType::kF32, -spread, spread);
  std::vector<std::span<const int32_t>> pen;
  for (const auto& p : penalties) pen.emplace_back(p);
  ExecContext cctx = cpu_ctx(), gctx = gpu_ctx();
  Tensor cpu_logits = host_tensor(logits, {rows, vocab}, DType::kF32);
  Tensor gpu_logits = to_gpu(cpu_logits);
  const auto want = sample(cctx, cpu_logits, params, pen);
  const auto got = sample(gctx, gpu_logits, params, pen);
  ASSERT_EQ(got.size(), want.size());
  for (int64_t s = 0; s < rows; ++s) {
    SCOPED_TRACE(testing::Message() << "row " << s);
    EXPECT_EQ(got[s].token, want[s].token);
    EXPECT_NEAR(got[s].logprob, want[s].logprob, 1e-4);
    ASSERT_EQ(got[s].top_logprobs.size(), want[s].top_logprobs.size());
    for (size_t n = 0; n < want[s].top_logprobs.size(); ++n) {
      EXPECT_EQ(got[s].top_logprobs[n].first, want[s].top_logprobs[n].first);
      EXPECT_NEAR(got[s].top_logprobs[n].second, want[s].top_logprobs[n].second, 1e-4);
    }
  }
}

SamplingParams random_params(float temperature, int top_k, float top_p, float min_p, uint64_t seed) {
  SamplingParams p;
  p.greedy = false;
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = top_p;
  p.min_p = min_p;
  p.seed = seed;
  p.step = seed * 7;
  return p;
}

TEST(CudaSamplingTest, GreedyWithPenaltyAndLogprobs) {
  TLM_REQUIRE_GPU();
  SamplingParams plain;
  SamplingParams penalized;
  penalized.repetition_penalty = 1.3f;
  penalized.num_logprobs = 5;
  SamplingParams logprobs;
  logprobs.num_logprobs = 20;
  expect_same_samples(151936, {plain, penalized, logprobs}, {{}, {3, 3, 17, 151935, 99}, {}}, 8.0f);
}

TEST(CudaSamplingTest, FiltersAndDrawsMatchCpu) {
  TLM_REQUIRE_GPU();
  std::vector<SamplingParams> params;
  std::vector<std::vector<int32_t>> pen;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    params.push_back(random_params(0.7f, 0, 1.0f, 0.0f, seed));      // temperature only
    params.push_back(random_params(1.0f, 40, 1.0f, 0.0f, seed));     // top-k
    params.push_back(random_params(0.8f, 0, 0.9f, 0.0f, seed));      // top-p
    params.push_back(random_params(1.0f, 0, 1.0f, 0.05f, seed));     // min-p
    params.push_back(random_params(1.2f, 100, 0.95f, 0.02f, seed));  // all of them
    for (int i = 0; i < 5; ++i) pen.push_back({});
  }
  params[4].repetition_penalty = 1.5f;
  params[4].num_logprobs = 3;
  pen[4] = {1, 2, 3, 2};
  expect_same_samples(32000, params, pen, 6.0f);
}

}  // namespace
}  // namespace turbolm
