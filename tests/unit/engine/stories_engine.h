// stories260K (shared/models/stories260K-hf) through LlmEngine: the engine tests on the CPU (stories_test.cc) and
// on the GPU (tests/unit/cuda/engine_test.cc) share the model, prompts and the scheduling-mode comparison.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/llm_engine.h"
#include "run_requests.h"

namespace turbolm::testing_util {

inline const std::string kStoriesModel = std::string(TURBOLM_SHARED_DIR) + "/models/stories260K-hf";

// One thread; a pool of 512 blocks unless the config asks for a number of blocks (cache_max_entry_count >= 1).
inline std::unique_ptr<LlmEngine> make_stories_engine(EngineConfig config) {
  if (config.cache_max_entry_count < 1) config.cache_max_entry_count = 512;
  config.num_threads = 1;
  return std::make_unique<LlmEngine>(load_engine_parts(kStoriesModel, config), config);
}

// 32 prompts of 10-30 tokens, several sharing their first words (prefix caching has something to find).
inline std::vector<std::string> stories_prompts() {
  const char* names[] = {"Lily", "Tom", "Sue", "Ben", "Max", "Mia", "Sam", "Tim"};
  const char* things[] = {"a big red ball", "a little dog", "a shiny star", "a tree"};
  std::vector<std::string> out;
  for (int i = 0; i < 32; ++i) {
    std::string p = i % 2 == 0 ? "Once upon a time, there was a little girl named " : "One day, ";
    p += names[i % 8];
    if (i >= 8) p += std::string(". She saw ") + things[i / 8];
    if (i >= 16) p += " in the park and she was very happy";
    if (i >= 24) p += ". Then";
    out.push_back(p);
  }
  return out;
}

// A raw-text request (no chat template) of at most max_new tokens, greedy.
inline Request text_request(const std::string& prompt, int max_new = 40) {
  Request r;
  r.prompt = prompt;
  r.gen.max_new_tokens = max_new;
  return r;
}

// The greedy outputs of `texts` submitted together.
inline std::vector<std::vector<int32_t>> greedy_ids(LlmEngine& engine, const std::vector<std::string>& texts) {
  std::vector<Request> requests;
  for (const auto& t : texts) requests.push_back(text_request(t));
  std::vector<std::vector<int32_t>> out;
  for (const RequestResult& r : run_requests(engine, requests)) {
    EXPECT_TRUE(r.error.empty()) << r.error;
    out.push_back(r.ids);
  }
  return out;
}

// `texts` together in every scheduling mode give `want` (greedy): all at once without prefix caching, then with it
// (and a second pass served from the cache): plain, with chunked prefill at a 7-token budget, and in a 40-block
// pool that must preempt. `base` holds what
// every mode keeps (device, KV quant policy).
inline void expect_greedy_in_every_scheduling_mode(const EngineConfig& base, const std::vector<std::string>& texts,
                                                   const std::vector<std::vector<int32_t>>& want) {
  struct Mode {
    const char* name;
    int block_len;
    bool prefix_caching;
    int max_prefill;
    double blocks;  // 0: make_stories_engine's default
  };
  const Mode modes[] = {{"together", 16, false, 8192, 0},
                        {"prefix caching", 8, true, 8192, 0},
                        {"chunked prefill", 16, true, 7, 0},
                        {"tiny pool (preemption)", 8, true, 8192, 40}};
  for (const Mode& m : modes) {
    EngineConfig config = base;
    config.cache_block_seq_len = m.block_len;
    config.enable_prefix_caching = m.prefix_caching;
    config.max_prefill_token_num = m.max_prefill;
    if (m.blocks > 0) config.cache_max_entry_count = m.blocks;
    auto engine = make_stories_engine(config);
    EXPECT_EQ(greedy_ids(*engine, texts), want) << m.name;
    if (m.prefix_caching) {
      EXPECT_EQ(greedy_ids(*engine, texts), want) << m.name << ", second pass from the cache";
      EXPECT_GT(engine->stats().prefix_cache_hit_tokens, 0) << m.name;
    }
    if (m.blocks > 0) {
      EXPECT_GT(engine->stats().preemptions, 0) << m.name;
    }
  }
}

}  // namespace turbolm::testing_util
