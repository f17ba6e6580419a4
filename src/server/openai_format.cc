#include "server/openai_format.h"

#include <fmt/format.h>

#include <chrono>
#include <random>

namespace turbolm::server {

std::string make_response_id(std::string_view prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}{:016x}{:08x}", prefix, rng(), static_cast<uint32_t>(rng()));
}

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

nlohmann::json usage_json(const GenerationRun& run) {
  int64_t prompt = run.prompt_tokens();
  int64_t completion = run.completion_tokens();
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_tokens_details", {{"cached_tokens", run.cached_tokens()}}}};
}

namespace {

// The engine's text of the token (as it reads in the sequence); a decode of the id alone where it gave none.
std::string token_text(const Engine& engine, int32_t token, const std::string* engine_text) {
  return engine_text != nullptr && !engine_text->empty() ? *engine_text : engine.decode({token}, false);
}
std::string token_text(const Engine& engine, const TokenLogprob& lp) { return token_text(engine, lp.token, &lp.text); }
std::string top_text(const Engine& engine, const TokenLogprob& lp, size_t i) {
  return token_text(engine, lp.top[i].first, i < lp.top_text.size() ? &lp.top_text[i] : nullptr);
}

nlohmann::json utf8_bytes(const std::string& text) {
  nlohmann::json bytes = nlohmann::json::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

}  // namespace

size_t code_point_count(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

nlohmann::json chat_logprobs_json(const Engine& engine, const std::vector<TokenLogprob>& logprobs, int top_n) {
  nlohmann::json content = nlohmann::json::array();
  for (const TokenLogprob& lp : logprobs) {
    std::string text = token_text(engine, lp);
    nlohmann::json top = nlohmann::json::array();
    for (size_t i = 0; i < lp.top.size() && static_cast<int>(i) < top_n; ++i) {
      std::string alt = top_text(engine, lp, i);
      top.push_back({{"token", alt}, {"logprob", lp.top[i].second}, {"bytes", utf8_bytes(alt)}});
    }
    content.push_back({{"token", text}, {"logprob", lp.logprob}, {"bytes", utf8_bytes(text)}, {"top_logprobs", top}});
  }
  return content;
}

nlohmann::json completion_top_logprobs_json(const Engine& engine, const TokenLogprob& lp, int top_n) {
  nlohmann::json top = nlohmann::json::object();
  for (size_t i = 0; i < lp.top.size() && static_cast<int>(i) < top_n; ++i)
    top[top_text(engine, lp, i)] = lp.top[i].second;
  return top;
}

nlohmann::json completion_logprobs_json(const Engine& engine, const std::vector<TokenLogprob>& logprobs, int top_n,
                                        size_t& text_offset) {
  nlohmann::json tokens = nlohmann::json::array(), token_logprobs = nlohmann::json::array(),
                 top_logprobs = nlohmann::json::array(), offsets = nlohmann::json::array();
  for (const TokenLogprob& lp : logprobs) {
    std::string text = token_text(engine, lp);
    tokens.push_back(text);
    token_logprobs.push_back(lp.logprob);
    top_logprobs.push_back(completion_top_logprobs_json(engine, lp, top_n));
    offsets.push_back(text_offset);
    text_offset += code_point_count(text);
  }
  return {
      {"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top_logprobs}, {"text_offset", offsets}};
}

// OpenAI's status and code (SDKs raise NotFoundError), its wording plus the model this server does serve.
void check_model(const ServerContext& ctx, const std::string& model) {
  if (model == ctx.model_name) return;
  throw ApiError::not_found(
      fmt::format("The model `{}` does not exist; this server serves `{}`.", model, ctx.model_name), "model",
      "model_not_found");
}

int resolve_max_new_tokens(const ServerContext& ctx, std::optional<int> max_tokens) {
  if (max_tokens) return *max_tokens;
  int64_t session_len = ctx.engine.info().session_len;
  return session_len > 0 ? static_cast<int>(session_len) : GenerationConfig{}.max_new_tokens;
}

void throw_if_engine_error(const GenerationRun& run, const std::vector<std::string>& errors) {
  for (int c = 0; c < run.num_choices(); ++c) {
    if (run.finish_reason(c) == FinishReason::kError) {
      throw ApiError::internal(fmt::format("generation failed: {}", errors[c].empty() ? "engine error" : errors[c]));
    }
  }
}

}  // namespace turbolm::server
