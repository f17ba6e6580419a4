// The Engine implementation: validates and tokenizes requests on the caller's thread, then hands them to the
// engine thread, which owns the EngineCore (scheduler, blocks, model, KV cache) and runs steps until idle.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chat/chat_template.h"
#include "core/thread_pool.h"
#include "engine/engine_core.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"
#include "turbolm/engine.h"

namespace turbolm {

// What an engine runs on; Engine::create loads it from a model folder, tests build it from a fake model.
struct EngineParts {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;         // null: token-id requests only
  std::unique_ptr<ChatTemplate> chat_template;  // null: no messages requests
  std::vector<int32_t> eos_token_ids;           // generation_config.json, else config.json, else the tokenizer's
  std::string model_dir;
};

// Requests and cancellations on their way to the engine thread; handles keep it alive past the engine.
struct EngineInbox {
  std::mutex mutex;
  std::condition_variable wake;
  std::vector<std::unique_ptr<RequestState>> added;
  std::vector<uint64_t> cancelled;
  bool stop = false;
};

class LlmEngine final : public Engine {
 public:
  LlmEngine(EngineParts parts, const EngineConfig& config);
  ~LlmEngine() override;

  std::shared_ptr<RequestHandle> submit(Request request, OutputCallback on_output) override;
  // context + continuation run as one prefill whose positions from the context's last on get logits rows.
  std::shared_ptr<RequestHandle> submit_scoring(std::vector<int32_t> context, std::vector<int32_t> continuation,
                                                int top_logprobs, OutputCallback on_output) override;

  EngineStats stats() const override;
  const ModelInfo& info() const override { return info_; }
  const EngineConfig& config() const override { return config_; }
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = true) const override;
  std::vector<int32_t> prompt_ids(const Request& request) const override;

  const Tokenizer* tokenizer() const { return parts_.tokenizer.get(); }
  int64_t kv_pool_tokens() const { return num_blocks_ * config_.cache_block_seq_len; }

 private:
  std::shared_ptr<RequestHandle> enqueue(std::unique_ptr<RequestState> request);
  // kInvalidArgument naming `what` ("token id") and the first id outside [0, vocab_size).
  void require_in_vocabulary(const std::vector<int32_t>& ids, const char* what) const;
  std::unique_ptr<RequestState> make_request(std::vector<int32_t> prompt, const GenerationConfig& gen) const;
  const Tokenizer& require_tokenizer() const;
  void loop();

  EngineParts parts_;
  EngineConfig config_;
  ModelInfo info_;
  int64_t num_blocks_ = 0;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<EngineCore> core_;
  std::shared_ptr<EngineInbox> inbox_;
  mutable std::mutex stats_mutex_;
  EngineStats stats_;
  mutable std::atomic<uint64_t> next_request_id_{1};
  std::thread thread_;  // last: starts after everything above exists
};

// Loads a model folder into EngineParts (the model on the resolved device, tokenizer, chat template, EOS ids).
EngineParts load_engine_parts(const std::string& model_dir, const EngineConfig& config);

}  // namespace turbolm
