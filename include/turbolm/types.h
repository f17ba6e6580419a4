// What a request produces: streamed deltas and final results.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace turbolm {

enum class FinishReason { kNone, kStop, kLength, kAbort, kError };
std::string_view finish_reason_name(FinishReason reason);  // "", "stop", "length", "abort", "error"

struct TokenLogprob {
  int32_t token = -1;
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top;  // top-N (token, logprob), descending
  // The texts of `token` and of each `top` token as they read at this point of the sequence (a SentencePiece
  // "▁upon" gives " upon"; special tokens by name), what OpenAI's logprobs show; empty without a tokenizer.
  std::string text;
  std::vector<std::string> top_text;
};

// One streamed chunk: what was generated since the previous chunk of the same request.
struct GenerationOutput {
  int index = 0;                                     // which of the request's n completions
  std::string text;                                  // text delta (never splits a UTF-8 sequence)
  std::vector<int32_t> token_ids;                    // token delta
  std::vector<TokenLogprob> logprobs;                // one per token in token_ids when logprobs were requested
  FinishReason finish_reason = FinishReason::kNone;  // set on the last chunk of this completion
  std::string error;                                 // message when finish_reason == kError
  // Usage so far.
  int input_tokens = 0;
  int output_tokens = 0;
  int cached_tokens = 0;  // prompt tokens served from the prefix cache
};

// A whole completion (what batch calls return).
struct Response {
  int index = 0;
  std::string text;
  std::vector<int32_t> token_ids;
  std::vector<TokenLogprob> logprobs;
  FinishReason finish_reason = FinishReason::kNone;
  std::string error;
  int input_tokens = 0;
  int output_tokens = 0;
  int cached_tokens = 0;
};

}  // namespace turbolm
