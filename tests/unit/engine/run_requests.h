// Submits a set of requests to an engine at once (so that they share steps) and collects every completion's
// output: the tests that compare whole runs (stories260K, tensor parallelism) drive the engine through this.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "turbolm/engine.h"

namespace turbolm::testing_util {

struct RequestResult {
  std::vector<int32_t> ids;
  std::string text;
  std::vector<std::string> chunks;  // text of each streamed output
  std::vector<TokenLogprob> logprobs;
  FinishReason reason = FinishReason::kNone;
  std::string error;
  int cached = 0;  // prompt tokens served from the prefix cache
};

// Waits at most five minutes for all of them (a failure, not a hang, when the engine stalls).
inline std::vector<RequestResult> run_requests(Engine& engine, const std::vector<Request>& requests) {
  struct State {  // shared with the callbacks: the last one may still be unlocking when this returns
    std::mutex mutex;
    std::condition_variable done;
    std::vector<RequestResult> results;
    size_t finished = 0;
  };
  auto state = std::make_shared<State>();
  state->results.resize(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    engine.submit(requests[i], [state, i](const GenerationOutput& c) {
      std::lock_guard lock(state->mutex);
      RequestResult& r = state->results[i];
      r.ids.insert(r.ids.end(), c.token_ids.begin(), c.token_ids.end());
      r.text += c.text;
      r.chunks.push_back(c.text);
      r.logprobs.insert(r.logprobs.end(), c.logprobs.begin(), c.logprobs.end());
      r.cached = c.cached_tokens;
      if (c.finish_reason != FinishReason::kNone) {
        r.reason = c.finish_reason;
        r.error = c.error;
        ++state->finished;
        state->done.notify_all();
      }
    });
  }
  std::unique_lock lock(state->mutex);
  EXPECT_TRUE(state->done.wait_for(lock, std::chrono::minutes(5), [&] { return state->finished == requests.size(); }))
      << "requests did not finish";
  return state->results;
}

}  // namespace turbolm::testing_util
