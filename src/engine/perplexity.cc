#include "engine/perplexity.h"

#include <cmath>
#include <condition_variable>
#include <mutex>

#include "core/error.h"

namespace turbolm {

PerplexityResult evaluate_perplexity(LlmEngine& engine, const std::vector<int32_t>& ids, int context, int stride) {
  TLM_CHECK_ARG(context >= 2 && context <= engine.config().session_len)
      << "context must be in [2, session_len = " << engine.config().session_len << "], got " << context;
  TLM_CHECK_ARG(stride >= 1 && stride <= context) << "stride must be in [1, context], got " << stride;
  TLM_CHECK_ARG(ids.size() >= 2) << "need at least 2 tokens to score";

  struct State {
    std::mutex mutex;
    std::condition_variable done;
    double sum_logprob = 0;
    int64_t scored = 0, finished = 0;
    std::string error;
  };
  auto state = std::make_shared<State>();
  const auto n = static_cast<int64_t>(ids.size());
  int64_t prev_end = 0, windows = 0;
  for (int64_t begin = 0; begin < n - 1; begin += stride) {
    const int64_t end = std::min<int64_t>(begin + context, n);
    const int64_t first_scored = std::max(prev_end, begin + 1);
    engine.submit_scoring({ids.begin() + begin, ids.begin() + first_scored},
                          {ids.begin() + first_scored, ids.begin() + end}, 0, [state](const GenerationOutput& chunk) {
                            std::lock_guard lock(state->mutex);
                            for (const TokenLogprob& lp : chunk.logprobs) state->sum_logprob += lp.logprob;
                            state->scored += static_cast<int64_t>(chunk.logprobs.size());
                            if (chunk.finish_reason == FinishReason::kNone) return;
                            if (chunk.finish_reason == FinishReason::kError) state->error = chunk.error;
                            ++state->finished;
                            state->done.notify_one();
                          });
    ++windows;
    prev_end = end;
    if (end == n) break;
  }
  std::unique_lock lock(state->mutex);
  state->done.wait(lock, [&] { return state->finished == windows; });
  TLM_CHECK_ARG(state->error.empty()) << "scoring failed: " << state->error;
  PerplexityResult r;
  r.num_tokens = state->scored;
  r.num_windows = windows;
  r.mean_nll = -state->sum_logprob / static_cast<double>(state->scored);
  r.ppl = std::exp(r.mean_nll);
  return r;
}

}  // namespace turbolm
