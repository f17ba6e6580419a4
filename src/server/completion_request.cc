// POST /v1/completions request parsing.
#include <fmt/format.h>

#include "server/api_error.h"
#include "server/sampling_fields.h"

namespace turbolm::server {
namespace {

constexpr int kMaxChoices = 128;
constexpr int kMaxLogprobs = 20;
constexpr size_t kMaxPrompts = 1024;

// prompt: "text" | ["text", ...] | [id, ...] | [[id, ...], ...]
std::vector<Request> read_prompts(const nlohmann::json& prompt) {
  auto raw = [](std::string text) {
    Request r;
    r.prompt = std::move(text);
    return r;
  };
  auto ids = [](std::vector<int32_t> tokens) {
    Request r;
    r.prompt_ids = std::move(tokens);
    return r;
  };
  std::vector<Request> prompts;
  if (prompt.is_string()) {
    prompts.push_back(raw(prompt.get<std::string>()));
  } else if (prompt.is_array() && !prompt.empty()) {
    if (prompt[0].is_number()) {  // one prompt of token ids: as long as the session allows
      prompts.push_back(ids(read_token_ids(prompt, "prompt")));
    } else {
      if (prompt.size() > kMaxPrompts) {
        throw ApiError::invalid_request(fmt::format("'prompt' may hold at most {} prompts", kMaxPrompts), "prompt");
      }
      for (size_t i = 0; i < prompt.size(); ++i) {
        const nlohmann::json& item = prompt[i];
        if (item.is_string()) {
          prompts.push_back(raw(item.get<std::string>()));
        } else if (item.is_array()) {
          prompts.push_back(ids(read_token_ids(item, fmt::format("prompt[{}]", i))));
        } else {
          throw ApiError::invalid_request(fmt::format("'prompt[{}]' must be a string or a list of token ids", i),
                                          fmt::format("prompt[{}]", i));
        }
      }
    }
  } else {
    throw ApiError::invalid_request(
        "'prompt' must be a string, a list of strings, a list of token ids or a list of token id lists", "prompt");
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].prompt.empty() && prompts[i].prompt_ids.empty()) {
      std::string param = prompt.is_string() ? "prompt" : fmt::format("prompt[{}]", i);
      throw ApiError::invalid_request(fmt::format("'{}' must not be empty", param), param);
    }
  }
  return prompts;
}

}  // namespace

CompletionParams parse_completion(std::string_view body) {
  nlohmann::json json = parse_json_object(body);
  FieldReader f(json);
  f.reject_unknown({"model", "prompt", "suffix", "max_tokens", "max_completion_tokens", "temperature", "top_p", "n",
                    "stream", "stream_options", "logprobs", "echo", "stop", "presence_penalty", "frequency_penalty",
                    "best_of", "logit_bias", "user", "seed",
                    // LMDeploy / vLLM extensions
                    "repetition_penalty", "session_id", "ignore_eos", "skip_special_tokens",
                    "spaces_between_special_tokens", "top_k", "min_p", "min_new_tokens", "stop_token_ids",
                    "include_stop_str_in_output", "add_special_tokens"});

  CompletionParams params;
  auto model = f.string("model");
  if (!model) f.invalid("model", "is required");
  params.common.model = *model;
  read_streaming(f, params.common);
  params.common.max_tokens = read_max_tokens(f).value_or(16);  // OpenAI's and LMDeploy's completions default
  reject_unsupported_penalties(f);
  if (f.string("suffix").value_or("") != "") {
    f.invalid("suffix", "is not supported: this server does not do fill-in-the-middle");
  }

  GenerationConfig gen;
  read_sampling(f, kOpenAiSamplingDefaults, gen);
  gen.n = static_cast<int>(f.integer("n", 1, kMaxChoices).value_or(1));
  if (auto best_of = f.integer("best_of", 1, kMaxChoices); best_of && *best_of != gen.n) {
    f.invalid("best_of", "is not supported unless it equals 'n'");
  }
  params.echo = f.boolean("echo").value_or(false);
  if (auto logprobs = f.integer("logprobs", 0, kMaxLogprobs)) {
    params.logprobs = static_cast<int>(*logprobs);
    gen.logprobs = std::max(1, params.logprobs.value());
  }
  bool add_special_tokens = f.boolean("add_special_tokens").value_or(true);

  const nlohmann::json* prompt = f.get("prompt");
  if (!prompt) f.invalid("prompt", "is required");
  params.prompts = read_prompts(*prompt);
  for (Request& r : params.prompts) {
    r.gen = gen;
    r.add_special_tokens = add_special_tokens;
  }
  return params;
}

}  // namespace turbolm::server
