// The engine's single-threaded core: scheduler + block manager + model + KV cache + sampling + output streaming.
// Every method runs on the engine thread (llm_engine.cc); tests drive it directly, one step() at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

#include "engine/block_manager.h"
#include "engine/request_state.h"
#include "engine/scheduler.h"
#include "models/model.h"
#include "ops/kv_cache.h"
#include "tokenizer/tokenizer.h"
#include "turbolm/engine.h"

namespace turbolm {

struct EngineCoreConfig {
  SchedulerConfig scheduler;
  int64_t num_blocks = 0;
  int32_t block_size = 64;
  bool enable_prefix_caching = true;
  KvQuant kv_quant = KvQuant::kNone;
  // Overlapped decode: while step t runs on the device, step t+1 is built and enqueued with t's sampled ids
  // fed back on the device (ForwardBatch::feedback), so the host's work between steps (outputs,
  // detokenizing, scheduling, uploads) hides behind the device's. Needs a model with
  // supports_token_feedback(); see docs/engine.md for when a step continues this way.
  bool overlap_steps = false;
};

class EngineCore {
 public:
  // `tokenizer` may be null (token ids only, no text). Allocates the KV cache.
  EngineCore(Model& model, const Tokenizer* tokenizer, const EngineCoreConfig& config, const ExecContext& ctx);
  ~EngineCore();  // waits for a step still on the device

  // Takes a validated request (llm_engine.cc fills every field) and queues its first completion.
  void add(std::unique_ptr<RequestState> request);
  // Ends the request's unfinished completions with `reason` (kAbort or kError) and frees their blocks.
  // Unknown ids are ignored (the request may have finished already).
  void abort(uint64_t request_id, FinishReason reason = FinishReason::kAbort, const std::string& error = {});
  void abort_all(FinishReason reason = FinishReason::kAbort, const std::string& error = {});

  bool has_work() const { return scheduler_.has_work() || in_flight_.has_value(); }
  // One forward pass over the scheduled batch, then sampling and the output callbacks. With overlap_steps a
  // decode batch's next step may be enqueued before this one's outputs are processed; it completes in the
  // next call.
  void step();

  EngineStats stats() const;
  const BlockManager& blocks() const { return blocks_; }
  const KvCache& cache() const { return cache_; }

 private:
  // A step enqueued on the device whose outputs are not processed yet.
  struct InFlight {
    StepPlan plan;         // a row's seq becomes null when its completion finishes before the step completes
    SampleFuture sampled;  // rows with needs_logits, in plan order (invalid when none samples)
    // Per logits row of a scoring sequence: the prompt position it scores (-1: none) and that token's logprob
    // (with the request's top-N).
    std::vector<int32_t> score_position;
    std::vector<TokenLogprob> score_logprob;
  };

  std::unique_ptr<Completion> make_completion(RequestState& request, int index);
  ForwardBatch build_batch(const StepPlan& plan) const;
  // Schedules and enqueues a step; nullopt when nothing could run (or the step failed, its requests aborted).
  std::optional<InFlight> launch_scheduled();
  // Enqueues the decode step after `prev` with prev's sampled ids fed back, when the batch simply continues
  // (every running sequence decodes, nothing could be admitted, no row needs the host's tokens); else nullopt.
  std::optional<InFlight> launch_continuation(const InFlight& prev);
  // Masks, then enqueues sampling of the step's logits. `pending`: tokens each row has sampled but not yet
  // appended (1 for a continuation): their draw index and min_new_tokens count them.
  void enqueue_sampling(InFlight& step, Tensor& logits, int32_t pending);
  // step.score_logprob[i] for each logits row i in `scored` (ascending): the logprob of the prompt token that row
  // predicts, with the request's top-N. rows: logits row -> completion.
  void score_rows(InFlight& step, const Tensor& logits, const std::vector<Completion*>& rows,
                  const std::vector<size_t>& scored);
  // Waits for the step's samples, appends them and streams the outputs.
  void complete(InFlight& step);
  void append_token(Completion& c, int32_t token, TokenLogprob logprob);
  // A scoring completion's rows of this step: reports the positions not reported yet; finishes it once its
  // prompt is computed. `rows` are the step's rows from `first`, logit_rows of them.
  void complete_scoring(Completion& c, InFlight& step, size_t first, int32_t logit_rows);
  void fork_siblings(RequestState& request);
  void finish(Completion& c, FinishReason reason);
  void emit(Completion& c);
  void end_request(RequestState& request);  // emits what is pending and forgets a request that is done

  Model& model_;
  const Tokenizer* tokenizer_;
  ExecContext ctx_;
  BlockManager blocks_;
  Scheduler scheduler_;
  KvCache cache_;
  bool overlap_steps_;
  std::optional<InFlight> in_flight_;
  std::unordered_map<uint64_t, std::unique_ptr<RequestState>> requests_;
  uint64_t next_seq_id_ = 1;
  EngineStats counters_;  // the cumulative fields; stats() fills the rest
};

// Log-softmax of a host f32 row at `token`, with the top_n most likely tokens (highest first; ties: lower id).
TokenLogprob token_logprob(const float* row, int64_t vocab, int32_t token, int top_n);

}  // namespace turbolm
