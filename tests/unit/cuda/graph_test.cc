// CUDA graphs of decode steps (DecoderModel::forward_graphed): batched greedy decoding through recorded graphs,
// with padding to the graph's batch bucket, bucket changes and growing block tables, equals eager execution
// (TURBOLM_CUDA_GRAPHS=0) on the same GPU; so do steps whose input tokens are fed back on the device.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <numeric>

#include "cuda_test_util.h"
#include "io/safetensors_writer.h"
#include "io/weight_source.h"
#include "models/model.h"
#include "ops/elementwise.h"
#include "ops/sampling.h"
#include "ops/step_graph.h"

namespace turbolm {
namespace {

namespace fs = std::filesystem;

fs::path fixture(const std::string& name) { return fs::path(TURBOLM_SOURCE_DIR) / "tests/data/models" / name; }

// The fixture with every weight stored as bf16 (GEMV / skinny GEMM paths and bf16 activations on the GPU).
fs::path bf16_copy(const std::string& name) {
  const fs::path out = fs::temp_directory_path() / ("turbolm_graph_test_" + name + "_bf16");
  fs::create_directories(out);
  fs::copy_file(fixture(name) / "config.json", out / "config.json", fs::copy_options::overwrite_existing);
  const WeightSource source = WeightSource::open_dir(fixture(name), FileAccess::kRead);
  NamedTensors tensors;
  for (const std::string& n : source.names()) {
    const Tensor t = source.get(n);
    Tensor b = Tensor::empty(t.shape(), DType::kBF16);
    convert(ExecContext{}, t, b);
    tensors.emplace_back(n, b);
  }
  write_safetensors(out / "model.safetensors", tensors);
  return out;
}

// The first blocks of `table` that hold `context` tokens (tables grow as the engine's do).
std::vector<int32_t> covering(const std::vector<int32_t>& table, int32_t context, int32_t block) {
  return {table.begin(), table.begin() + (context + block - 1) / block};
}

struct DecodeRun {
  std::vector<std::vector<int32_t>> tokens;  // per sequence
  std::vector<float> last_logits;            // the last step's logits of sequence 0
};

// Prefills 5 prompts of different lengths in one step, decodes 5 sequences together for 20 steps (bucket 8,
// 3 padding rows), then the first 3 for 30 more (bucket 4; the tables grow past 8 blocks of 4 tokens).
// fed_back: each decode step takes its tokens from the step before's samples on the device (placeholder ids,
// ForwardBatch::feedback) and is enqueued before the host waits for those samples, as the overlapped engine does.
DecodeRun decode(const fs::path& dir, bool graphs, bool fed_back = false) {
  setenv("TURBOLM_CUDA_GRAPHS", graphs ? "1" : "0", 1);
  LoadOptions options;
  options.device = Device::cuda(0);
  auto model = load_model(dir, options);
  ExecContext ctx;
  ctx.device = model->device();
  const int32_t block = 4, per_seq = 24;
  KvCache cache(model->kv_cache_spec(5 * per_seq + 1, block, KvQuant::kNone));
  const int32_t vocab = static_cast<int32_t>(model->config().vocab_size);

  std::vector<std::vector<int32_t>> tables(5);
  ForwardBatch batch;
  for (int s = 0; s < 5; ++s) {
    for (int b = per_seq - 1; b >= 0; --b) tables[s].push_back(1 + s * per_seq + b);  // shuffled, not block 0
    const int32_t len = 3 + 2 * s, start = static_cast<int32_t>(batch.token_ids.size());
    for (int32_t i = 0; i < len; ++i) {
      batch.token_ids.push_back((17 * s + 5 * i + 1) % vocab);
      batch.positions.push_back(i);
    }
    batch.seqs.push_back({start, len, len, covering(tables[s], len, block), true});
  }
  DecodeRun run;
  run.tokens.resize(5);
  const SamplingParams greedy;
  const std::span<const int32_t> none;
  auto record = [&](const std::vector<SampleResult>& results, int live) {
    for (int s = 0; s < live; ++s) run.tokens[s].push_back(results[s].token);
  };
  SampleFuture previous;  // fed_back: the step before's samples, read once this step is enqueued
  int previous_live = 0;
  for (int step = 0; step < 51; ++step) {
    Tensor logits = model->forward(ctx, batch, cache);
    const int64_t rows = logits.dim(0);
    const std::vector<SamplingParams> params(rows, greedy);
    const std::vector<std::span<const int32_t>> penalties(rows, none);
    SampleFuture current = sample_async(ctx, logits, params, penalties);
    if (step == 50) run.last_logits = cuda_test::values_of(logits.slice(0, 0, 1));
    const int live = step < 20 ? 5 : 3;
    std::vector<SampleResult> results;
    if (!fed_back) {
      results = current.wait();
      record(results, live);
    }
    ForwardBatch next;
    if (fed_back) next.feedback = current.token_ids();
    for (int s = 0; s < live; ++s) {
      const int32_t context = batch.seqs[s].context_len;
      next.token_ids.push_back(fed_back ? feedback_token(s) : results[s].token);
      next.positions.push_back(context);
      next.seqs.push_back({s, 1, context + 1, covering(tables[s], context + 1, block), true});
    }
    if (fed_back) {
      if (previous.valid()) record(previous.wait(), previous_live);
      previous = std::move(current);
      previous_live = live;
    }
    batch = next;
  }
  if (previous.valid()) record(previous.wait(), previous_live);
  unsetenv("TURBOLM_CUDA_GRAPHS");
  return run;
}

void expect_same(const DecodeRun& graphed, const DecodeRun& eager, float logit_tolerance) {
  EXPECT_EQ(graphed.tokens, eager.tokens);
  ASSERT_EQ(graphed.last_logits.size(), eager.last_logits.size());
  float worst = 0.0f;
  for (size_t i = 0; i < eager.last_logits.size(); ++i)
    worst = std::max(worst, std::abs(graphed.last_logits[i] - eager.last_logits[i]));
  EXPECT_LE(worst, logit_tolerance);
}

TEST(CudaGraphTest, BatchedDecodeEqualsEagerF32) {
  TLM_REQUIRE_GPU();
  for (const char* name : {"llama3", "qwen3", "internlm3"}) {
    SCOPED_TRACE(name);
    const DecodeRun eager = decode(fixture(name), false), graphed = decode(fixture(name), true);
    expect_same(graphed, eager, 1e-4f);
  }
}

TEST(CudaGraphTest, BatchedDecodeEqualsEagerBf16) {
  TLM_REQUIRE_GPU();
  for (const char* name : {"qwen3", "qwen2_yarn"}) {  // q/k norm; qkv bias
    SCOPED_TRACE(name);
    const fs::path dir = bf16_copy(name);
    const DecodeRun eager = decode(dir, false), graphed = decode(dir, true);
    expect_same(graphed, eager, 5e-2f);  // the padded batch may take other GEMM tilings: bf16 rounding
  }
}

TEST(CudaGraphTest, FedBackTokensEqualHostTokens) {
  TLM_REQUIRE_GPU();
  for (const bool bf16 : {false, true}) {
    SCOPED_TRACE(bf16 ? "qwen3 bf16" : "qwen3 f32");
    const fs::path dir = bf16 ? bf16_copy("qwen3") : fixture("qwen3");
    const DecodeRun eager = decode(dir, false);
    EXPECT_EQ(decode(dir, false, true).tokens, eager.tokens) << "eager steps, fed-back tokens";
    expect_same(decode(dir, true, true), eager, bf16 ? 5e-2f : 1e-4f);
  }
}

TEST(CudaGraphTest, GraphsFollowTheSwitch) {
  TLM_REQUIRE_GPU();
  setenv("TURBOLM_CUDA_GRAPHS", "0", 1);
  EXPECT_FALSE(step_graphs_enabled(cuda_test::gpu_ctx()));
  setenv("TURBOLM_CUDA_GRAPHS", "1", 1);
  EXPECT_TRUE(step_graphs_enabled(cuda_test::gpu_ctx()));
  EXPECT_FALSE(step_graphs_enabled(cuda_test::cpu_ctx()));
  unsetenv("TURBOLM_CUDA_GRAPHS");
}

}  // namespace
}  // namespace turbolm
