// One HTTP request's engine work: submits its engine request(s), feeds their outputs to the connection's
// strand, cancels them when the client leaves or the run is dropped early, and accounts tokens and latency.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "server/exchange.h"
#include "server/output_queue.h"
#include "server/server_context.h"

namespace turbolm::server {

class GenerationRun {
 public:
  // One engine request's submission, given the callback its outputs go to.
  using Submit = std::function<std::shared_ptr<RequestHandle>(OutputCallback)>;
  struct Submissions {
    std::vector<Submit> submits;
    int n = 1;  // completions per submission
  };

  // Enforces --max-concurrent-requests (429) and submits every request; throws ApiError when the engine
  // rejects one (those already submitted are cancelled). Installs the exchange's disconnect watch.
  GenerationRun(ServerContext& ctx, Exchange& exchange, std::vector<Request> requests,
                std::optional<int64_t> session_id);
  // The same for other engine work (Engine::submit_scoring).
  GenerationRun(ServerContext& ctx, Exchange& exchange, Submissions submissions, std::optional<int64_t> session_id);
  // Scoring of `ids` (at least two): the first token is the context, every later one gets its logprob and the
  // top_logprobs alternatives (/get_ppl, prompt logprobs).
  static Submit scoring_of(Engine& engine, std::vector<int32_t> ids, int top_logprobs);
  ~GenerationRun();
  GenerationRun(const GenerationRun&) = delete;
  GenerationRun& operator=(const GenerationRun&) = delete;

  // The next outputs (choice index = request * n + output.index); nullopt once every choice has finished or the
  // client is gone.
  asio::awaitable<std::optional<std::vector<QueuedOutput>>> next();
  // Cancels every engine request (idempotent); used when a write to the client fails.
  void cancel();

  bool client_gone() const;
  int n() const { return n_; }
  int num_choices() const { return static_cast<int>(finish_.size()); }
  static int choice_of(const QueuedOutput& item, int n) { return item.request * n + item.output.index; }

  int64_t prompt_tokens() const;
  int64_t completion_tokens() const;
  int64_t cached_tokens() const;
  FinishReason finish_reason(int choice) const { return finish_[choice]; }

 private:
  struct Shared;  // what the disconnect watch and engine callbacks may touch after this object is gone

  // Gives back the --max-concurrent-requests slot (once): when every choice has finished, or when dropped.
  void release_slot();

  ServerContext& ctx_;
  std::shared_ptr<Shared> shared_;
  std::vector<uint64_t> registry_keys_;
  int n_ = 1;
  std::vector<int> input_tokens_;       // per engine request
  std::vector<int> cached_tokens_;      // per engine request
  std::vector<int64_t> output_tokens_;  // per choice
  std::vector<FinishReason> finish_;    // per choice
  int finished_ = 0;
  bool holds_slot_ = true;
  std::chrono::steady_clock::time_point start_;
  std::optional<std::chrono::steady_clock::time_point> first_token_;
};

// The OpenAI / LMDeploy spelling of a finish reason.
const char* finish_reason_string(FinishReason reason);

}  // namespace turbolm::server
