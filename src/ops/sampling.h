// Turning logits into tokens. Processing order follows transformers / LMDeploy:
// repetition penalty -> temperature -> top-k -> top-p -> min-p -> draw (or argmax when greedy).
#pragma once

#include <cstdint>
#include <functional>
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

// Sampling enqueued on the device by sample_async(): the sampled ids are usable on the device at once (the
// next decode step can take them as its input tokens, ForwardBatch::feedback, before the host has them), the
// host results come with wait(). On the CPU the results are ready on return. Move-only; destroying one that
// was never waited for is fine (its staging is reused only after its copies finished).
class SampleFuture {
 public:
  SampleFuture() = default;
  SampleFuture(Tensor token_ids, std::function<std::vector<SampleResult>()> finish)
      : token_ids_(std::move(token_ids)), finish_(std::move(finish)) {}

  // [S] i32 on the logits' device. Work enqueued later on the same stream may read it.
  const Tensor& token_ids() const { return token_ids_; }
  // Blocks until the results are on the host. Once.
  std::vector<SampleResult> wait();
  bool valid() const { return static_cast<bool>(finish_); }

 private:
  Tensor token_ids_;
  std::function<std::vector<SampleResult>()> finish_;
};

// logits: [S, V] f32 (may be modified in place); params[s] and penalty_tokens[s] (the ids the repetition
// penalty applies to: prompt + generated so far) belong to row s. params and penalty_tokens are read before
// the call returns.
SampleFuture sample_async(const ExecContext& ctx, Tensor& logits, std::span<const SamplingParams> params,
                          std::span<const std::span<const int32_t>> penalty_tokens);

// sample_async(...).wait().
std::vector<SampleResult> sample(const ExecContext& ctx, Tensor& logits, std::span<const SamplingParams> params,
                                 std::span<const std::span<const int32_t>> penalty_tokens);

// Token ids the host does not know yet, taken from an earlier step's sampled ids on the device:
// ids[i] = sampled[-ids[i] - 1] where ids[i] < 0 (feedback_token() makes such a placeholder); other ids stay.
// ids: [T] i32, sampled: [R] i32, both on ctx's device; a placeholder past R is an error (checked on the CPU,
// left as is on the GPU, where the embedding then yields a zero row).
void resolve_feedback_tokens(const ExecContext& ctx, const Tensor& sampled, Tensor& ids);
constexpr int32_t feedback_token(int32_t sampled_row) { return -sampled_row - 1; }

}  // namespace turbolm
