// Continuous batching: which sequences run in the next step and how many tokens each feeds.
//
// Policy, per step:
//   1. running sequences first, in admission order: decodes (1 token) are free of the token budget, prefill
//      chunks take from it; a sequence that cannot get a block preempts the newest running sequence
//      (recompute: its blocks are freed and it goes back to the front of the waiting queue);
//   2. waiting sequences, FCFS, while the batch and the budget have room: prefix-cache lookup, then a chunk of
//      up to the remaining budget. The queue head is never skipped, so nothing starves.
// A chunk that ends the sequence's uncomputed tokens needs logits (the next token is sampled from it). A scoring
// sequence's chunks need logits at every position from score_from - 1 on, so their tokens per step are capped
// (max_scored_tokens over the step: each logits row is vocab floats) and they take no prefix-cache hits (a cached
// position would have no logits).
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "engine/block_manager.h"
#include "engine/sequence.h"

namespace turbolm {

struct SchedulerConfig {
  int32_t max_batch_size = 128;          // sequences per step (and in the running set)
  int32_t max_prefill_token_num = 8192;  // prefill tokens per step; decodes do not count
  int32_t max_scored_tokens = 256;       // scoring sequences' tokens per step (each gets a logits row)
};

struct ScheduledSequence {
  Sequence* seq = nullptr;
  int32_t num_new_tokens = 0;  // tokens fed this step, starting at seq->num_computed_tokens
  bool needs_logits = false;
  int32_t logit_rows = 1;  // with needs_logits: the chunk's last logit_rows tokens get logits (scoring: several)
  int32_t start = 0;       // the chunk's first position (seq->num_computed_tokens when scheduled)
};

struct StepPlan {
  std::vector<ScheduledSequence> seqs;  // the batch, in row order
  std::vector<Sequence*> preempted;     // moved back to waiting this step (for stats / tests)
  bool empty() const { return seqs.empty(); }
};

class Scheduler {
 public:
  Scheduler(const SchedulerConfig& config, BlockManager& blocks);

  void add(Sequence* seq);        // back of the waiting queue
  void add_front(Sequence* seq);  // front of the waiting queue (a forked sibling of a running request)
  StepPlan schedule();
  // After the forward pass: the scheduled tokens are in the cache; full blocks are hashed.
  void finish_step(const StepPlan& plan);
  // Removes a finished or cancelled sequence from its queue and frees its blocks.
  void remove(Sequence* seq);

  const SchedulerConfig& config() const { return config_; }
  bool has_work() const { return !running_.empty() || !waiting_.empty(); }
  int32_t num_running() const { return static_cast<int32_t>(running_.size()); }
  int32_t num_waiting() const { return static_cast<int32_t>(waiting_.size()); }
  const std::deque<Sequence*>& waiting() const { return waiting_; }
  const std::vector<Sequence*>& running() const { return running_; }
  int64_t num_preemptions() const { return num_preemptions_; }

 private:
  void preempt(Sequence* seq);
  // The step entry for `n` tokens of `seq` (needs_logits and logit_rows from what the chunk covers).
  static ScheduledSequence entry(Sequence* seq, int32_t n);
  // Tokens `seq` may feed this step within the token budget and the scoring budget (0: none this step).
  int32_t chunk_size(const Sequence* seq, int32_t budget, int32_t score_budget) const;
  // Frees the blocks waiting sequences hold (forked siblings); whether there were any.
  bool release_waiting_blocks();

  SchedulerConfig config_;
  BlockManager& blocks_;
  std::deque<Sequence*> waiting_;
  std::vector<Sequence*> running_;  // admission order: the back is preempted first
  int64_t num_preemptions_ = 0;
};

}  // namespace turbolm
