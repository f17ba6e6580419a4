// Whole-model greedy decoding on CUDA against the CPU backend and transformers: the tiny family fixtures
// (tests/data/models, f32, head dims 16 / 32 -> the generic attention kernel) and stories260K (shared/models).
#include "models/model.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cuda_test_util.h"
#include "greedy_on_device.h"

namespace turbolm {
namespace {

using cuda_test::greedy_on_device;

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
  const auto cpu = greedy_on_device(*load_on(dir, Device::cpu()), prompt, steps);
  const auto gpu = greedy_on_device(*load_on(dir, Device::cuda(0)), prompt, steps);
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
  const auto cpu = greedy_on_device(*load_on(dir, Device::cpu()), prompt, 48);
  const auto gpu = greedy_on_device(*load_on(dir, Device::cuda(0)), prompt, 48);
  EXPECT_EQ(gpu, cpu);
}

}  // namespace
}  // namespace turbolm
