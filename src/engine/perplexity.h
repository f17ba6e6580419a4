// Perplexity through the engine (paged KV cache, KV quantization included), with Hugging Face's sliding-window
// recipe: windows of `context` tokens every `stride` tokens, each scoring the tokens the previous one did not.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/llm_engine.h"

namespace turbolm {

struct PerplexityResult {
  double ppl = 0;
  double mean_nll = 0;     // -mean log p, nats per token
  int64_t num_tokens = 0;  // tokens scored (a window's first token never is)
  int64_t num_windows = 0;
};

// All windows run concurrently (the engine batches them). Throws InvalidArgument for bad sizes.
PerplexityResult evaluate_perplexity(LlmEngine& engine, const std::vector<int32_t>& ids, int context, int stride);

}  // namespace turbolm
