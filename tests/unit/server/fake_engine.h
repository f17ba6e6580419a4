// A deterministic Engine for server tests: byte-level tokenizer (id = byte + 3; 1 = BOS, 2 = EOS), one
// generated token per tick on its own thread, a fake paged KV pool so tests can see blocks return on cancel.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "turbolm/engine.h"

namespace turbolm::server::testing {

class FakeEngine : public Engine {
 public:
  struct Options {
    std::chrono::milliseconds token_delay{1};
    std::string script = "Once upon a time, there was a robot.";  // every completion generates this, then EOS
    int64_t session_len = 512;
    int64_t block_size = 4;
    int64_t blocks_total = 4096;
  };
  static constexpr int32_t kBos = 1, kEos = 2, kVocab = 259;

  FakeEngine() : FakeEngine(Options{}) {}
  explicit FakeEngine(Options options);
  ~FakeEngine() override;

  std::shared_ptr<RequestHandle> submit(Request request, OutputCallback on_output) override;
  // Answers at once, from the caller's thread: log p(token) = fake_logprob(token) for each continuation token.
  // The top_logprobs alternatives: the token itself first, then the ids after it.
  std::shared_ptr<RequestHandle> submit_scoring(std::vector<int32_t> context, std::vector<int32_t> continuation,
                                                int top_logprobs, OutputCallback on_output) override;
  static float fake_logprob(int32_t token) { return -0.5f * static_cast<float>(token % 4 + 1); }
  EngineStats stats() const override;
  const ModelInfo& info() const override { return info_; }
  const EngineConfig& config() const override { return config_; }
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = true) const override;
  std::vector<int32_t> prompt_ids(const Request& request) const override;

  int submitted() const { return submitted_; }
  Request last_request() const;

 private:
  struct Active;
  class Handle;
  void loop();
  void cancel(uint64_t id);

  Options options_;
  ModelInfo info_;
  EngineConfig config_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<uint64_t, std::shared_ptr<Active>> active_;
  uint64_t next_id_ = 1;
  int64_t finished_ = 0;
  std::atomic<int> submitted_{0};
  Request last_request_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace turbolm::server::testing
