// TensorParallelModel on the CPU (ranks on threads, LocalCommunicatorGroup): one Model to its caller, rank 0's
// logits equal to tp = 1, per-rank KV caches, and failures on any rank that end the step on every rank.
#include "models/tensor_parallel_model.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>

#include "faulty_group.h"
#include "model_test_util.h"

namespace turbolm {
namespace {

using testing_util::FaultyGroup;
using testing_util::SingleSequence;

std::string fixture(const std::string& name) { return std::string(TURBOLM_SOURCE_DIR) + "/tests/data/models/" + name; }

std::vector<int32_t> reference_prompt(const std::string& dir) {
  return testing_util::read_json(dir + "/reference.json")["prompt_ids"];
}

// Three prefixes of the prompt (8, 16, 24 tokens) in one prefill over scattered blocks of `cache` (>= 10 blocks
// of 8): a host copy of the [3, V] logits.
Tensor prefill(Model& model, KvCache& cache, const std::vector<int32_t>& prompt) {
  SingleSequence a{{prompt.begin(), prompt.begin() + 8}, {0}, 0};
  SingleSequence b{{prompt.begin(), prompt.begin() + 16}, {5, 2}, 0};
  SingleSequence c{prompt, {9, 1, 7}, 0};
  Tensor logits = testing_util::step(model, cache, {&a, &b, &c});
  Tensor copy = Tensor::empty(logits.shape(), DType::kF32);
  std::copy_n(logits.data<float>(), logits.numel(), copy.data<float>());
  return copy;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double err = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    err = std::max<double>(err, std::abs(a.data<float>()[i] - b.data<float>()[i]));
  return err;
}

class TensorParallelModelTp : public ::testing::TestWithParam<int> {};

TEST_P(TensorParallelModelTp, ActsAsOneModelWithRank0sGeometry) {
  const int tp = GetParam();
  const std::string dir = fixture("qwen3");  // 4 heads, 2 kv heads, q/k norms
  const std::vector<int32_t> prompt = reference_prompt(dir);
  auto whole = load_model(dir);
  KvCache whole_cache(whole->kv_cache_spec(12, 8, KvQuant::kNone));
  const Tensor expected = prefill(*whole, whole_cache, prompt);

  auto model = load_tensor_parallel_cpu(dir, tp);
  EXPECT_EQ(model->size(), tp);
  EXPECT_EQ(model->config().vocab_size, whole->config().vocab_size);
  EXPECT_TRUE(model->device().is_cpu());
  EXPECT_LT(model->weight_bytes(), whole->weight_bytes());
  const KvCacheSpec spec = model->kv_cache_spec(12, 8, KvQuant::kInt8);
  EXPECT_EQ(spec.num_kv_heads, std::max(1, 2 / tp));  // tp 4 > 2 kv heads: one replicated head per rank
  EXPECT_EQ(spec.quant, KvQuant::kInt8);

  // The ranks' own caches follow whichever rank-0 cache comes: a new geometry gets new caches.
  for (int64_t blocks : {12, 16}) {
    KvCache cache(model->kv_cache_spec(blocks, 8, KvQuant::kNone));
    EXPECT_LT(max_abs_diff(prefill(*model, cache, prompt), expected), 1e-4) << blocks << " blocks";
  }
}

INSTANTIATE_TEST_SUITE_P(Tp, TensorParallelModelTp, ::testing::Values(2, 4));

TEST(TensorParallelModel, OutOfVocabIdFailsTheStepOnEveryRankAndTheModelCarriesOn) {
  const std::string dir = fixture("mistral");  // vocab 384
  const std::vector<int32_t> prompt = reference_prompt(dir);
  auto model = load_tensor_parallel_cpu(dir, 2);
  KvCache cache(model->kv_cache_spec(12, 8, KvQuant::kNone));
  const Tensor before = prefill(*model, cache, prompt);
  SingleSequence bad{{1, 384}, {0}, 0};  // rank 0 (and every rank) rejects it before any collective
  try {
    testing_util::step(*model, cache, {&bad});
    FAIL() << "token id 384 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("token id 384"), std::string::npos) << e.what();
  }
  EXPECT_EQ(max_abs_diff(prefill(*model, cache, prompt), before), 0.0);
}

struct FaultyModel {
  FaultyGroup* group;
  std::unique_ptr<TensorParallelModel> model;
};

FaultyModel load_faulty(const std::string& dir, int tp, bool recoverable) {
  auto group = std::make_unique<FaultyGroup>(tp, recoverable);
  FaultyGroup* raw = group.get();
  auto model = std::make_unique<TensorParallelModel>(
      dir, std::move(group),
      TensorParallelModel::Options{.devices = std::vector<Device>(tp, Device::cpu()),
                                   .activation_dtype = std::nullopt,
                                   .cpu_threads_per_rank = 1});
  return {raw, std::move(model)};
}

struct FailureCase {
  int tp, failing_rank, at_collective;
};
void PrintTo(const FailureCase& c, std::ostream* os) {
  *os << "tp " << c.tp << " rank " << c.failing_rank << " fails at collective " << c.at_collective;
}

class TensorParallelModelFailure : public ::testing::TestWithParam<FailureCase> {};

// The peers of the failing rank are blocked in (or about to enter) a collective it never joins: the step must
// end on all of them, report the failing rank's own error, and leave the group usable.
TEST_P(TensorParallelModelFailure, RankFailingMidStepReleasesItsPeers) {
  const FailureCase c = GetParam();
  const std::string dir = fixture("llama3");
  const std::vector<int32_t> prompt = reference_prompt(dir);
  FaultyModel m = load_faulty(dir, c.tp, /*recoverable=*/true);
  KvCache cache(m.model->kv_cache_spec(12, 8, KvQuant::kNone));
  const Tensor expected = prefill(*m.model, cache, prompt);

  m.group->faulty(c.failing_rank).fail_at = c.at_collective;
  try {
    prefill(*m.model, cache, prompt);
    FAIL() << "the injected failure did not surface";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
    EXPECT_NE(std::string(e.what()).find("injected failure on rank " + std::to_string(c.failing_rank)),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(max_abs_diff(prefill(*m.model, cache, prompt), expected), 0.0) << "after recovery";
}

// llama3 has 2 layers: collectives 0 (embedding), 1..4 (attention / MLP per layer), 5 (logits all-gather).
INSTANTIATE_TEST_SUITE_P(Ranks, TensorParallelModelFailure,
                         ::testing::Values(FailureCase{2, 0, 0}, FailureCase{2, 1, 0}, FailureCase{2, 0, 3},
                                           FailureCase{2, 1, 5}, FailureCase{4, 3, 2}, FailureCase{4, 0, 4}));

TEST(TensorParallelModel, GroupThatCannotRecoverStopsEveryLaterStep) {
  const std::string dir = fixture("llama3");
  const std::vector<int32_t> prompt = reference_prompt(dir);
  FaultyModel m = load_faulty(dir, 2, /*recoverable=*/false);
  KvCache cache(m.model->kv_cache_spec(12, 8, KvQuant::kNone));
  m.group->faulty(1).fail_at = 2;
  EXPECT_THROW(prefill(*m.model, cache, prompt), Error);
  for (int i = 0; i < 2; ++i) {
    try {
      prefill(*m.model, cache, prompt);
      FAIL() << "a step ran on an aborted group";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("rank 1 failed (injected failure on rank 1)"), std::string::npos) << what;
      EXPECT_NE(what.find("restart the engine"), std::string::npos) << what;
    }
  }
}

TEST(TensorParallelModel, LoadErrorsPropagateFromEveryRank) {
  try {
    load_tensor_parallel_cpu(fixture("llama3"), 3);  // 4 heads
    FAIL() << "tp 3 loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("num_attention_heads (4)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_tensor_parallel_cpu(fixture("llama3"), 0), Error);
}

#if !TURBOLM_WITH_NCCL
// (With NCCL, tests/unit/cuda/tensor_parallel_test.cc runs the factory on GPUs.)
TEST(TensorParallelModel, CudaFactoryIsUnsupportedWithoutNccl) {
  try {
    load_tensor_parallel_cuda(fixture("llama3"), 2);
    FAIL() << "loaded without NCCL";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported) << e.what();
  }
}
#endif

}  // namespace
}  // namespace turbolm
