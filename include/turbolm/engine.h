// The serving engine: thread-safe request submission with streamed outputs. Front ends (Pipeline, CLI chat,
// the HTTP server) sit on this interface; the scheduler, KV cache and model executor live behind it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "turbolm/engine_config.h"
#include "turbolm/generation_config.h"
#include "turbolm/types.h"

namespace turbolm {

struct Request {
  // Exactly one prompt form is used, in this order of precedence:
  std::vector<int32_t> prompt_ids;  // token ids as they are
  std::string messages_json;        // OpenAI-style messages array (JSON text), rendered with the chat template
  std::string prompt;               // raw text, tokenized as is
  bool add_special_tokens = true;   // raw text only: add BOS/EOS as the tokenizer's post-processor says
  // Chat-template inputs (messages only).
  bool add_generation_prompt = true;
  std::string tools_json;                 // JSON array or ""
  std::string chat_template_kwargs_json;  // JSON object of extra template variables, e.g. {"enable_thinking":false}
  GenerationConfig gen;
};

// Called on the engine's thread for every chunk; must return quickly and must not block on the engine
// (calling RequestHandle::cancel is allowed). The last call for each of the n completions carries a finish_reason.
using OutputCallback = std::function<void(const GenerationOutput&)>;

class RequestHandle {
 public:
  virtual ~RequestHandle() = default;
  virtual uint64_t id() const = 0;
  // Thread-safe and idempotent: stops generation, frees the request's KV blocks, and delivers a final chunk
  // with FinishReason::kAbort (unless the request had already finished).
  virtual void cancel() = 0;
};

struct EngineStats {
  int running = 0;  // sequences in the running batch
  int waiting = 0;  // sequences queued (incl. preempted)
  int64_t kv_blocks_total = 0;
  int64_t kv_blocks_used = 0;
  int64_t kv_block_size = 0;
  int64_t prefix_cache_queried_tokens = 0;  // prompt tokens looked up in the prefix cache
  int64_t prefix_cache_hit_tokens = 0;      // of those, tokens served from it
  int64_t prompt_tokens_total = 0;
  int64_t generation_tokens_total = 0;
  int64_t requests_finished = 0;
  int64_t preemptions = 0;
  int64_t kv_blocks_peak = 0;  // most blocks in use at once since the engine started
  int64_t steps = 0;           // forward steps run
  // Of those, decode steps enqueued before the outputs of the step ahead were processed (overlapped steps:
  // docs/engine.md).
  int64_t overlapped_steps = 0;
};

struct ModelInfo {
  std::string model_name;  // EngineConfig::model_name or the folder name
  std::string model_dir;
  std::string architecture;
  int64_t session_len = 0;  // max tokens per sequence
  int64_t vocab_size = 0;
  std::vector<int32_t> eos_token_ids;
  std::string device;          // "cpu", "cuda:0"
  bool has_tokenizer = false;  // false: the engine takes token ids only (no text, no chat messages)
};

class Engine {
 public:
  // Loads the model folder (weights, tokenizer, chat template, generation defaults) and starts the engine thread.
  static std::unique_ptr<Engine> create(const std::string& model_dir, const EngineConfig& config = {});
  virtual ~Engine() = default;  // aborts what is in flight and joins the engine thread

  // Validates at once (throws turbolm::Error kInvalidArgument for a request that can never run, e.g. a prompt
  // longer than session_len or an empty prompt) and queues the request.
  virtual std::shared_ptr<RequestHandle> submit(Request request, OutputCallback on_output) = 0;
  // Scoring (perplexity, /get_ppl, prompt logprobs): context + continuation is prefilled (nothing sampled); the
  // outputs' logprobs hold log p(token | everything before it), one per continuation token, each with the
  // `top_logprobs` most likely tokens there, and the request ends with kLength. Throws InvalidArgument for
  // an empty part, ids outside the vocabulary, more than session_len tokens, or a negative top_logprobs.
  virtual std::shared_ptr<RequestHandle> submit_scoring(std::vector<int32_t> context, std::vector<int32_t> continuation,
                                                        int top_logprobs, OutputCallback on_output) = 0;

  virtual EngineStats stats() const = 0;
  virtual const ModelInfo& info() const = 0;
  virtual const EngineConfig& config() const = 0;

  // Tokenizer access for front ends (/v1/encode, echo, usage).
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const = 0;
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = true) const = 0;
  // The prompt ids a request would run with (chat template applied for messages); throws like submit (its
  // generation settings are checked too), so a front end can check every request before submitting any.
  virtual std::vector<int32_t> prompt_ids(const Request& request) const = 0;
};

}  // namespace turbolm
