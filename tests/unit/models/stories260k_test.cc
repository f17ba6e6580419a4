// A real trained model: 200 greedy tokens from BOS equal llama2.c's own oracle.
#include <gtest/gtest.h>

#include <numeric>

#include "model_test_util.h"
#include "ops/sampling.h"

namespace turbolm {
namespace {

TEST(Stories260K, Greedy200FromBosMatchesOracle) {
  const std::string shared = TURBOLM_SHARED_DIR;
  const auto oracle = testing_util::read_json(shared + "/models/stories260K/expected_greedy_ids.json");
  const std::vector<int32_t> prompt = oracle["prompt_ids"];
  const std::vector<int32_t> expected = oracle["greedy_ids"];
  ASSERT_EQ(expected.size(), 200u);
  auto model = load_model(shared + "/models/stories260K-hf");
  EXPECT_EQ(testing_util::greedy(*model, prompt, 200, 64), expected);
}

// Decode steps whose input token is a placeholder for the step before's sampled id (ForwardBatch::feedback, as the
// engine's overlapped steps send them) give the oracle's tokens; a placeholder without fed-back ids, or naming a
// row past them, is rejected before anything runs.
TEST(Stories260K, FedBackTokensMatchOracle) {
  const std::string shared = TURBOLM_SHARED_DIR;
  const auto oracle = testing_util::read_json(shared + "/models/stories260K/expected_greedy_ids.json");
  const std::vector<int32_t> prompt = oracle["prompt_ids"];
  const std::vector<int32_t> expected = oracle["greedy_ids"];
  auto model = load_model(shared + "/models/stories260K-hf");
  ASSERT_TRUE(model->supports_token_feedback());
  const int32_t steps = 40, block = 16;
  const int32_t len = static_cast<int32_t>(prompt.size());
  KvCache cache(model->kv_cache_spec((len + steps + block - 1) / block, block, KvQuant::kNone));
  std::vector<int32_t> table(cache.spec().num_blocks);
  std::iota(table.begin(), table.end(), 0);
  ExecContext ctx;
  const SamplingParams greedy;
  const std::span<const int32_t> none;

  ForwardBatch batch;
  batch.token_ids = prompt;
  for (int32_t i = 0; i < len; ++i) batch.positions.push_back(i);
  batch.seqs.push_back({0, len, len, table, true});
  std::vector<int32_t> got;
  for (int32_t t = 0; t < steps; ++t) {
    Tensor logits = model->forward(ctx, batch, cache);
    SampleFuture sampled = sample_async(ctx, logits, std::span(&greedy, 1), std::span(&none, 1));
    const int32_t context = batch.seqs[0].context_len;
    batch = ForwardBatch{};
    batch.feedback = sampled.token_ids();
    batch.token_ids = {feedback_token(0)};
    batch.positions = {context};
    batch.seqs.push_back({0, 1, context + 1, table, true});
    got.push_back(sampled.wait()[0].token);
  }
  EXPECT_EQ(got, std::vector<int32_t>(expected.begin(), expected.begin() + steps));

  ForwardBatch unfed = batch;
  unfed.feedback = Tensor();
  EXPECT_THROW(model->forward(ctx, unfed, cache), Error);
  ForwardBatch past = batch;
  past.token_ids = {feedback_token(1)};  // one row was fed back
  EXPECT_THROW(model->forward(ctx, past, cache), Error);
}

}  // namespace
}  // namespace turbolm
