// The whole engine on the GPU (device "cuda") with a real trained model, shared/models/stories260K-hf: greedy
// outputs equal to the CPU engine's one request at a time and in every scheduling mode of the CPU engine test
// (stories_engine.h), with plain, int8 and int4 KV caches. Skips without a GPU.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "../engine/stories_engine.h"
#include "cuda_test_util.h"
#include "engine/llm_engine.h"
#include "engine/perplexity.h"

namespace turbolm {
namespace {

using testing_util::expect_greedy_in_every_scheduling_mode;
using testing_util::greedy_ids;
using testing_util::make_stories_engine;

EngineConfig on(const std::string& device, int quant_policy) {
  EngineConfig config;
  config.device = device;
  config.quant_policy = quant_policy;
  return config;
}

class CudaEngineTest : public ::testing::TestWithParam<int> {};  // quant_policy

INSTANTIATE_TEST_SUITE_P(KvCaches, CudaEngineTest, ::testing::Values(0, 8, 4),
                         [](const auto& info) { return "quant_policy_" + std::to_string(info.param); });

TEST_P(CudaEngineTest, GreedyEqualsCpuInEverySchedulingMode) {
  TLM_REQUIRE_GPU();
  if (!std::filesystem::exists(testing_util::kStoriesModel + "/config.json"))
    GTEST_SKIP() << "no " << testing_util::kStoriesModel;
  const int policy = GetParam();
  const std::vector<std::string> texts = testing_util::stories_prompts();
  EngineConfig cpu_config = on("cpu", policy), gpu_config = on("cuda", policy);
  cpu_config.enable_prefix_caching = gpu_config.enable_prefix_caching = false;
  const std::vector<std::vector<int32_t>> cpu = greedy_ids(*make_stories_engine(cpu_config), texts);
  for (const auto& ids : cpu) EXPECT_GE(ids.size(), 5u);
  std::vector<std::vector<int32_t>> alone;
  {
    auto engine = make_stories_engine(gpu_config);
    for (const auto& t : texts) alone.push_back(greedy_ids(*engine, {t})[0]);
  }
  EXPECT_EQ(alone, cpu) << "one request at a time on the GPU";
  expect_greedy_in_every_scheduling_mode(on("cuda", policy), texts, cpu);
}

// Scoring (eval ppl, /get_ppl) runs in the prefill with several logits rows a sequence: the GPU's perplexity over
// overlapping windows equals the CPU's.
TEST_P(CudaEngineTest, PerplexityEqualsCpu) {
  TLM_REQUIRE_GPU();
  if (!std::filesystem::exists(testing_util::kStoriesModel + "/config.json"))
    GTEST_SKIP() << "no " << testing_util::kStoriesModel;
  const int policy = GetParam();
  std::string text;
  for (const std::string& t : testing_util::stories_prompts()) text += t + ". ";
  auto cpu_engine = make_stories_engine(on("cpu", policy));
  const std::vector<int32_t> ids = cpu_engine->encode(text, true);
  ASSERT_GT(ids.size(), 300u);
  const PerplexityResult cpu = evaluate_perplexity(*cpu_engine, ids, 128, 64);
  const PerplexityResult gpu = evaluate_perplexity(*make_stories_engine(on("cuda", policy)), ids, 128, 64);
  EXPECT_EQ(gpu.num_tokens, cpu.num_tokens);
  EXPECT_NEAR(gpu.mean_nll, cpu.mean_nll, 1e-3 * cpu.mean_nll) << "quant_policy " << policy;
}

}  // namespace
}  // namespace turbolm
