// The sequence length the random-prompt benchmarks (bench latency, bench throughput) ask for, checked against the
// longest sequence they can run before any work starts.
#pragma once

#include <cstdint>
#include <string_view>

namespace turbolm::cli {

// Throws turbolm::Error (kInvalidArgument) unless --input-len + --output-len fit in `max_tokens`, the limit that
// `limit` names (e.g. "session_len 512 (raise --session-len)"). A longer sequence would be refused by the engine
// or cut short, or run past the model's positions: either way the figures would not be for the lengths asked.
void check_bench_lengths(int input_len, int output_len, int64_t max_tokens, std::string_view limit);

}  // namespace turbolm::cli
