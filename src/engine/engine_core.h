// The engine's single-threaded core: scheduler + block manager + model + KV cache + sampling + output streaming.
// Every method runs on the engine thread (llm_engine.cc); tests drive it directly, one step() at a time.
#pragma once

#include <cstdint>
#include <memory>
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
};

class EngineCore {
 public:
  // `tokenizer` may be null (token ids only, no text). Allocates the KV cache.
  EngineCore(Model& model, const Tokenizer* tokenizer, const EngineCoreConfig& config, const ExecContext& ctx);

  // Takes a validated request (llm_engine.cc fills every field) and queues its first completion.
  void add(std::unique_ptr<RequestState> request);
  // Ends the request's unfinished completions with `reason` (kAbort or kError) and frees their blocks.
  // Unknown ids are ignored (the request may have finished already).
  void abort(uint64_t request_id, FinishReason reason = FinishReason::kAbort, const std::string& error = {});
  void abort_all(FinishReason reason = FinishReason::kAbort, const std::string& error = {});

  bool has_work() const { return scheduler_.has_work(); }
  // One forward pass over the scheduled batch, then sampling and the output callbacks.
  void step();

  EngineStats stats() const;
  const BlockManager& blocks() const { return blocks_; }
  const KvCache& cache() const { return cache_; }

 private:
  std::unique_ptr<Completion> make_completion(RequestState& request, int index);
  ForwardBatch build_batch(const StepPlan& plan) const;
  void sample_and_append(const StepPlan& plan, Tensor& logits);
  void append_token(Completion& c, int32_t token, TokenLogprob logprob);
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
  std::unordered_map<uint64_t, std::unique_ptr<RequestState>> requests_;
  uint64_t next_seq_id_ = 1;
  EngineStats counters_;  // the cumulative fields; stats() fills the rest
};

// Log-softmax of a host f32 row at `token`.
float token_logprob(const float* row, int64_t vocab, int32_t token);

}  // namespace turbolm
