#include "cli/length_limit.h"

#include "core/logging.h"

namespace turbolm::cli {

std::string length_limit_warning(FinishReason finish, int input_tokens, int output_tokens, int max_new_tokens,
                                 int64_t session_len, int64_t pool_tokens) {
  if (finish != FinishReason::kLength || output_tokens >= max_new_tokens) return "";
  // The smaller of the two caps is the one the sequence reached.
  const std::string limit =
      session_len <= pool_tokens
          ? "session_len " + std::to_string(session_len) + " (raise --session-len)"
          : "the KV cache pool of " + std::to_string(pool_tokens) + " tokens (raise --cache-max-entry-count)";
  return "generation stopped after " + std::to_string(output_tokens) + " of " + std::to_string(max_new_tokens) +
         " new tokens: the prompt (" + std::to_string(input_tokens) + " tokens) and the output reached " + limit;
}

void warn_if_cut_short(const Engine& engine, FinishReason finish, int input_tokens, int output_tokens,
                       int max_new_tokens) {
  const EngineStats stats = engine.stats();
  const std::string warning =
      length_limit_warning(finish, input_tokens, output_tokens, max_new_tokens, engine.info().session_len,
                           stats.kv_blocks_total * stats.kv_block_size);
  if (!warning.empty()) TLM_LOG_WARNING("{}", warning);
}

}  // namespace turbolm::cli
