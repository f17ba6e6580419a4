// Per-request generation settings, with LMDeploy's field names and defaults.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace turbolm {

struct GenerationConfig {
  int n = 1;                 // completions per request, 1..1024
  int max_new_tokens = 512;  // also bounded by session_len
  int min_new_tokens = 0;    // EOS / stop tokens are suppressed before this many tokens
  bool do_sample = false;    // false = greedy
  float temperature = 0.8f;  // used when do_sample
  float top_p = 1.0f;        // used when do_sample
  int top_k = 50;            // used when do_sample; 0 = off
  float min_p = 0.0f;        // used when do_sample; 0 = off
  float repetition_penalty = 1.0f;
  std::optional<uint64_t> random_seed;  // same seed, same prompt, same config -> same output
  std::vector<std::string> stop_words;  // strings; may span several tokens
  std::vector<int32_t> stop_token_ids;  // in addition to the model's EOS ids
  bool ignore_eos = false;
  bool skip_special_tokens = true;
  bool spaces_between_special_tokens = true;
  int logprobs = 0;  // top-N logprobs per generated token (0 = off)
  bool include_stop_str_in_output = false;
};

// Throws turbolm::Error (kInvalidArgument) naming the first setting out of range. The engine checks every request
// with it; front ends call it too, so that bad flags are refused before a model is loaded.
void validate(const GenerationConfig& gen);

}  // namespace turbolm
