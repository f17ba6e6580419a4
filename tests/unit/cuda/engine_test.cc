// The whole engine on the GPU (device "cuda") with a real trained model, shared/models/stories260K-hf: greedy
// outputs equal to the CPU engine's and the same in every scheduling mode (one request at a time, all together,
// prefix caching and its second pass from the cache, chunked prefill, a pool small enough to preempt), with plain,
// int8 and int4 KV caches. Skips without a GPU.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "../engine/run_requests.h"
#include "cuda_test_util.h"
#include "engine/llm_engine.h"

namespace turbolm {
namespace {

const std::string kModel = std::string(TURBOLM_SHARED_DIR) + "/models/stories260K-hf";

// stories260K's engine on `device` with a KV cache of `quant_policy`; pool of `blocks` blocks of `block_len` tokens.
struct EngineSetup {
  int quant_policy = 0;
  int block_len = 64;
  double blocks = 512;
  bool prefix_caching = false;
  int max_prefill = 8192;
};

std::unique_ptr<LlmEngine> make_engine(const EngineSetup& s, const std::string& device) {
  EngineConfig config;
  config.device = device;
  config.quant_policy = s.quant_policy;
  config.cache_block_seq_len = s.block_len;
  config.cache_max_entry_count = s.blocks;
  config.enable_prefix_caching = s.prefix_caching;
  config.max_prefill_token_num = s.max_prefill;
  config.num_threads = 1;
  return std::make_unique<LlmEngine>(load_engine_parts(kModel, config), config);
}

std::vector<std::string> prompts() {
  const char* names[] = {"Lily", "Tom", "Sue", "Ben", "Max", "Mia", "Sam", "Tim"};
  std::vector<std::string> out;
  for (int i = 0; i < 16; ++i) {
    std::string p = i % 2 == 0 ? "Once upon a time, there was a little girl named " : "One day, ";
    p += names[i % 8];
    if (i >= 8) p += ". She saw a big red ball in the park and she was very happy";
    out.push_back(p);
  }
  return out;
}

std::vector<std::vector<int32_t>> greedy_ids(LlmEngine& engine, const std::vector<std::string>& texts) {
  std::vector<Request> requests;
  for (const auto& t : texts) {
    Request r;
    r.prompt = t;
    r.gen.max_new_tokens = 40;
    requests.push_back(r);
  }
  std::vector<std::vector<int32_t>> out;
  for (const auto& r : testing_util::run_requests(engine, requests)) {
    EXPECT_TRUE(r.error.empty()) << r.error;
    out.push_back(r.ids);
  }
  return out;
}

class CudaEngineTest : public ::testing::TestWithParam<int> {};  // quant_policy

INSTANTIATE_TEST_SUITE_P(KvCaches, CudaEngineTest, ::testing::Values(0, 8, 4),
                         [](const auto& info) { return "quant_policy_" + std::to_string(info.param); });

TEST_P(CudaEngineTest, GreedyEqualsCpuInEverySchedulingMode) {
  TLM_REQUIRE_GPU();
  if (!std::filesystem::exists(kModel + "/config.json")) GTEST_SKIP() << "no " << kModel;
  const int policy = GetParam();
  const std::vector<std::string> texts = prompts();
  std::vector<std::vector<int32_t>> cpu;
  {
    auto engine = make_engine({.quant_policy = policy}, "cpu");
    cpu = greedy_ids(*engine, texts);
  }
  for (const auto& ids : cpu) EXPECT_GE(ids.size(), 5u);
  std::vector<std::vector<int32_t>> alone;
  {
    auto engine = make_engine({.quant_policy = policy}, "cuda");
    for (const auto& t : texts) alone.push_back(greedy_ids(*engine, {t})[0]);
  }
  EXPECT_EQ(alone, cpu) << "one request at a time on the GPU";
  struct Variant {
    const char* name;
    EngineSetup setup;
  };
  const std::vector<Variant> variants = {
      {"together", {.quant_policy = policy, .block_len = 16}},
      {"prefix caching", {.quant_policy = policy, .block_len = 8, .prefix_caching = true}},
      {"chunked prefill", {.quant_policy = policy, .block_len = 16, .max_prefill = 7}},
      {"tiny pool (preemption)", {.quant_policy = policy, .block_len = 8, .blocks = 30}},
  };
  for (const Variant& v : variants) {
    auto engine = make_engine(v.setup, "cuda");
    EXPECT_EQ(greedy_ids(*engine, texts), cpu) << v.name;
    if (v.setup.prefix_caching) {
      EXPECT_EQ(greedy_ids(*engine, texts), cpu) << v.name << ", second pass from the cache";
      EXPECT_GT(engine->stats().prefix_cache_hit_tokens, 0);
    }
    if (v.setup.blocks == 30) {
      EXPECT_GT(engine->stats().preemptions, 0) << v.name;
    }
  }
}

}  // namespace
}  // namespace turbolm
