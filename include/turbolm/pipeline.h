// The C++ pipeline API, shaped like LMDeploy's `pipeline`: batch calls, streaming and multi-turn chat over one
// Engine.
//
//   turbolm::Pipeline pipe("/models/Qwen3-0.6B");
//   auto responses = pipe({"Hi, pls intro yourself", "Shanghai is"});
//   turbolm::ChatSession session;
//   pipe.chat(session, "Hello!", gen, [](const GenerationOutput& c) { std::cout << c.text << std::flush; });
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "turbolm/engine.h"
#include "turbolm/engine_config.h"
#include "turbolm/generation_config.h"
#include "turbolm/types.h"

namespace turbolm {

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant" | "tool"
  std::string content;
};

// How a string prompt is read.
enum class PromptStyle {
  kChat,  // a user message rendered with the chat template (LMDeploy's default)
  kRaw,   // text tokenized as is, with the tokenizer's special tokens (e.g. BOS)
};

// The running conversation of Pipeline::chat.
struct ChatSession {
  std::vector<ChatMessage> history;
  void reset() { history.clear(); }
};

// Streamed chunks with the index of the prompt they belong to (chunk.index = which of its n completions).
using StreamCallback = std::function<void(int prompt_index, const GenerationOutput& chunk)>;

class Pipeline {
 public:
  // Loads the model folder and starts its engine.
  explicit Pipeline(const std::string& model_dir, const EngineConfig& config = {});
  explicit Pipeline(std::unique_ptr<Engine> engine);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Batch calls: all prompts run concurrently. One Response per prompt and completion: prompt i's n completions
  // are at [i * n, (i + 1) * n), in completion order. Invalid input throws turbolm::Error before anything runs.
  std::vector<Response> operator()(const std::vector<std::string>& prompts, const GenerationConfig& gen = {},
                                   PromptStyle style = PromptStyle::kChat);
  // `pipe({"Hi", "Shanghai is"})`: without this overload two string literals could also build the conversation
  // list below (vector's iterator-pair constructor) and the call would be ambiguous.
  std::vector<Response> operator()(std::initializer_list<std::string> prompts, const GenerationConfig& gen = {},
                                   PromptStyle style = PromptStyle::kChat) {
    return (*this)(std::vector<std::string>(prompts), gen, style);
  }
  // One prompt, one Response (a template so that `pipe({"Hi", "Shanghai is"})` stays a batch call).
  template <typename Text>
  requires std::convertible_to<const Text&, std::string_view> Response
  operator()(const Text& prompt, const GenerationConfig& gen = {}, PromptStyle style = PromptStyle::kChat) {
    return run_one(std::string(std::string_view(prompt)), gen, style);
  }
  std::vector<Response> operator()(const std::vector<std::vector<ChatMessage>>& conversations,
                                   const GenerationConfig& gen = {});
  // Token ids in, as they are.
  std::vector<Response> generate(const std::vector<std::vector<int32_t>>& prompt_ids, const GenerationConfig& gen = {});

  // Streaming: on_output runs on the calling thread (it may block or print) for every chunk, until every
  // completion has finished. A stop request cancels what is still running (final chunks carry kAbort).
  void stream_infer(const std::vector<std::string>& prompts, const GenerationConfig& gen,
                    const StreamCallback& on_output, PromptStyle style = PromptStyle::kChat, std::stop_token stop = {});
  void stream_infer(std::initializer_list<std::string> prompts, const GenerationConfig& gen,
                    const StreamCallback& on_output, PromptStyle style = PromptStyle::kChat,
                    std::stop_token stop = {}) {  // as operator()'s: a braced list of strings is a prompt list
    stream_infer(std::vector<std::string>(prompts), gen, on_output, style, stop);
  }
  void stream_infer(const std::vector<std::vector<ChatMessage>>& conversations, const GenerationConfig& gen,
                    const StreamCallback& on_output, std::stop_token stop = {});

  // One turn: appends the user message, renders the whole history with the chat template (the prefix cache
  // serves the earlier turns), generates the reply (streamed to on_output when given) and appends it, also when
  // it was stopped early. Uses the first completion when gen.n > 1.
  Response chat(ChatSession& session, const std::string& user_text, const GenerationConfig& gen = {},
                const std::function<void(const GenerationOutput&)>& on_output = {}, std::stop_token stop = {});

  Engine& engine() { return *engine_; }

  // Runs prepared requests (any prompt form of turbolm::Request) to completion: the primitive the calls above
  // share. Responses are ordered like the requests, n per request.
  std::vector<Response> run(std::vector<Request> requests, const StreamCallback& on_output = {},
                            std::stop_token stop = {});

 private:
  Response run_one(const std::string& prompt, const GenerationConfig& gen, PromptStyle style);

  std::unique_ptr<Engine> engine_;
};

// OpenAI-style messages JSON text ([{"role": ..., "content": ...}, ...]) for Request::messages_json.
std::string messages_to_json(const std::vector<ChatMessage>& messages);

}  // namespace turbolm
