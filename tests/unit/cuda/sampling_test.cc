// sample on CUDA against the CPU op: the same tokens (the draws use the same counter RNG and the same order)
// and logprobs within f32 rounding.
#include "ops/sampling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "cuda_test_util.h"

namespace turbolm {
namespace {

using namespace cuda_test;

// `logits`: [params.size(), vocab], row-major.
void expect_same_samples(int64_t vocab, const std::vector<float>& logits, const std::vector<SamplingParams>& params,
                         const std::vector<std::vector<int32_t>>& penalties) {
  const int64_t rows = static_cast<int64_t>(params.size());
  ASSERT_EQ(static_cast<int64_t>(logits.size()), rows * vocab);
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

// Logits uniform in [-spread, spread].
void expect_same_samples(int64_t vocab, const std::vector<SamplingParams>& params,
                         const std::vector<std::vector<int32_t>>& penalties, float spread) {
  const int64_t rows = static_cast<int64_t>(params.size());
  expect_same_samples(vocab,
                      random_values(rows * vocab, static_cast<uint32_t>(vocab + rows), DType::kF32, -spread, spread),
                      params, penalties);
}

SamplingParams logprobs_params(int num_logprobs) {
  SamplingParams p;
  p.num_logprobs = num_logprobs;
  return p;
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

// The engine passes every row's history as penalty ids; rows with repetition_penalty 1 must ignore them (they are not
// uploaded) while a penalized row in the same call still uses its own.
TEST(CudaSamplingTest, PenaltyIdsOfUnpenalizedRowsAreIgnored) {
  TLM_REQUIRE_GPU();
  SamplingParams plain;
  SamplingParams sampled = plain;
  sampled.greedy = false;
  sampled.temperature = 0.8f;
  sampled.seed = 5;
  SamplingParams penalized;
  penalized.repetition_penalty = 1.5f;
  const std::vector<int32_t> history = {1, 7, 7, 4000, 4999, 12};
  expect_same_samples(5000, {plain, sampled, penalized, plain}, {history, history, history, {}}, 6.0f);
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

// The op reads each row in chunks (up to 64 per row, at least 2048 elements each, about two blocks per SM in all)
// and combines the chunks' results; these cases put the deciding elements in different chunks, fill whole chunks
// with -inf and end rows off 16-byte boundaries.

TEST(CudaSamplingTest, OneGreedyRowOverManyChunks) {
  TLM_REQUIRE_GPU();
  expect_same_samples(151936, {SamplingParams{}}, {{}}, 8.0f);
}

TEST(CudaSamplingTest, MaxTiedAcrossChunksTakesLowestId) {
  TLM_REQUIRE_GPU();
  constexpr int64_t kVocab = 151936;
  // Row 0: the max at 500 and 150000 (far-apart chunks); row 1: the same with 500 one ulp lower, so the later one
  // wins; row 2: the max at 90001..90003 (one 16-byte vector) and 150001 (a later chunk); rows 3-4: rows 0 and 2
  // asking for logprobs (the tied elements lead the list, lowest id first).
  auto logits = random_values(5 * kVocab, 7, DType::kF32, -8.0f, 8.0f);
  const auto at = [&](int64_t row, int64_t id) -> float& { return logits[row * kVocab + id]; };
  for (int64_t row : {0, 3}) at(row, 500) = at(row, 150000) = 20.0f;
  at(1, 150000) = 20.0f;
  at(1, 500) = std::nextafter(20.0f, 0.0f);
  for (int64_t row : {2, 4}) at(row, 90001) = at(row, 90002) = at(row, 90003) = at(row, 150001) = 12.5f;
  expect_same_samples(kVocab, logits,
                      {SamplingParams{}, SamplingParams{}, SamplingParams{}, logprobs_params(8), logprobs_params(5)},
                      {});
}

TEST(CudaSamplingTest, NegativeInfinityStretches) {
  TLM_REQUIRE_GPU();
  constexpr int64_t kVocab = 151936;
  // Row 0: -inf over [10000, 60000) (whole chunks and parts of others); row 1: -inf over the first and the last
  // 6000 elements; row 2: everything -inf but three elements; row 3: row 0 with logprobs; row 4: row 0, sampled.
  auto logits = random_values(5 * kVocab, 11, DType::kF32, -8.0f, 8.0f);
  const auto fill = [&](int64_t row, int64_t begin, int64_t end) {
    std::fill(logits.begin() + row * kVocab + begin, logits.begin() + row * kVocab + end, -INFINITY);
  };
  for (int64_t row : {0, 3, 4}) fill(row, 10000, 60000);
  fill(1, 0, 6000);
  fill(1, kVocab - 6000, kVocab);
  fill(2, 0, kVocab);
  logits[2 * kVocab + 3] = 1.0f;
  logits[2 * kVocab + 77777] = 2.0f;
  logits[2 * kVocab + kVocab - 1] = 2.0f;
  SamplingParams sampled = random_params(0.9f, 0, 0.95f, 0.0f, 5);
  sampled.num_logprobs = 2;
  expect_same_samples(kVocab, logits,
                      {SamplingParams{}, logprobs_params(5), logprobs_params(3), logprobs_params(32), sampled}, {});
}

TEST(CudaSamplingTest, ManyRowsOfOneChunkMixed) {
  TLM_REQUIRE_GPU();
  std::vector<SamplingParams> params(300);
  std::vector<std::vector<int32_t>> pen(300);
  for (int s = 0; s < 300; ++s) {
    if (s % 7 == 3) params[s].num_logprobs = 20;
    if (s % 11 == 5) {
      params[s].repetition_penalty = 1.4f;
      pen[s] = {s, 2 * s, 4999, s, 17};
    }
  }
  params[299] = random_params(0.8f, 50, 0.9f, 0.0f, 3);
  expect_same_samples(5000, params, pen, 6.0f);
}

TEST(CudaSamplingTest, TopLogprobsFromManyChunks) {
  TLM_REQUIRE_GPU();
  constexpr int64_t kVocab = 151936;
  // 64 large values, one every 2371 elements (so in every chunk, at every offset mod 4), some of them equal,
  // and 20 more inside one chunk so that chunk alone fills most of the list.
  auto logits = random_values(2 * kVocab, 13, DType::kF32, -6.0f, 6.0f);
  for (int64_t row = 0; row < 2; ++row) {
    for (int64_t k = 0; k < 64; ++k) logits[row * kVocab + 13 + k * 2371] = 10.0f + static_cast<float>(k % 16) * 0.25f;
    for (int64_t k = 0; k < 20; ++k) logits[row * kVocab + 40000 + k] = 13.0f + static_cast<float>(k % 5) * 0.5f;
  }
  SamplingParams penalized = logprobs_params(64);
  penalized.repetition_penalty = 2.0f;
  expect_same_samples(kVocab, logits, {logprobs_params(64), penalized}, {{}, {40000, 40001, 13, 2384}});
}

TEST(CudaSamplingTest, OddVocabSizes) {
  TLM_REQUIRE_GPU();
  // Rows start unaligned, and the row ends are not whole 16-byte vectors.
  for (int64_t vocab : {151937, 1001, 3}) {
    SCOPED_TRACE(testing::Message() << "vocab " << vocab);
    std::vector<SamplingParams> params{SamplingParams{}, logprobs_params(20), logprobs_params(64),
                                       SamplingParams{}, SamplingParams{},    random_params(1.0f, 0, 1.0f, 0.0f, 9)};
    params[3].repetition_penalty = 1.5f;
    params[4].num_logprobs = 2;
    expect_same_samples(vocab, params, {{}, {}, {}, {0, 1, 2}, {}, {}}, 8.0f);
  }
}

// Two samplings in flight at once (the second enqueued before the first is waited for, as overlapped engine steps
// do), waited for in reverse order: each gives the CPU's tokens, and its ids on the device match its results.
TEST(CudaSamplingTest, TwoAsyncSamplesInFlight) {
  TLM_REQUIRE_GPU();
  const int64_t rows = 5, vocab = 3001;
  std::vector<SamplingParams> params(rows);
  params[1] = random_params(0.7f, 40, 0.9f, 0.0f, 5);
  params[3] = logprobs_params(4);
  std::vector<Tensor> cpu, gpu;
  for (uint32_t seed : {21u, 22u}) {
    cpu.push_back(host_tensor(random_values(rows * vocab, seed, DType::kF32, -5.0f, 5.0f), {rows, vocab}, DType::kF32));
    gpu.push_back(to_gpu(cpu.back()));
  }
  SampleFuture first = sample_async(gpu_ctx(), gpu[0], params, {});
  SampleFuture second = sample_async(gpu_ctx(), gpu[1], params, {});
  const std::vector<SampleResult> got1 = second.wait(), got0 = first.wait();
  for (int k = 0; k < 2; ++k) {
    SCOPED_TRACE(testing::Message() << "sampling " << k);
    const std::vector<SampleResult>& g = k == 0 ? got0 : got1;
    const Tensor ids = to_host((k == 0 ? first : second).token_ids());
    const auto want = sample(cpu_ctx(), cpu[k], params, {});
    for (int64_t s = 0; s < rows; ++s) {
      EXPECT_EQ(g[s].token, want[s].token) << "row " << s;
      EXPECT_EQ(ids.data<int32_t>()[s], g[s].token) << "row " << s;
    }
  }
}

TEST(CudaSamplingTest, ResolveFeedbackTokensMatchesCpu) {
  TLM_REQUIRE_GPU();
  const std::vector<int32_t> sampled = {40, 41, 42, 43};
  std::vector<int32_t> ids;
  for (int i = 0; i < 700; ++i) ids.push_back(i % 3 == 0 ? feedback_token(i % 4) : i);
  Tensor cpu_ids = host_i32(ids, {700});
  resolve_feedback_tokens(cpu_ctx(), host_i32(sampled, {4}), cpu_ids);
  Tensor gpu_ids = to_gpu(host_i32(ids, {700}));
  resolve_feedback_tokens(gpu_ctx(), to_gpu(host_i32(sampled, {4})), gpu_ids);
  const Tensor got = to_host(gpu_ids);
  EXPECT_EQ(std::vector<int32_t>(got.data<int32_t>(), got.data<int32_t>() + 700),
            std::vector<int32_t>(cpu_ids.data<int32_t>(), cpu_ids.data<int32_t>() + 700));
}

}  // namespace
}  // namespace turbolm
