#include "ops/sampling.h"

#include "ops/dispatch.h"

namespace turbolm {

std::vector<SampleResult> SampleFuture::wait() {
  TLM_CHECK(valid()) << "SampleFuture::wait: no pending sample (waited already?)";
  auto finish = std::move(finish_);
  finish_ = nullptr;
  return finish();
}

SampleFuture sample_async(const ExecContext& ctx, Tensor& logits, std::span<const SamplingParams> params,
                          std::span<const std::span<const int32_t>> penalty_tokens) {
  using namespace ops_detail;
  constexpr std::string_view op = "sample";
  check_device(op, ctx, logits, "logits");
  check_contiguous(op, logits, "logits");
  check_dtype(op, logits, DType::kF32, "logits");
  TLM_CHECK_ARG(logits.rank() == 2 && logits.dim(1) > 0) << "sample: logits must be [S, V], got " << logits.to_string();
  const int64_t S = logits.dim(0);
  TLM_CHECK_ARG(static_cast<int64_t>(params.size()) == S)
      << "sample: " << params.size() << " sampling parameter sets for " << S << " rows";
  TLM_CHECK_ARG(penalty_tokens.empty() || static_cast<int64_t>(penalty_tokens.size()) == S)
      << "sample: " << penalty_tokens.size() << " penalty token lists for " << S << " rows";
  for (const SamplingParams& p : params) {
    TLM_CHECK_ARG(p.repetition_penalty > 0.0f) << "repetition_penalty must be > 0, got " << p.repetition_penalty;
    TLM_CHECK_ARG(p.num_logprobs >= 0) << "logprobs must be >= 0, got " << p.num_logprobs;
    if (p.greedy) continue;
    TLM_CHECK_ARG(p.temperature > 0.0f) << "temperature must be > 0 when sampling, got " << p.temperature;
    TLM_CHECK_ARG(p.top_k >= 0) << "top_k must be >= 0, got " << p.top_k;
    TLM_CHECK_ARG(p.top_p > 0.0f && p.top_p <= 1.0f) << "top_p must be in (0, 1], got " << p.top_p;
    TLM_CHECK_ARG(p.min_p >= 0.0f && p.min_p <= 1.0f) << "min_p must be in [0, 1], got " << p.min_p;
  }
  TLM_DISPATCH(ctx, sample_async, ctx, logits, params, penalty_tokens);
}

std::vector<SampleResult> sample(const ExecContext& ctx, Tensor& logits, std::span<const SamplingParams> params,
                                 std::span<const std::span<const int32_t>> penalty_tokens) {
  return sample_async(ctx, logits, params, penalty_tokens).wait();
}

void resolve_feedback_tokens(const ExecContext& ctx, const Tensor& sampled, Tensor& ids) {
  using namespace ops_detail;
  constexpr std::string_view op = "resolve_feedback_tokens";
  check_device(op, ctx, sampled, "sampled");
  check_device(op, ctx, ids, "ids");
  check_contiguous(op, sampled, "sampled");
  check_contiguous(op, ids, "ids");
  check_dtype(op, sampled, DType::kI32, "sampled");
  check_dtype(op, ids, DType::kI32, "ids");
  TLM_CHECK_ARG(sampled.rank() == 1 && ids.rank() == 1)
      << op << ": sampled and ids must be vectors, got " << sampled.to_string() << " and " << ids.to_string();
  TLM_DISPATCH(ctx, resolve_feedback_tokens, ctx, sampled, ids);
}

}  // namespace turbolm
