// TensorParallelModel over NCCL on GPUs 0..tp-1 (one thread per GPU) against the whole model on the CPU.
// Needs at least two GPUs; skips otherwise, like every CUDA test on a machine without them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cuda_test_util.h"
#include "greedy_on_device.h"
#include "models/tensor_parallel_model.h"

namespace turbolm {
namespace {

using cuda_test::greedy_on_device;

class CudaTensorParallel : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaTensorParallel, GreedyEqualsCpu) {
  if (cuda_device_count() < 2) GTEST_SKIP() << "needs 2 GPUs, " << cuda_device_count() << " visible";
  const std::filesystem::path dir = std::filesystem::path(TURBOLM_SOURCE_DIR) / "tests/data/models" / GetParam();
  const auto ref = nlohmann::json::parse(std::ifstream(dir / "reference.json"));
  const std::vector<int32_t> prompt = ref["prompt_ids"], expected = ref["greedy_ids"];
  const int steps = static_cast<int>(expected.size());
  auto model = load_tensor_parallel_cuda(dir, 2);
  EXPECT_EQ(model->device(), Device::cuda(0));
  EXPECT_EQ(greedy_on_device(*model, prompt, steps), greedy_on_device(*load_model(dir), prompt, steps));
}

INSTANTIATE_TEST_SUITE_P(Families, CudaTensorParallel, ::testing::Values("llama3", "qwen3", "internlm2_dynamic"));

}  // namespace
}  // namespace turbolm
