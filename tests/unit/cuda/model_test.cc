// Whole-model greedy decoding on CUDA against the CPU backend and transformers: the tiny family fixtures
// (tests/data/models, f32, head dims 16 / 32 -> the generic attention kernel) and stories260K (shared/models).
#include "models/model.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "cuda_test_util.h"
#include "ops/sampling.h"

namespace turbolm {
namespace {

// Prefill `prompt` as one sequence, then greedy-decode `steps` tokens with forward + sample on the model's device.
std::vector<int32_t> greedy(Model& model, const std::vector<int32_t>& prompt, int steps) {
  ExecContext ctx;
  ctx.device = model.device();
  const int64_t block = 16, blocks = (static_cast<int64_t>(prompt.size()) + steps + block - 1) / block;
  KvCache cache(model.kv_cache_spec(blocks + 1, block, KvQuant::kNone));
  std::vector<int32_t> table(blocks);
  std::iota(table.rbegin(), table.rend(), 1);  // not the identity mapping
  ForwardBatch batch;
  batch.token_ids = prompt;
  batch.positions.resize(prompt.size());
  std::iota(batch.positions.begin(), batch.positions.end(), 0);
  const int32_t n = static_cast<int32_t>(prompt.size());
  batch.seqs.push_back({0, n, n, table, true});
  std::vector<int32_t> out;
  const SamplingParams params;  // greedy
  const std::span<const int32_t> no_penalty;
  for (int i = 0; i < steps; ++i) {
    Tensor logits = model.forward(ctx, batch, cache);
    const auto result = sample(ctx, logits, std::span(&params, 1), std::span(&no_penalty, 1));
    out.push_back(result[0].token);
    const int32_t context = batch.seqs[0].context_len;
    batch.token_ids = {result[0].token};
    batch.positions = {context};
    batch.seqs[0] = {0, 1, context + 1, table, true};
  }
  return out;
}

std::unique_ptr<Model> load_on(const std::filesystem::path& dir, Device device) {
  LoadOptions options;
  options.device = device;
  return load_model(dir, options);
}

class CudaModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaModelTest, GreedyEqualsCpuAndTransformers) {
  TLM_REQUIRE_GPU();
  const std::filesystem::path dir = std::filesystem::path(TURBOLM_SOURCE_DIR) / "tests/data/models" / GetParam();
  const auto ref = nlohmann::json::parse(std::ifstream(dir / "reference.json"));
  const std::vector<int32_t> prompt = ref["prompt_ids"], expected = ref["greedy_ids"];
  const int steps = static_cast<int>(expected.size());
  const auto cpu = greedy(*load_on(dir, Device::cpu()), prompt, steps);
  const auto gpu = greedy(*load_on(dir, Device::cuda(0)), prompt, steps);
  EXPECT_EQ(gpu, cpu);
  EXPECT_EQ(gpu, expected);
}

INSTANTIATE_TEST_SUITE_P(Families, CudaModelTest,
                         ::testing::Values("llama3", "llama_linear_tied", "mistral", "qwen2_yarn", "qwen3",
                                           "internlm2_dynamic", "internlm3"));

TEST(CudaModelTest, Stories260kGreedyEqualsCpu) {
  TLM_REQUIRE_GPU();
  const std::filesystem::path dir = std::filesystem::path(TURBOLM_SHARED_DIR) / "models/stories260K-hf";
  if (!std::filesystem::exists(dir / "config.json")) GTEST_SKIP() << "no " << dir;
  const std::vector<int32_t> prompt = {1, 403, 407, 261, 378, 302, 415, 271};
  const auto cpu = greedy(*load_on(dir, Device::cpu()), prompt, 48);
  const auto gpu = greedy(*load_on(dir, Device::cuda(0)), prompt, 48);
  EXPECT_EQ(gpu, cpu);
}

}  // namespace
}  // namespace turbolm
