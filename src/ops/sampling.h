// Turning logits into tokens. Processing order follows transformers / LMDeploy:
// repetition penalty -> temperature -> top-k -> top-p -> min-p -> draw (or argmax when greedy).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "ops/exec_context.h"

namespace turbolm {

struct SamplingParams {
  bool greedy = true;               // argmax (ties -> lowest id); the other fields but the penalty are ignored
  float temperature = 1.0f;         // > 0
  int top_k = 0;                    // 0 = off
  float top_p = 1.0f;               // (0, 1]; 1 = off
  float min_p = 0.0f;               // [0, 1]; 0 = off
  float repetition_penalty = 1.0f;  // HF semantics: logit > 0 ? logit / p : logit * p, over penalty tokens
  uint64_t seed = 0;                // with `step`, picks the random draw (ops/random.h)
  uint64_t step = 0;                // index of the token being generated
  int num_logprobs = 0;             // top-N logprobs to return (0 = none); the sampled token's logprob is always set
};

struct SampleResult {
  int32_t token = -1;
  float logprob = 0.0f;  // log_softmax of the raw logits (before any processing) at `token`
  std::vector<std::pair<int32_t, float>> top_logprobs;  // N best raw logprobs, descending
};

// logits: [S, V] f32 (may be modified in place); params[s] and penalty_tokens[s] (the ids the repetition
// penalty applies to: prompt + generated so far) belong to row s.
std::vector<SampleResult> sample(const ExecContext& ctx, Tensor& logits, std::span<const SamplingParams> params,
                                 std::span<const std::span<const int32_t>> penalty_tokens);

}  // namespace turbolm
