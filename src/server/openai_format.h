// Pieces of OpenAI response bodies shared by the chat and completions handlers.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "server/generation_run.h"

namespace turbolm::server {

std::string make_response_id(std::string_view prefix);  // "chatcmpl-" + 24 hex digits
int64_t unix_time();

// {"prompt_tokens","completion_tokens","total_tokens","prompt_tokens_details":{"cached_tokens"}}
nlohmann::json usage_json(const GenerationRun& run);

// Chat: the "content" list of {token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}.
nlohmann::json chat_logprobs_json(const Engine& engine, const std::vector<TokenLogprob>& logprobs, int top_n);

// Characters as Python counts them (code points): every byte but UTF-8 continuation bytes starts one.
size_t code_point_count(std::string_view text);

// Legacy completions' {token text: logprob} of a token's top_n alternatives.
nlohmann::json completion_top_logprobs_json(const Engine& engine, const TokenLogprob& lp, int top_n);

// Legacy completions: {tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset}. `text_offset`
// is where the first token's text starts in the choice's text, in characters (code points: the indices of the
// Python string OpenAI, vLLM and LMDeploy count in), not UTF-8 bytes; it advances past the tokens.
nlohmann::json completion_logprobs_json(const Engine& engine, const std::vector<TokenLogprob>& logprobs, int top_n,
                                        size_t& text_offset);

// 404 unless `model` names the served model.
void check_model(const ServerContext& ctx, const std::string& model);

// max_tokens when given, else the session length (the engine stops at session_len anyway).
int resolve_max_new_tokens(const ServerContext& ctx, std::optional<int> max_tokens);

// 500 with the engine's message when a choice ended in an engine error (non-streamed responses).
void throw_if_engine_error(const GenerationRun& run, const std::vector<std::string>& errors);

}  // namespace turbolm::server
