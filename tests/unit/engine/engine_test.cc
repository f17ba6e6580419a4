// The engine end to end over a fake model (fake_model.h): threads, batching, preemption, cancellation, limits.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "engine/engine_core.h"
#include "engine/llm_engine.h"
#include "fake_model.h"
#include "scoped_env.h"

namespace turbolm {
namespace {

constexpr int32_t kEos = 1;

// `model`, when given, receives the fake model the engine runs (owned by the engine).
std::unique_ptr<LlmEngine> make_engine(EngineConfig config, int64_t max_positions = 512,
                                       testing::FakeModel** model = nullptr) {
  EngineParts parts;
  parts.model = std::make_unique<testing::FakeModel>(64, max_positions);
  if (model != nullptr) *model = static_cast<testing::FakeModel*>(parts.model.get());
  parts.eos_token_ids = {kEos};
  parts.model_dir = "/fake/model";
  if (config.cache_max_entry_count < 1) config.cache_max_entry_count = 256;
  return std::make_unique<LlmEngine>(std::move(parts), config);
}

// Collects every completion of a set of requests; waits until all are finished. The state is shared with the
// callbacks, which may still be unlocking after the last wait returned.
class Collector {
 public:
  OutputCallback callback(size_t request) {
    return [s = state_, request](const GenerationOutput& chunk) {
      std::lock_guard lock(s->mutex);
      Response& r = s->responses[{request, chunk.index}];
      r.index = chunk.index;
      r.token_ids.insert(r.token_ids.end(), chunk.token_ids.begin(), chunk.token_ids.end());
      r.logprobs.insert(r.logprobs.end(), chunk.logprobs.begin(), chunk.logprobs.end());
      r.output_tokens = chunk.output_tokens;
      r.cached_tokens = chunk.cached_tokens;
      r.input_tokens = chunk.input_tokens;
      if (chunk.finish_reason != FinishReason::kNone) {
        EXPECT_EQ(r.finish_reason, FinishReason::kNone) << "two final chunks";
        r.finish_reason = chunk.finish_reason;
        r.error = chunk.error;
        ++s->finished;
        s->done.notify_all();
      }
    };
  }
  void wait(int completions) {
    std::unique_lock lock(state_->mutex);
    ASSERT_TRUE(state_->done.wait_for(lock, std::chrono::seconds(60), [&] { return state_->finished >= completions; }));
  }
  Response get(size_t request, int index = 0) {
    std::lock_guard lock(state_->mutex);
    return state_->responses[{request, index}];
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable done;
    std::map<std::pair<size_t, int>, Response> responses;
    int finished = 0;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// Stats are published after each step, a moment after the step's callbacks ran.
EngineStats wait_idle(const Engine& engine) {
  for (int i = 0; i < 1000; ++i) {
    EngineStats s = engine.stats();
    if (s.running == 0 && s.waiting == 0) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ADD_FAILURE() << "engine did not become idle";
  return engine.stats();
}

std::vector<int32_t> prompt_of(int i) {
  // Varied lengths; prompts i and i + 8 share a 20-token prefix, so the prefix cache has work.
  std::vector<int32_t> p;
  for (int t = 0; t < 20; ++t) p.push_back(2 + (i % 8 * 7 + t) % 60);
  for (int t = 0; t < 3 + i * 5 % 37; ++t) p.push_back(2 + (i * 13 + t * 3) % 60);
  return p;
}

// Every test runs twice: with the engine's overlapped decode steps off and on (EngineCoreConfig::overlap_steps:
// step t+1 enqueued with step t's sampled ids fed back before t's outputs are processed; on the CPU only
// TURBOLM_OVERLAP_STEPS=1 turns it on).
class EngineTest : public ::testing::TestWithParam<bool> {
 protected:
  bool overlapped() const { return GetParam(); }

 private:
  testing_util::ScopedEnv overlap_{"TURBOLM_OVERLAP_STEPS", GetParam() ? "1" : "0"};
};

INSTANTIATE_TEST_SUITE_P(Steps, EngineTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "overlapped" : "sequential"; });

std::vector<std::vector<int32_t>> run_greedy(LlmEngine& engine, const std::vector<int>& which, int max_new = 24) {
  Collector c;
  for (size_t k = 0; k < which.size(); ++k) {
    Request r;
    r.prompt_ids = prompt_of(which[k]);
    r.gen.max_new_tokens = max_new;
    r.gen.ignore_eos = true;
    engine.submit(r, c.callback(k));
  }
  c.wait(static_cast<int>(which.size()));
  std::vector<std::vector<int32_t>> out;
  for (size_t k = 0; k < which.size(); ++k) {
    Response r = c.get(k);
    EXPECT_EQ(r.finish_reason, FinishReason::kLength);
    out.push_back(r.token_ids);
  }
  return out;
}

TEST_P(EngineTest, GreedyOutputsAreBatchInvariant) {
  std::vector<int> all;
  for (int i = 0; i < 16; ++i) all.push_back(i);
  std::vector<std::vector<int32_t>> alone;
  {
    auto engine = make_engine({.enable_prefix_caching = false});
    for (int i : all) alone.push_back(run_greedy(*engine, {i})[0]);
  }
  struct Variant {
    const char* name;
    EngineConfig config;
  };
  std::vector<Variant> variants = {
      {"together", {.cache_block_seq_len = 8, .enable_prefix_caching = false}},
      {"prefix caching", {.cache_block_seq_len = 8, .enable_prefix_caching = true}},
      {"chunked prefill", {.cache_block_seq_len = 8, .max_prefill_token_num = 5}},
      {"tiny pool", {.cache_max_entry_count = 14, .cache_block_seq_len = 8}},
      {"batch of 3", {.max_batch_size = 3, .cache_block_seq_len = 4}},
  };
  for (const Variant& v : variants) {
    testing::FakeModel* model = nullptr;
    auto engine = make_engine(v.config, 512, &model);
    EXPECT_EQ(run_greedy(*engine, all), alone) << v.name;
    // Overlapped: the decode steps after the last admission took their tokens from the device.
    if (overlapped()) {
      EXPECT_GT(model->fed_back_tokens, 0) << v.name;
    } else {
      EXPECT_EQ(model->fed_back_tokens, 0) << v.name;
    }
    EngineStats stats = wait_idle(*engine);
    EXPECT_EQ(stats.kv_blocks_used, 0) << v.name;
    if (std::string(v.name) == "tiny pool") {
      EXPECT_GT(stats.preemptions, 0);
    }
    if (v.config.enable_prefix_caching) {
      // Again, now served from the cache the first pass filled.
      EXPECT_EQ(run_greedy(*engine, all), alone) << v.name << ", second pass";
      EXPECT_GT(wait_idle(*engine).prefix_cache_hit_tokens, 0) << v.name;
    }
  }
}

TEST_P(EngineTest, CancelFreesEveryBlockAndSendsAbort) {
  auto engine = make_engine({.cache_block_seq_len = 4});
  Collector c;
  Request r;
  r.prompt_ids = prompt_of(3);
  r.gen.max_new_tokens = 400;
  r.gen.ignore_eos = true;
  // Cancelled from its own first callback (allowed on the engine thread), so the fake model cannot finish first.
  std::promise<std::shared_ptr<RequestHandle>> handle_promise;
  std::shared_future<std::shared_ptr<RequestHandle>> handle_future = handle_promise.get_future().share();
  auto callback = c.callback(0);
  bool cancelled = false;
  auto handle = engine->submit(r, [&, handle_future](const GenerationOutput& chunk) {
    callback(chunk);
    if (!cancelled) handle_future.get()->cancel();
    cancelled = true;
  });
  handle_promise.set_value(handle);
  c.wait(1);
  handle->cancel();  // idempotent, also after the end
  EXPECT_EQ(c.get(0).finish_reason, FinishReason::kAbort);
  EXPECT_LT(c.get(0).token_ids.size(), 400u);
  EXPECT_EQ(wait_idle(*engine).kv_blocks_used, 0);
}

TEST_P(EngineTest, SessionLenBoundsPromptAndOutput) {
  auto engine = make_engine({.session_len = 40});
  Request too_long;
  too_long.prompt_ids.assign(40, 5);
  try {
    engine->submit(too_long, {});
    FAIL() << "a prompt of session_len tokens was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("session_len"), std::string::npos) << e.what();
  }
  Collector c;
  Request r;
  r.prompt_ids.assign(30, 5);
  r.gen.max_new_tokens = 100;
  r.gen.ignore_eos = true;
  engine->submit(r, c.callback(0));
  c.wait(1);
  EXPECT_EQ(c.get(0).finish_reason, FinishReason::kLength);
  EXPECT_EQ(c.get(0).token_ids.size(), 10u);
}

TEST_P(EngineTest, PromptLargerThanThePoolFailsAtOnce) {
  auto engine = make_engine({.cache_max_entry_count = 4, .cache_block_seq_len = 8});
  Request r;
  r.prompt_ids.assign(40, 5);
  EXPECT_THROW(engine->submit(r, {}), Error);
  Request empty;
  EXPECT_THROW(engine->submit(empty, {}), Error);
  Request bad_id;
  bad_id.prompt_ids = {1, 64};
  EXPECT_THROW(engine->submit(bad_id, {}), Error);
}

// Settings no run could honour are refused at submit, naming the setting: a stop id the model can never sample,
// fewer tokens allowed than required.
TEST_P(EngineTest, UnsatisfiableStopIdsAndMinNewTokensAreRefused) {
  auto engine = make_engine({});
  auto expect_refused = [&](const Request& r, const std::string& part) {
    try {
      engine->submit(r, {});
      ADD_FAILURE() << "accepted; expected an error containing '" << part << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  Request r;
  r.prompt_ids = {1, 2, 3};
  const int32_t vocab = static_cast<int32_t>(engine->info().vocab_size);
  for (int32_t id : {vocab, -1}) {
    r.gen.stop_token_ids = {1, id};
    expect_refused(r, "stop token id " + std::to_string(id) + " is outside the vocabulary");
  }
  r.gen.stop_token_ids = {vocab - 1};
  r.gen.max_new_tokens = 5;
  r.gen.min_new_tokens = 6;
  expect_refused(r, "min_new_tokens (6) must not exceed max_new_tokens (5)");
  r.gen.min_new_tokens = 5;  // the edge is fine
  Collector c;
  engine->submit(r, c.callback(0));
  c.wait(1);
  EXPECT_EQ(c.get(0).token_ids.size(), 5u);
}

TEST_P(EngineTest, StopTokenIdsAndMinNewTokens) {
  auto engine = make_engine({});
  std::vector<int32_t> free_run = run_greedy(*engine, {5}, 30)[0];
  int32_t stop = free_run[3];
  size_t first = std::find(free_run.begin(), free_run.end(), stop) - free_run.begin();
  auto run = [&](int min_new) {
    Collector c;
    Request r;
    r.prompt_ids = prompt_of(5);
    r.gen.max_new_tokens = 30;
    r.gen.ignore_eos = true;
    r.gen.stop_token_ids = {stop};
    r.gen.min_new_tokens = min_new;
    engine->submit(r, c.callback(0));
    c.wait(1);
    return c.get(0);
  };
  Response stopped = run(0);
  EXPECT_EQ(stopped.finish_reason, FinishReason::kStop);
  EXPECT_EQ(stopped.token_ids, std::vector<int32_t>(free_run.begin(), free_run.begin() + first + 1));
  Response held = run(static_cast<int>(first) + 2);
  for (size_t i = 0; i < first + 2 && i < held.token_ids.size(); ++i) EXPECT_NE(held.token_ids[i], stop);
  EXPECT_GE(held.token_ids.size(), first + 2);
}

TEST_P(EngineTest, SeededSamplingIsReproducibleAndNCompletionsDiffer) {
  auto engine = make_engine({.cache_block_seq_len = 8});
  auto run = [&](int n, bool with_others) {
    Collector c;
    Request r;
    r.prompt_ids = prompt_of(7);
    r.gen.n = n;
    r.gen.do_sample = true;
    r.gen.temperature = 1.0f;
    r.gen.random_seed = 1234;
    r.gen.max_new_tokens = 16;
    r.gen.ignore_eos = true;
    engine->submit(r, c.callback(0));
    int others = 0;
    if (with_others) {
      for (int i = 0; i < 4; ++i, ++others) {
        Request o;
        o.prompt_ids = prompt_of(i);
        o.gen.max_new_tokens = 10;
        engine->submit(o, c.callback(1 + i));
      }
    }
    c.wait(n + others);
    std::vector<Response> out;
    for (int i = 0; i < n; ++i) out.push_back(c.get(0, i));
    return out;
  };
  std::vector<Response> a = run(3, false);
  std::vector<Response> b = run(3, true);
  ASSERT_EQ(a.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a[i].index, i);
    EXPECT_EQ(a[i].token_ids.size(), 16u);
    EXPECT_EQ(a[i].token_ids, b[i].token_ids) << "completion " << i;
  }
  EXPECT_NE(a[0].token_ids, a[1].token_ids);
  EXPECT_NE(a[1].token_ids, a[2].token_ids);
  // Siblings share the prompt's full blocks (forked after the first completion's prefill).
  EXPECT_EQ(a[1].cached_tokens, static_cast<int>(prompt_of(7).size() - 1) / 8 * 8);
  EXPECT_EQ(run(1, false)[0].token_ids, a[0].token_ids);
}

TEST_P(EngineTest, ScoringMatchesTheGenerationLogprobs) {
  auto engine = make_engine({.cache_block_seq_len = 4});
  Collector gen;
  Request r;
  r.prompt_ids = prompt_of(2);
  r.gen.max_new_tokens = 12;
  r.gen.ignore_eos = true;
  r.gen.logprobs = 2;
  engine->submit(r, gen.callback(0));
  gen.wait(1);
  Response g = gen.get(0);
  ASSERT_EQ(g.logprobs.size(), 12u);
  for (const TokenLogprob& lp : g.logprobs) {
    ASSERT_EQ(lp.top.size(), 2u);
    EXPECT_EQ(lp.top[0].first, lp.token);  // greedy
    EXPECT_FLOAT_EQ(lp.top[0].second, lp.logprob);
    EXPECT_LE(lp.logprob, 0.0f);
  }
  Collector score;
  engine->submit_scoring(prompt_of(2), g.token_ids, 2, score.callback(0));
  score.wait(1);
  Response s = score.get(0);
  ASSERT_EQ(s.logprobs.size(), g.logprobs.size());
  for (size_t i = 0; i < s.logprobs.size(); ++i) {
    EXPECT_NEAR(s.logprobs[i].logprob, g.logprobs[i].logprob, 1e-5);
    ASSERT_EQ(s.logprobs[i].top.size(), 2u);  // the scored position's two most likely tokens, as the sampler's
    for (size_t k = 0; k < 2; ++k) {
      EXPECT_EQ(s.logprobs[i].top[k].first, g.logprobs[i].top[k].first);
      EXPECT_NEAR(s.logprobs[i].top[k].second, g.logprobs[i].top[k].second, 1e-5);
    }
  }
}

// Scoring runs in the prefill: a text scored alone takes one step, and its logprobs are the same alone, batched with
// generation, in prefill chunks, under preemption (each position reported once) and with the prompts in the prefix
// cache (scoring takes no hit: every position needs logits).
TEST_P(EngineTest, ScoringIsOnePrefillAndBatchInvariant) {
  auto continuation_of = [](int i) {
    std::vector<int32_t> c;
    for (int t = 0; t < 30; ++t) c.push_back(2 + (i * 7 + t * 3) % 60);
    return c;
  };
  auto score_all = [&](LlmEngine& engine, const std::vector<int>& which, bool with_generation) {
    Collector c;
    for (size_t k = 0; k < which.size(); ++k) {
      engine.submit_scoring(prompt_of(which[k]), continuation_of(which[k]), 0, c.callback(k));
      if (!with_generation) continue;
      Request r;
      r.prompt_ids = prompt_of(which[k] + 1);
      r.gen.max_new_tokens = 24;
      r.gen.ignore_eos = true;
      engine.submit(r, c.callback(100 + k));
    }
    c.wait(static_cast<int>(which.size() * (with_generation ? 2 : 1)));
    std::vector<std::vector<float>> out;
    for (size_t k = 0; k < which.size(); ++k) {
      Response r = c.get(k);
      EXPECT_EQ(r.finish_reason, FinishReason::kLength);
      EXPECT_EQ(r.token_ids, continuation_of(which[k]));
      std::vector<float> lps;
      for (const TokenLogprob& lp : r.logprobs) lps.push_back(lp.logprob);
      out.push_back(std::move(lps));
    }
    return out;
  };
  const std::vector<int> all = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<std::vector<float>> alone;
  {
    testing::FakeModel* model = nullptr;
    auto engine = make_engine({}, 512, &model);
    for (int i : all) {
      const int before = model->steps;
      alone.push_back(score_all(*engine, {i}, false)[0]);
      EXPECT_EQ(model->steps - before, 1) << "text " << i;
      ASSERT_EQ(alone.back().size(), 30u);
    }
  }
  struct Variant {
    const char* name;
    EngineConfig config;
  };
  for (const Variant& v : std::vector<Variant>{
           {"together", {.cache_block_seq_len = 8}},
           {"chunked prefill", {.cache_block_seq_len = 8, .max_prefill_token_num = 5}},
           {"tiny pool, chunked", {.cache_max_entry_count = 12, .cache_block_seq_len = 8, .max_prefill_token_num = 7}},
       }) {
    auto engine = make_engine(v.config);
    EXPECT_EQ(score_all(*engine, all, true), alone) << v.name;
    EXPECT_EQ(score_all(*engine, all, true), alone) << v.name << ", prompts now in the prefix cache";
    EngineStats stats = wait_idle(*engine);
    EXPECT_EQ(stats.kv_blocks_used, 0) << v.name;
    if (std::string(v.name) == "tiny pool, chunked") {
      EXPECT_GT(stats.preemptions, 0);
    }
  }
}

// A text of exactly session_len tokens can be scored (nothing is generated after it); one more is refused.
TEST_P(EngineTest, ScoringFillsTheSessionButNoMore) {
  auto engine = make_engine({.session_len = 40});
  std::vector<int32_t> context(10, 3), continuation(30, 4);
  Collector c;
  engine->submit_scoring(context, continuation, 0, c.callback(0));
  c.wait(1);
  EXPECT_EQ(c.get(0).logprobs.size(), 30u);
  continuation.push_back(4);
  EXPECT_THROW(engine->submit_scoring(context, continuation, 0, c.callback(1)), Error);
  EXPECT_THROW(engine->submit_scoring({}, continuation, 0, c.callback(1)), Error);
  EXPECT_THROW(engine->submit_scoring(context, {}, 0, c.callback(1)), Error);
  EXPECT_THROW(engine->submit_scoring(context, {9999}, 0, c.callback(1)), Error);
}

// A scored position's top-N: highest logit first, ties by lower id (the sampler's order), at most the vocabulary.
TEST(TokenLogprob, TopNHighestFirstTiesByLowerId) {
  const float row[] = {1.0f, 3.0f, 3.0f, 0.0f, 2.0f};
  const TokenLogprob three = token_logprob(row, 5, 4, 3);
  ASSERT_EQ(three.top.size(), 3u);
  EXPECT_EQ(three.top[0].first, 1);
  EXPECT_EQ(three.top[1].first, 2);
  EXPECT_EQ(three.top[2].first, 4);
  EXPECT_FLOAT_EQ(three.top[2].second, three.logprob);  // token 4 is third
  std::vector<int32_t> all;
  for (const auto& [id, lp] : token_logprob(row, 5, 0, 10).top) all.push_back(id);
  EXPECT_EQ(all, (std::vector<int32_t>{1, 2, 4, 0, 3}));
  EXPECT_TRUE(token_logprob(row, 5, 0, 0).top.empty());
}

TEST_P(EngineTest, DestructorAbortsInFlightRequests) {
  Collector c;
  {
    // Long sequences (a large session_len and pool), so none can finish before the engine is destroyed.
    auto engine = make_engine({.max_batch_size = 2, .cache_max_entry_count = 4096}, 1 << 20);
    for (size_t i = 0; i < 4; ++i) {
      Request r;
      r.prompt_ids = prompt_of(static_cast<int>(i));
      r.gen.max_new_tokens = 100000;
      r.gen.n = 2;
      r.gen.ignore_eos = true;
      engine->submit(r, c.callback(i));
    }
  }
  c.wait(8);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(c.get(i, 0).finish_reason, FinishReason::kAbort) << i;
    EXPECT_EQ(c.get(i, 1).finish_reason, FinishReason::kAbort) << i;
  }
}

TEST_P(EngineTest, IdleEngineSleeps) {
  auto engine = make_engine({});
  run_greedy(*engine, {1}, 4);
  EngineStats before = wait_idle(*engine);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EngineStats after = engine->stats();
  EXPECT_EQ(before.generation_tokens_total, after.generation_tokens_total);
  EXPECT_EQ(after.running, 0);
  EXPECT_EQ(after.waiting, 0);
  EXPECT_EQ(after.requests_finished, 1);
}

// Overlapped decode steps change when the host learns each token, never which tokens: a mixed workload (greedy
// and seeded sampling, n = 2, logprobs, stop ids, min_new_tokens, a repetition penalty, length caps, a batch
// limit that keeps requests waiting) gives the same tokens, logprobs and finish reasons both ways.
TEST(EngineOverlap, MixedWorkloadMatchesSequentialSteps) {
  auto run = [](bool overlap, int* fed_back) {
    testing_util::ScopedEnv env("TURBOLM_OVERLAP_STEPS", overlap ? "1" : "0");
    testing::FakeModel* model = nullptr;
    auto engine = make_engine({.max_batch_size = 6, .cache_block_seq_len = 4}, 512, &model);
    Collector c;
    int completions = 0;
    for (int i = 0; i < 14; ++i) {
      Request r;
      r.prompt_ids = prompt_of(i);
      r.gen.max_new_tokens = 3 + i * 7 % 23;
      r.gen.ignore_eos = i % 3 != 0;
      r.gen.do_sample = i % 2 == 1;
      r.gen.temperature = 0.8f;
      r.gen.top_p = i % 4 == 1 ? 0.9f : 1.0f;
      r.gen.top_k = i % 4 == 3 ? 8 : 0;
      r.gen.random_seed = 100 + i;
      r.gen.n = i % 5 == 2 ? 2 : 1;
      r.gen.logprobs = i % 4 == 0 ? 3 : 0;
      if (i % 6 == 4) r.gen.stop_token_ids = {7, 9};
      if (i % 7 == 5) r.gen.min_new_tokens = 4;
      if (i == 9) r.gen.repetition_penalty = 1.3f;
      engine->submit(r, c.callback(static_cast<size_t>(i)));
      completions += r.gen.n;
    }
    c.wait(completions);
    std::vector<Response> out;
    for (int i = 0; i < 14; ++i)
      for (int k = 0; k < (i % 5 == 2 ? 2 : 1); ++k) out.push_back(c.get(static_cast<size_t>(i), k));
    EXPECT_EQ(wait_idle(*engine).kv_blocks_used, 0);
    *fed_back = model->fed_back_tokens;
    return out;
  };
  int fed_sequential = 0, fed_overlapped = 0;
  const std::vector<Response> sequential = run(false, &fed_sequential);
  const std::vector<Response> overlapped = run(true, &fed_overlapped);
  EXPECT_EQ(fed_sequential, 0);
  EXPECT_GT(fed_overlapped, 0);
  ASSERT_EQ(sequential.size(), overlapped.size());
  for (size_t i = 0; i < sequential.size(); ++i) {
    const Response &a = sequential[i], &b = overlapped[i];
    EXPECT_EQ(a.token_ids, b.token_ids) << "completion " << i;
    EXPECT_EQ(a.finish_reason, b.finish_reason) << "completion " << i;
    ASSERT_EQ(a.logprobs.size(), b.logprobs.size()) << "completion " << i;
    for (size_t t = 0; t < a.logprobs.size(); ++t) {
      EXPECT_EQ(a.logprobs[t].token, b.logprobs[t].token);
      EXPECT_EQ(a.logprobs[t].logprob, b.logprobs[t].logprob);
      EXPECT_EQ(a.logprobs[t].top, b.logprobs[t].top);
    }
  }
}

}  // namespace
}  // namespace turbolm
