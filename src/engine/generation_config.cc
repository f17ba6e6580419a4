#include "turbolm/generation_config.h"

#include <cmath>

#include "core/error.h"

namespace turbolm {

void validate(const GenerationConfig& gen) {
  TLM_CHECK_ARG(gen.n >= 1 && gen.n <= 1024) << "n must be in [1, 1024], got " << gen.n;
  TLM_CHECK_ARG(gen.max_new_tokens >= 1) << "max_new_tokens must be >= 1, got " << gen.max_new_tokens;
  TLM_CHECK_ARG(gen.min_new_tokens >= 0) << "min_new_tokens must be >= 0, got " << gen.min_new_tokens;
  // As vLLM refuses min_tokens > max_tokens: such a request could never honour both.
  TLM_CHECK_ARG(gen.min_new_tokens <= gen.max_new_tokens)
      << "min_new_tokens (" << gen.min_new_tokens << ") must not exceed max_new_tokens (" << gen.max_new_tokens << ")";
  // inf passes ">= 0" but is no temperature (it would sample uniformly); NaN fails every comparison.
  TLM_CHECK_ARG(gen.temperature >= 0 && std::isfinite(gen.temperature))
      << "temperature must be a finite number >= 0, got " << gen.temperature;
  TLM_CHECK_ARG(gen.top_p > 0 && gen.top_p <= 1) << "top_p must be in (0, 1], got " << gen.top_p;
  TLM_CHECK_ARG(gen.top_k >= 0) << "top_k must be >= 0, got " << gen.top_k;
  TLM_CHECK_ARG(gen.min_p >= 0 && gen.min_p <= 1) << "min_p must be in [0, 1], got " << gen.min_p;
  TLM_CHECK_ARG(gen.repetition_penalty > 0 && std::isfinite(gen.repetition_penalty))
      << "repetition_penalty must be a finite number > 0, got " << gen.repetition_penalty;
  TLM_CHECK_ARG(gen.logprobs >= 0) << "logprobs must be >= 0, got " << gen.logprobs;
}

}  // namespace turbolm
