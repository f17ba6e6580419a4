// Tensor parallelism on the CPU: tp ranks simulated by threads of one process (LocalCommunicatorGroup), each
// with its own weight shard, KV cache and thread pool, must compute what tp=1 and transformers compute.
#include <gtest/gtest.h>

#include <cmath>
#include <exception>
#include <functional>
#include <thread>

#include "model_test_util.h"
#include "parallel/local_communicator.h"

namespace turbolm {
namespace {

using testing_util::SingleSequence;

// Runs fn(rank) on `tp` threads and rethrows the first failure.
void run_ranks(int tp, const std::function<void(int)>& fn) {
  std::vector<std::exception_ptr> errors(tp);
  std::vector<std::thread> threads;
  for (int r = 0; r < tp; ++r) {
    threads.emplace_back([&, r] {
      try {
        fn(r);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

// One tensor-parallel replica of a model: rank r's shard, cache and single-threaded pool.
struct Rank {
  std::unique_ptr<Model> model;
  std::unique_ptr<ThreadPool> pool = std::make_unique<ThreadPool>(1);
  ExecContext ctx() const { return ExecContext{.pool = pool.get()}; }
};

std::vector<Rank> load_ranks(const std::string& dir, LocalCommunicatorGroup& group) {
  std::vector<Rank> ranks(group.size());
  for (int r = 0; r < group.size(); ++r) ranks[r].model = load_model(dir, LoadOptions{.communicator = &group.rank(r)});
  return ranks;
}

// testing_util::step with an explicit context: every not-yet-cached token of each sequence in one step.
Tensor step(Model& model, const ExecContext& ctx, KvCache& cache, std::vector<SingleSequence>& seqs) {
  ForwardBatch batch;
  for (SingleSequence& s : seqs) {
    ForwardBatch::Sequence fs{.query_start = static_cast<int32_t>(batch.token_ids.size()),
                              .query_len = static_cast<int32_t>(s.tokens.size()) - s.cached,
                              .context_len = static_cast<int32_t>(s.tokens.size()),
                              .block_table = s.block_table};
    for (int32_t p = s.cached; p < fs.context_len; ++p) {
      batch.token_ids.push_back(s.tokens[p]);
      batch.positions.push_back(p);
    }
    s.cached = fs.context_len;
    batch.seqs.push_back(fs);
  }
  return model.forward(ctx, batch, cache);
}

// Three prefixes of the prompt (8, 16, 24 tokens) as one batched prefill over scattered blocks: [3, V] logits.
Tensor prefill_logits(Model& model, const ExecContext& ctx, const std::vector<int32_t>& prompt) {
  KvCache cache(model.kv_cache_spec(12, 8, KvQuant::kNone));
  std::vector<SingleSequence> seqs = {{{prompt.begin(), prompt.begin() + 8}, {0}, 0},
                                      {{prompt.begin(), prompt.begin() + 16}, {5, 2}, 0},
                                      {prompt, {9, 1, 7}, 0}};
  Tensor logits = step(model, ctx, cache, seqs);
  Tensor copy = Tensor::empty(logits.shape(), DType::kF32);
  std::copy_n(logits.data<float>(), logits.numel(), copy.data<float>());
  return copy;
}

std::vector<int32_t> greedy(Model& model, const ExecContext& ctx, const std::vector<int32_t>& prompt, int n,
                            int64_t block_size) {
  const int64_t blocks = (static_cast<int64_t>(prompt.size()) + n + block_size - 1) / block_size;
  KvCache cache(model.kv_cache_spec(blocks, block_size, KvQuant::kNone));
  std::vector<SingleSequence> seq = {{prompt, std::vector<int32_t>(blocks), 0}};
  std::iota(seq[0].block_table.rbegin(), seq[0].block_table.rend(), 0);  // scattered: follow the table
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(testing_util::argmax_row(step(model, ctx, cache, seq), 0));
    seq[0].tokens.push_back(out.back());
  }
  return out;
}

// max |a - b| relative to max(1, max |b|).
double relative_error(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double err = 0, scale = 1;
  for (int64_t i = 0; i < a.numel(); ++i) {
    err = std::max<double>(err, std::abs(a.data<float>()[i] - b.data<float>()[i]));
    scale = std::max<double>(scale, std::abs(b.data<float>()[i]));
  }
  return err / scale;
}

struct TpCase {
  std::string fixture;
  int tp;
};
void PrintTo(const TpCase& c, std::ostream* os) { *os << c.fixture << " tp " << c.tp; }

class TensorParallelFixture : public ::testing::TestWithParam<TpCase> {
 protected:
  std::string dir() const { return std::string(TURBOLM_SOURCE_DIR) + "/tests/data/models/" + GetParam().fixture; }
};

TEST_P(TensorParallelFixture, PrefillLogitsMatchTp1AndTransformers) {
  const auto ref = testing_util::read_json(dir() + "/reference.json");
  const std::vector<int32_t> prompt = ref["prompt_ids"];
  const std::vector<float> expected = ref["logits"];
  const int64_t vocab = ref["vocab_size"];
  auto whole = load_model(dir());
  const Tensor tp1 = prefill_logits(*whole, ExecContext{}, prompt);
  Tensor transformers = Tensor::empty({3, vocab}, DType::kF32);
  for (int r = 0; r < 3; ++r) {
    const int64_t position = 8 * r + 7;
    std::copy_n(expected.begin() + position * vocab, vocab, transformers.data<float>() + r * vocab);
  }

  LocalCommunicatorGroup group(GetParam().tp);
  std::vector<Rank> ranks = load_ranks(dir(), group);
  std::vector<Tensor> logits(group.size());
  run_ranks(group.size(), [&](int r) { logits[r] = prefill_logits(*ranks[r].model, ranks[r].ctx(), prompt); });
  for (int r = 0; r < group.size(); ++r) {
    EXPECT_LT(relative_error(logits[r], tp1), 1e-4) << "rank " << r;
    EXPECT_LT(relative_error(logits[r], transformers), 1e-4) << "rank " << r;
  }
}

TEST_P(TensorParallelFixture, GreedyMatchesTp1AndTransformers) {
  const auto ref = testing_util::read_json(dir() + "/reference.json");
  const std::vector<int32_t> prompt = ref["prompt_ids"];
  const std::vector<int32_t> expected = ref["greedy_ids"];
  const int n = static_cast<int>(expected.size());
  auto whole = load_model(dir());
  ASSERT_EQ(greedy(*whole, ExecContext{}, prompt, n, 16), expected);

  LocalCommunicatorGroup group(GetParam().tp);
  std::vector<Rank> ranks = load_ranks(dir(), group);
  std::vector<std::vector<int32_t>> tokens(group.size());
  run_ranks(group.size(), [&](int r) { tokens[r] = greedy(*ranks[r].model, ranks[r].ctx(), prompt, n, 16); });
  for (int r = 0; r < group.size(); ++r) EXPECT_EQ(tokens[r], expected) << "rank " << r;
}

TEST_P(TensorParallelFixture, ShardsHeadsAndKvCache) {
  const int tp = GetParam().tp;
  LocalCommunicatorGroup group(tp);
  std::vector<Rank> ranks = load_ranks(dir(), group);
  const ModelConfig& c = ranks[0].model->config();
  for (int r = 0; r < tp; ++r) {
    const KvCacheSpec spec = ranks[r].model->kv_cache_spec(4, 8, KvQuant::kNone);
    // Fixtures have 2 kv heads: tp 2 splits them, tp 4 replicates each on two ranks.
    EXPECT_EQ(spec.num_kv_heads, std::max<int64_t>(1, c.num_key_value_heads / tp));
    EXPECT_LT(ranks[r].model->weight_bytes(), load_model(dir())->weight_bytes());
  }
}

std::vector<TpCase> cases() {
  std::vector<TpCase> out;
  for (const char* f :
       {"llama3", "llama_linear_tied", "mistral", "qwen2_yarn", "qwen3", "internlm2_dynamic", "internlm3"}) {
    for (int tp : {2, 4}) out.push_back({f, tp});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, TensorParallelFixture, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<TpCase>& info) {
                           return info.param.fixture + "_tp" + std::to_string(info.param.tp);
                         });

TEST(TensorParallel, Tp1CommunicatorIsTheUnshardedPathBitForBit) {
  const std::string dir = std::string(TURBOLM_SOURCE_DIR) + "/tests/data/models/qwen2_yarn";
  const auto ref = testing_util::read_json(dir + "/reference.json");
  const std::vector<int32_t> prompt = ref["prompt_ids"];
  LocalCommunicatorGroup group(1);
  auto with = load_model(dir, LoadOptions{.communicator = &group.rank(0)});
  auto without = load_model(dir);
  EXPECT_EQ(with->weight_bytes(), without->weight_bytes());
  EXPECT_EQ(
      relative_error(prefill_logits(*with, ExecContext{}, prompt), prefill_logits(*without, ExecContext{}, prompt)),
      0.0);
}

TEST(TensorParallel, IndivisibleDimensionsFailClearly) {
  const std::string dir = std::string(TURBOLM_SOURCE_DIR) + "/tests/data/models/llama3";  // 4 heads, 2 kv heads
  for (int tp : {3, 8}) {
    LocalCommunicatorGroup group(tp);
    try {
      load_model(dir, LoadOptions{.communicator = &group.rank(0)});
      ADD_FAILURE() << "tp " << tp << " loaded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("num_attention_heads (4)"), std::string::npos) << e.what();
    }
  }
  // stories260K: 8 heads and 4 kv heads allow tp 8, its intermediate size 172 does not.
  LocalCommunicatorGroup group(8);
  try {
    load_model(std::string(TURBOLM_SHARED_DIR) + "/models/stories260K-hf", LoadOptions{.communicator = &group.rank(3)});
    ADD_FAILURE() << "tp 8 loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("intermediate_size (172)"), std::string::npos) << e.what();
  }
}

TEST(TensorParallel, OutOfVocabTokenIdThrowsOnEveryRank) {
  const std::string dir = std::string(TURBOLM_SOURCE_DIR) + "/tests/data/models/mistral";
  LocalCommunicatorGroup group(2);
  std::vector<Rank> ranks = load_ranks(dir, group);
  for (int r = 0; r < 2; ++r) {  // checked on the host before any collective: no rank waits for the other
    KvCache cache(ranks[r].model->kv_cache_spec(1, 8, KvQuant::kNone));
    std::vector<SingleSequence> seq = {{{1, 384}, {0}, 0}};
    EXPECT_THROW(step(*ranks[r].model, ranks[r].ctx(), cache, seq), Error) << "rank " << r;
  }
}

class TensorParallelStories : public ::testing::TestWithParam<int> {};

TEST_P(TensorParallelStories, Greedy200FromBosMatchesOracle) {
  const std::string shared = TURBOLM_SHARED_DIR;
  const auto oracle = testing_util::read_json(shared + "/models/stories260K/expected_greedy_ids.json");
  const std::vector<int32_t> prompt = oracle["prompt_ids"];
  const std::vector<int32_t> expected = oracle["greedy_ids"];
  LocalCommunicatorGroup group(GetParam());
  std::vector<Rank> ranks = load_ranks(shared + "/models/stories260K-hf", group);
  std::vector<std::vector<int32_t>> tokens(group.size());
  run_ranks(group.size(), [&](int r) { tokens[r] = greedy(*ranks[r].model, ranks[r].ctx(), prompt, 200, 64); });
  for (int r = 0; r < group.size(); ++r) EXPECT_EQ(tokens[r], expected) << "rank " << r;
}

INSTANTIATE_TEST_SUITE_P(Tp, TensorParallelStories, ::testing::Values(2, 4));

}  // namespace
}  // namespace turbolm
