// TensorParallelModel over NCCL on GPUs 0..tp-1 (one thread per GPU) against the whole model on the CPU.
// Needs at least two GPUs; skips otherwise, like every CUDA test on a machine without them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "cuda_test_util.h"
#include "models/tensor_parallel_model.h"
#include "ops/sampling.h"

namespace turbolm {
namespace {

// Prefill, then greedy decode with forward + sample on rank 0's device (the engine's loop, one sequence).
std::vector<int32_t> greedy(Model& model, const std::vector<int32_t>& prompt, int steps) {
  ExecContext ctx;
  ctx.device = model.device();
  const int64_t block = 16, blocks = (static_cast<int64_t>(prompt.size()) + steps + block - 1) / block;
  KvCache cache(model.kv_cache_spec(blocks + 1, block, KvQuant::kNone));
  std::vector<int32_t> table(blocks);
  std::iota(table.rbegin(), table.rend(), 1);
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
    out.push_back(sample(ctx, logits, std::span(&params, 1), std::span(&no_penalty, 1))[0].token);
    const int32_t context = batch.seqs[0].context_len;
    batch.token_ids = {out.back()};
    batch.positions = {context};
    batch.seqs[0] = {0, 1, context + 1, table, true};
  }
  return out;
}

class CudaTensorParallel : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaTensorParallel, GreedyEqualsCpu) {
  if (cuda_device_count() < 2) GTEST_SKIP() << "needs 2 GPUs, " << cuda_device_count() << " visible";
  const std::filesystem::path dir = std::filesystem::path(TURBOLM_SOURCE_DIR) / "tests/data/models" / GetParam();
  const auto ref = nlohmann::json::parse(std::ifstream(dir / "reference.json"));
  const std::vector<int32_t> prompt = ref["prompt_ids"], expected = ref["greedy_ids"];
  const int steps = static_cast<int>(expected.size());
  auto model = load_tensor_parallel_cuda(dir, 2);
  EXPECT_EQ(model->device(), Device::cuda(0));
  EXPECT_EQ(greedy(*model, prompt, steps), greedy(*load_model(dir), prompt, steps));
}

INSTANTIATE_TEST_SUITE_P(Families, CudaTensorParallel, ::testing::Values("llama3", "qwen3", "internlm2_dynamic"));

}  // namespace
}  // namespace turbolm
