// Parsed, validated requests of every endpoint. Parsing needs no engine, so it is unit-tested and fuzzed alone;
// checks that need the tokenizer (prompt length vs. session_len, token ids vs. vocab) happen at Engine::submit.
// Defaults follow LMDeploy's api_server (serve/openai/protocol.py): temperature 0.7, top_p 1.0, top_k 40 for
// /v1/* requests; /generate uses temperature 1.0, top_k 0. temperature 0 means greedy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "turbolm/engine.h"

namespace turbolm::server {

// Fields every generating endpoint shares.
struct GenerationParams {
  std::string model;  // "" where the endpoint has no model field
  bool stream = false;
  bool include_usage = false;         // stream_options.include_usage
  std::optional<int64_t> session_id;  // LMDeploy's request id, for /abort_request
  std::optional<int> max_tokens;      // absent: until EOS or session_len (chat), 16 (completions)
};

struct ChatCompletionParams {
  GenerationParams common;
  Request request;  // messages_json (or prompt when do_preprocess is false), gen, tools, template kwargs
  bool logprobs = false;
  int top_logprobs = 0;
  // chat_template_kwargs.enable_thinking (or top-level enable_thinking, or kwargs.thinking) is false: the reply is
  // all content whatever --reasoning-parser says (LMDeploy's rule).
  bool thinking_off = false;
};

struct CompletionParams {
  GenerationParams common;
  std::vector<Request> prompts;  // one engine request per prompt; choice index = prompt * n + completion
  bool echo = false;
  std::optional<int> logprobs;  // legacy completions: top-N logprobs per token
};

struct EncodeParams {
  std::vector<std::string> inputs;
  bool batched = false;        // input was a list: answer with lists
  bool do_preprocess = false;  // wrap each input as a user message and apply the chat template
  bool add_bos = true;
};

// LMDeploy's token-in/token-out /generate.
struct GenerateParams {
  GenerationParams common;
  Request request;
  bool return_logprob = false;
};

// /get_ppl: text (tokenized with the BOS, no chat template) or token ids.
struct PplParams {
  std::optional<std::string> text;
  std::vector<int32_t> ids;
};

struct AbortParams {
  bool abort_all = false;
  std::optional<int64_t> session_id;
};

// Each throws ApiError (400) naming the offending field.
ChatCompletionParams parse_chat_completion(std::string_view body);
CompletionParams parse_completion(std::string_view body);
EncodeParams parse_encode(std::string_view body);
GenerateParams parse_generate(std::string_view body);
AbortParams parse_abort(std::string_view body);
PplParams parse_get_ppl(std::string_view body);

}  // namespace turbolm::server
