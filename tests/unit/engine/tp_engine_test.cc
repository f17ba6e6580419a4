// The engine over a TensorParallelModel simulated on the CPU (tp ranks on threads, LocalCommunicatorGroup): for
// concurrent requests the greedy tokens equal tp = 1's in every scheduling mode (batched, prefix caching,
// chunked prefill, preemption, int8 KV), a rank failing mid-step fails only that step's requests, and the
// multi-node flags are checked before anything loads.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "../models/faulty_group.h"
#include "engine/llm_engine.h"
#include "models/tensor_parallel_model.h"
#include "run_requests.h"

namespace turbolm {
namespace {

std::string fixture(const std::string& name) { return std::string(TURBOLM_SOURCE_DIR) + "/tests/data/models/" + name; }
const std::string kStories = std::string(TURBOLM_SHARED_DIR) + "/models/stories260K-hf";

using Result = testing_util::RequestResult;

using testing_util::run_requests;

std::vector<std::vector<int32_t>> ids_of(const std::vector<Result>& results) {
  std::vector<std::vector<int32_t>> out;
  for (const Result& r : results) out.push_back(r.ids);
  return out;
}

// Scheduling modes; each is run by a tp = 1 engine and by the tp engines, which must agree token for token.
struct Variant {
  const char* name;
  EngineConfig config;
  bool preempts = false;
};

std::vector<Variant> variants(int block, int tiny_pool_blocks, int chunk) {
  return {
      {"batched", {.cache_block_seq_len = block, .enable_prefix_caching = false}},
      {"prefix caching", {.cache_block_seq_len = block, .enable_prefix_caching = true}},
      {"chunked prefill",
       {.cache_block_seq_len = block, .enable_prefix_caching = false, .max_prefill_token_num = chunk}},
      {"tiny pool (preemption)",
       {.cache_max_entry_count = static_cast<double>(tiny_pool_blocks), .cache_block_seq_len = block},
       true},
      {"kv int8", {.cache_block_seq_len = block, .quant_policy = 8}},
  };
}

// Runs `requests` on an engine over `parts` with `v`'s config (twice with prefix caching: the second pass is
// served from the cache the first filled), checking the mode really happened. Returns each pass's token ids.
std::vector<std::vector<std::vector<int32_t>>> run_variant(EngineParts parts, const Variant& v, int session_len,
                                                           const std::vector<Request>& requests) {
  EngineConfig config = v.config;
  config.session_len = session_len;
  config.num_threads = 1;
  if (config.cache_max_entry_count < 1) config.cache_max_entry_count = 512;
  LlmEngine engine(std::move(parts), config);
  std::vector<std::vector<std::vector<int32_t>>> passes;
  for (int pass = 0; pass < (config.enable_prefix_caching ? 2 : 1); ++pass) {
    std::vector<Result> results = run_requests(engine, requests);
    for (const Result& r : results) EXPECT_NE(r.reason, FinishReason::kError) << v.name << ": " << r.error;
    passes.push_back(ids_of(results));
  }
  const EngineStats stats = engine.stats();
  if (config.enable_prefix_caching) {
    EXPECT_GT(stats.prefix_cache_hit_tokens, 0) << v.name;
  }
  if (v.preempts) {
    EXPECT_GT(stats.preemptions, 0) << v.name;
  }
  return passes;
}

struct TpCase {
  std::string fixture;
  int tp;
};
void PrintTo(const TpCase& c, std::ostream* os) { *os << c.fixture << " tp " << c.tp; }

class TpEngineFixture : public ::testing::TestWithParam<TpCase> {};

// Six prompts of 12..24 tokens (vocab 384) sharing prefixes of the fixture's reference prompt.
std::vector<Request> fixture_requests(const std::string& dir) {
  std::ifstream in(dir + "/reference.json");
  const std::vector<int32_t> reference = nlohmann::json::parse(in)["prompt_ids"];
  std::vector<Request> out;
  for (int i = 0; i < 6; ++i) {
    Request r;
    r.prompt_ids.assign(reference.begin(), reference.begin() + 12 + 2 * i);
    for (int t = 0; t < i; ++t) r.prompt_ids.push_back((i * 37 + t * 11) % 384);
    r.gen.max_new_tokens = 16;
    r.gen.ignore_eos = true;
    out.push_back(r);
  }
  return out;
}

EngineParts fixture_parts(const std::string& dir, std::unique_ptr<Model> model) {
  EngineParts parts;
  parts.model = std::move(model);
  parts.model_dir = dir;
  return parts;
}

TEST_P(TpEngineFixture, GreedyEqualsTp1InEverySchedulingMode) {
  const std::string dir = fixture(GetParam().fixture);
  const std::vector<Request> requests = fixture_requests(dir);
  for (const Variant& v : variants(/*block=*/8, /*tiny_pool_blocks=*/12, /*chunk=*/5)) {
    const auto tp1 = run_variant(fixture_parts(dir, load_model(dir)), v, 64, requests);
    const auto tpn = run_variant(fixture_parts(dir, load_tensor_parallel_cpu(dir, GetParam().tp)), v, 64, requests);
    for (const auto& ids : tp1[0]) EXPECT_EQ(ids.size(), 16u) << v.name;
    EXPECT_EQ(tpn, tp1) << v.name;
  }
}

std::vector<TpCase> fixture_cases() {
  std::vector<TpCase> out;
  for (const char* f :
       {"llama3", "llama_linear_tied", "mistral", "qwen2_yarn", "qwen3", "internlm2_dynamic", "internlm3"}) {
    for (int tp : {2, 4}) out.push_back({f, tp});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, TpEngineFixture, ::testing::ValuesIn(fixture_cases()),
                         [](const ::testing::TestParamInfo<TpCase>& info) {
                           return info.param.fixture + "_tp" + std::to_string(info.param.tp);
                         });

// stories260K (8 heads, 4 kv heads), text prompts through its tokenizer, up to 40 tokens or EOS.
class TpEngineStories : public ::testing::TestWithParam<int> {};

std::vector<Request> stories_requests() {
  const char* names[] = {"Lily", "Tom", "Sue", "Ben", "Max", "Mia", "Sam", "Tim"};
  std::vector<Request> out;
  for (int i = 0; i < 16; ++i) {
    Request r;
    r.prompt = i % 2 == 0 ? "Once upon a time, there was a little girl named " : "One day, ";
    r.prompt += names[i % 8];
    if (i >= 8) r.prompt += ". She saw a big red ball in the park and she was very happy";
    r.gen.max_new_tokens = 40;
    out.push_back(r);
  }
  return out;
}

EngineParts stories_parts(std::unique_ptr<Model> model) {
  EngineParts parts = load_engine_parts(kStories, EngineConfig{.device = "cpu"});
  if (model != nullptr) parts.model = std::move(model);
  return parts;
}

TEST_P(TpEngineStories, GreedyEqualsTp1InEverySchedulingMode) {
  const std::vector<Request> requests = stories_requests();
  for (const Variant& v : variants(/*block=*/8, /*tiny_pool_blocks=*/40, /*chunk=*/7)) {
    const auto tp1 = run_variant(stories_parts(nullptr), v, 256, requests);
    const auto tpn = run_variant(stories_parts(load_tensor_parallel_cpu(kStories, GetParam())), v, 256, requests);
    for (const auto& ids : tp1[0]) EXPECT_GE(ids.size(), 5u) << v.name;
    EXPECT_EQ(tpn, tp1) << v.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Tp, TpEngineStories, ::testing::Values(2, 4));

// A rank failing in a collective fails the step's requests with its error; the group recovers and the engine
// serves the next requests exactly as before.
TEST(TpEngine, RankFailingMidStepFailsOnlyThatStep) {
  const std::string dir = fixture("qwen2_yarn");
  auto group = std::make_unique<testing_util::FaultyGroup>(2, /*recoverable=*/true);
  testing_util::FaultyGroup& faulty = *group;
  auto model = std::make_unique<TensorParallelModel>(
      dir, std::move(group),
      TensorParallelModel::Options{
          .devices = {Device::cpu(), Device::cpu()}, .activation_dtype = std::nullopt, .cpu_threads_per_rank = 1});
  LlmEngine engine(fixture_parts(dir, std::move(model)), {.session_len = 64, .cache_max_entry_count = 64});
  const std::vector<Request> requests = fixture_requests(dir);
  const std::vector<Result> before = run_requests(engine, requests);

  faulty.faulty(1).fail_at = 3;  // in the second layer of the first step (which may hold only the first requests)
  const std::vector<Result> failed = run_requests(engine, requests);
  ASSERT_EQ(failed[0].reason, FinishReason::kError);
  for (size_t i = 0; i < failed.size(); ++i) {
    if (failed[i].reason == FinishReason::kError) {
      EXPECT_NE(failed[i].error.find("injected failure on rank 1"), std::string::npos) << failed[i].error;
    } else {
      EXPECT_EQ(failed[i].ids, before[i].ids) << "request " << i << " after the failed step";
    }
  }
  EXPECT_EQ(ids_of(run_requests(engine, requests)), ids_of(before));
}

// Every check that needs no model runs before loading: the folder does not exist, so any load would be NotFound.
ErrorCode create_error(const EngineConfig& config, const std::string& expected_text) {
  try {
    load_engine_parts("/nonexistent/model", config);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(expected_text), std::string::npos) << e.what();
    return e.code();
  }
  ADD_FAILURE() << "no error";
  return ErrorCode::kInternal;
}

TEST(TpEngine, NodeFlagsAreCheckedBeforeLoading) {
  using enum ErrorCode;
  const std::string addr = "10.0.0.1:29500";
  EXPECT_EQ(create_error({.tp = 2, .nnodes = 2, .node_rank = 2, .dist_init_addr = addr}, "--node-rank 2"),
            kInvalidArgument);
  EXPECT_EQ(create_error({.tp = 2, .nnodes = 2}, "needs --dist-init-addr"), kInvalidArgument);
  EXPECT_EQ(create_error({.tp = 2, .nnodes = 2, .dist_init_addr = "10.0.0.1"}, "HOST:PORT"), kInvalidArgument);
  EXPECT_EQ(create_error({.tp = 3, .nnodes = 2, .dist_init_addr = addr}, "multiple of --nnodes"), kInvalidArgument);
  EXPECT_EQ(create_error({.dist_init_addr = addr}, "only used with --nnodes > 1"), kInvalidArgument);
  // Valid layouts that cannot run here: several nodes (not built), tp > 1 on the CPU (the product's rule).
  EXPECT_EQ(create_error({.tp = 2, .nnodes = 2, .node_rank = 1, .dist_init_addr = addr}, "multi-node"), kUnsupported);
  EXPECT_EQ(create_error({.tp = 2, .device = "cpu"}, "--tp 2"), kUnsupported);
}

}  // namespace
}  // namespace turbolm
