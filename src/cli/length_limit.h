// Why a completion stopped before --max-new-tokens: the engine caps every sequence at min(prompt + max_new_tokens,
// session_len, the KV pool's tokens) and reports the cap as finish_reason "length", as if --max-new-tokens had
// ended it.
#pragma once

#include <cstdint>
#include <string>

#include "turbolm/engine.h"
#include "turbolm/types.h"

namespace turbolm::cli {

// The warning that names the limit that ended the completion and the flag that raises it; "" when it did not end
// by length before `max_new_tokens`. `pool_tokens` = KV blocks x tokens per block.
std::string length_limit_warning(FinishReason finish, int input_tokens, int output_tokens, int max_new_tokens,
                                 int64_t session_len, int64_t pool_tokens);

// Logs that warning (level warning) for a completion `engine` ran, with its session_len and KV pool.
void warn_if_cut_short(const Engine& engine, FinishReason finish, int input_tokens, int output_tokens,
                       int max_new_tokens);

}  // namespace turbolm::cli
